"""Roles are Django groups: viewer < marketing < engineering < admin. Each role's permissions are listed
here once; the migration creates the groups and every `migrate` brings them back in line."""

CATALOG_MODELS = [
    "iterableproject",
    "channel",
    "messagetype",
    "template",
    "journey",
    "customevent",
    "eventfield",
    "owner",
    "notification",
]
VIEW_CATALOG = [f"catalog.view_{m}" for m in CATALOG_MODELS] + ["catalog.view_auditevent"]
# A project's connection (where its key goes, which variable holds it) is the admin's alone.
PROJECT_MODELS = ["iterableproject"]
EDIT_CATALOG = [
    f"catalog.{action}_{m}" for m in CATALOG_MODELS if m not in PROJECT_MODELS for action in ("add", "change", "delete")
]
EDIT_PROJECTS = [f"catalog.{action}_{m}" for m in PROJECT_MODELS for action in ("add", "change", "delete")]

LOOKUP_CONTACT = "catalog.lookup_contact"
SEND_PROOF = "catalog.send_proof"
RUN_RESYNC = "catalog.run_resync"
RUN_SYNC = "catalog.run_sync"
# Shared test recipients, and approving anyone's recipient that is not their own or at a staff domain.
MANAGE_SHARED_RECIPIENTS = "catalog.manage_shared_recipients"
# Inviting people, giving them a role, deactivating them: Django's own user permissions, the admin's alone.
MANAGE_USERS = "auth.change_user"
PEOPLE = ["auth.view_user", "auth.add_user", MANAGE_USERS]
# Seed jobs write people's profiles and subscriptions into Iterable, and may delete people there: the admin's.
# A deletion someone asked for is approved by another person holding APPROVE_DELETIONS. Opt-out events from
# another marketing system ("catalog.receive_opt_outs") are that system's service account's alone: no role has it.
RUN_JOBS = "catalog.run_jobs"
APPROVE_DELETIONS = "catalog.approve_deletions"

VIEWER, MARKETING, ENGINEERING, ADMIN = "viewer", "marketing", "engineering", "admin"
ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: VIEW_CATALOG,
    MARKETING: [*VIEW_CATALOG, LOOKUP_CONTACT, SEND_PROOF],
    ENGINEERING: [*VIEW_CATALOG, LOOKUP_CONTACT, SEND_PROOF, *EDIT_CATALOG, RUN_RESYNC, RUN_SYNC],
    ADMIN: [
        *VIEW_CATALOG,
        LOOKUP_CONTACT,
        SEND_PROOF,
        *EDIT_CATALOG,
        *EDIT_PROJECTS,
        RUN_RESYNC,
        RUN_SYNC,
        MANAGE_SHARED_RECIPIENTS,
        *PEOPLE,
        RUN_JOBS,
        APPROVE_DELETIONS,
    ],
}
ROLES = [VIEWER, MARKETING, ENGINEERING, ADMIN]
# What each role is for, in the words the users page and the "not allowed" page use.
ROLE_DESCRIPTIONS = {
    VIEWER: "reads the catalog and its activity",
    MARKETING: "also looks contacts up and sends test messages",
    ENGINEERING: "also edits the catalog, runs syncs and preference resyncs",
    ADMIN: "also manages projects, shared test recipients, seed jobs and people",
}


def role_for_permissions(permissions) -> str | None:
    """The first role (least privileged) that holds every one of `permissions`; None if no role does."""
    wanted = set(permissions)
    return next((role for role in ROLES if wanted <= set(ROLE_PERMISSIONS[role])), None)


def sync_groups(apps) -> None:
    """Create the role groups and set exactly their permissions (works with historical or live apps)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            # A permission a later migration adds is not there yet while an early migration runs this; the sync
            # after every migrate (post_migrate) sets it. tests/roles checks every role holds exactly its list.
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)
