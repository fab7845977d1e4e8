"""The frame every page shares: the grouped navigation with its current-page marker, and the demo's hints.

A link is shown only to people whose role may open it, and only if its page exists (pages other slices are
still building appear once their URL does). No rules live here: the permissions are those of catalog/roles.py.
"""

from dataclasses import dataclass, field
from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, resolve, reverse
from django.urls.exceptions import Resolver404

from catalog import roles

register = template.Library()

# (url name, url kwargs, label, permissions needed: a string, a tuple of all needed, None for anyone signed in,
# or "view" to read them from the page's own view).
Link = tuple[str, dict, str, str | tuple[str, ...] | None]
NAV: list[tuple[str, list[Link]]] = [
    (
        "Catalog",
        [
            ("catalog:notification_list", {}, "Notifications", "catalog.view_notification"),
            ("catalog:entity_list", {"entity": "messagetype"}, "Message types", "catalog.view_messagetype"),
            ("catalog:entity_list", {"entity": "channel"}, "Channels", "catalog.view_channel"),
            ("catalog:entity_list", {"entity": "template"}, "Templates", "catalog.view_template"),
            ("catalog:entity_list", {"entity": "journey"}, "Journeys", "catalog.view_journey"),
            ("catalog:entity_list", {"entity": "customevent"}, "Events", "catalog.view_customevent"),
            ("catalog:entity_list", {"entity": "owner"}, "Owners", "catalog.view_owner"),
            ("catalog:entity_list", {"entity": "iterableproject"}, "Projects", "catalog.view_iterableproject"),
            ("catalog:catalog_import", {}, "Import", ("catalog.add_notification", "catalog.change_notification")),
        ],
    ),
    (
        "Contacts",
        [
            ("catalog:contact_lookup", {}, "Contact lookup", roles.LOOKUP_CONTACT),
            ("catalog:proof_send_list", {}, "Test sends", roles.SEND_PROOF),
            ("catalog:resync_runs", {}, "Resync", roles.RUN_RESYNC),
        ],
    ),
    (
        "Iterable",
        [
            ("catalog:sync_run_list", {}, "Iterable sync", "catalog.view_notification"),
            ("catalog:live_health", {}, "Live health", "view"),
            ("catalog:job_list", {}, "Seed jobs", "view"),
        ],
    ),
    (
        "Admin",
        [
            ("catalog:audit_list", {}, "Activity", "catalog.view_auditevent"),
            ("catalog:people_list", {}, "Users & roles", roles.MANAGE_USERS),
            ("api:tokens", {}, "API tokens", None),
            ("api:docs", {}, "API docs", "catalog.view_notification"),
        ],
    ),
]
# Pages that belong to a section although their path is elsewhere: url name → the section's url name.
SECTION_OF = {
    "proof_send": "catalog:notification_list",
    "catalog_export": "catalog:notification_list",
    "catalog_import_detail": "catalog:catalog_import",
    "proof_recipient_list": "catalog:proof_send_list",
    "token-revoke": "api:tokens",
    "token-rotate": "api:tokens",
}


@dataclass
class NavLink:
    url: str
    label: str
    current: bool = False


@dataclass
class NavGroup:
    label: str
    links: list[NavLink] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)


def _view_permissions(url: str) -> tuple[str, ...] | None:
    """The permissions a class-based page declares (None: the page is not there or declares none we can read)."""
    try:
        match = resolve(url)
    except Resolver404:
        return None
    view_class = getattr(match.func, "view_class", None)
    needed = getattr(view_class, "permission_required", None) or getattr(view_class, "required_permission", None)
    if not needed:
        return None
    return (needed,) if isinstance(needed, str) else tuple(needed)


def _may_open(user, url: str, needed) -> bool:
    if needed == "view":
        needed = _view_permissions(url)
        if needed is None:
            # A page whose gate cannot be read is linked for the roles that run Iterable work.
            needed = roles.RUN_SYNC
    if needed is None:
        return True
    needed = (needed,) if isinstance(needed, str) else needed
    return user.has_perms(needed)


def _current_url(request, urls: list[str]) -> str | None:
    """The nav link the page belongs to: its section by name, else the longest link path the page's path starts
    with (so a notification's edit page marks Notifications); the home page only marks itself."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name in SECTION_OF:
        try:
            section = reverse(SECTION_OF[match.url_name])
        except NoReverseMatch:
            section = None
        if section in urls:
            return section
    path = request.path
    found = [url for url in urls if url != "/" and path.startswith(url)]
    return max(found, key=len) if found else None


@register.simple_tag(takes_context=True)
def nav_groups(context) -> list[NavGroup]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    groups = []
    for label, links in NAV:
        group = NavGroup(label)
        for name, kwargs, text, needed in links:
            try:
                url = reverse(name, kwargs=kwargs or None)
            except NoReverseMatch:
                continue  # a page another slice has not built yet
            if _may_open(user, url, needed):
                group.links.append(NavLink(url, text))
        if group.links:
            groups.append(group)
    current = _current_url(request, [link.url for group in groups for link in group.links])
    for group in groups:
        for link in group.links:
            link.current = link.url == current
    return groups


@register.simple_tag(takes_context=True)
def is_home(context) -> bool:
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    return bool(match and match.view_name == "catalog:home")


# Pages where staff type a contact in: the demo hint lists contacts to try there.
CONTACT_PAGES = {"contact_lookup", "proof_send", "proof_send_list", "proof_recipient_list"}


def demo_mode() -> bool:
    """The embedded demo (dev.py) runs beside the Iterable emulator and says where it listens; production does
    not set that."""
    return bool(getattr(settings, "ITERABLE_EMULATOR_URL", ""))


@lru_cache(maxsize=1)
def demo_contacts() -> list[dict]:
    """Per demo project: its QA test recipients, and one seeded contact of each subscription state, in words."""
    from catalog import demo
    from catalog.services.emulator_seed import _contacts

    found = []
    for name in (demo.STUDENT, demo.EMPLOYER):
        schema = demo.SCHEMAS[name]
        channels = {c["name"]: c["iterable_id"] for c in schema["channels"]}
        types = {m["name"]: m["iterable_id"] for m in schema["message_types"]}
        channel_names = {v: k for k, v in channels.items()}
        type_names = {v: k for k, v in types.items()}
        examples: dict[str, dict] = {}
        users = _contacts(name, channels, types, demo.LISTS[name])
        test_recipients = {email for email, _ in demo.TEST_RECIPIENTS[name]}
        for user in users:
            if user["email"] in test_recipients:
                continue
            state = _state_in_words(user["dataFields"], channel_names, type_names)
            examples.setdefault(state, {"email": user["email"], "user_id": user["userId"], "state": state})
        found.append(
            {
                "project": name,
                "test_recipients": [{"email": e, "user_id": u} for e, u in demo.TEST_RECIPIENTS[name]],
                "examples": list(examples.values()),
                "count": demo.DEMO_CONTACTS[name],
            }
        )
    return found


def _state_in_words(fields: dict, channel_names: dict, type_names: dict) -> str:
    def names(key: str, lookup: dict) -> str:
        return ", ".join(lookup.get(i, f"#{i}") for i in fields.get(key, []))

    parts = []
    if fields.get("unsubscribedChannelIds"):
        parts.append(f"unsubscribed from the channel {names('unsubscribedChannelIds', channel_names)}")
    if fields.get("unsubscribedMessageTypeIds"):
        parts.append(f"unsubscribed from {names('unsubscribedMessageTypeIds', type_names)}")
    if fields.get("subscribedMessageTypeIds"):
        parts.append(f"subscribed to {names('subscribedMessageTypeIds', type_names)}")
    if not parts:
        if "subscribedMessageTypeIds" in fields:
            return "subscribed to nothing"
        return "never chose any subscription"
    return "; ".join(parts)


@register.inclusion_tag("includes/demo_contacts.html", takes_context=True)
def demo_contacts_hint(context, force: bool = False) -> dict:
    """The demo contacts to try, on the pages where staff type a contact in (or anywhere with force=True)."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    shown = demo_mode() and (force or (match is not None and match.url_name in CONTACT_PAGES))
    return {"demo_projects": demo_contacts() if shown else []}
