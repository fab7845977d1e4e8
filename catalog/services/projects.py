"""Who may create or change an Iterable project: the admin role, whatever the door.

A project row is its connection (the variable that holds its key, the host it goes to) and its identity in
Iterable (its project id, which live health and links use). Forms, the API and the Django admin ask for the
project permissions, which only the admin role holds (catalog/roles.py). The catalog import is another door to
the same rows, so it asks here, and the one save path (catalog_object_save) asks again.
"""

from typing import Any, TypeGuard

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied

from catalog.models import IterableProject
from catalog.types import Actor

CONNECTION_FIELDS = ("data_center", "api_key_env", "api_base_url")
PROJECT_FIELDS = (*CONNECTION_FIELDS, "iterable_project_id")
PROJECT_PERMISSIONS = ("catalog.add_iterableproject", "catalog.change_iterableproject")


def _is_person(actor: Actor) -> TypeGuard[User | AnonymousUser]:
    return hasattr(actor, "has_perm")


def _may_write_projects(actor: Actor) -> bool:
    """Commands and the demo loader act as "system" (a string actor) and are trusted: they run on the server."""
    return not _is_person(actor) or all(actor.has_perm(p) for p in PROJECT_PERMISSIONS)


def _differs(new: Any, old: Any) -> bool:
    return (new if new is not None else "") != (old if old is not None else "")


def project_write_refusal(*, actor: Actor, name: str, values: dict[str, Any]) -> str | None:
    """Why `actor` may not create project `name` or change any of its fields to `values`, or None if they may.

    A file that names a project exactly as it is (an export imported again) changes nothing and is fine.
    """
    if _may_write_projects(actor):
        return None
    existing = IterableProject.objects.filter(name=name).first()
    if existing is None:
        return f"Only admins add Iterable projects; '{name}' is not in the catalog."
    changed = [f for f in PROJECT_FIELDS if f in values and _differs(values[f], getattr(existing, f))]
    if changed:
        verbose = {field.name: field.verbose_name for field in IterableProject._meta.concrete_fields}
        labels = ", ".join(str(verbose[f]) for f in changed)
        kind = "connection" if set(changed) & set(CONNECTION_FIELDS) else "details"
        return f"Only admins change a project's {kind} ({labels} of '{name}')."
    return None


def project_write_check(*, actor: Actor, instance: object) -> None:
    """Raise PermissionDenied when `actor` saves or deletes a project without the admin role's permissions."""
    if isinstance(instance, IterableProject) and not _may_write_projects(actor):
        raise PermissionDenied("Only admins add, change or remove Iterable projects.")
