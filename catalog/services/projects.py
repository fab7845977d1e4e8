"""Who may change an Iterable project's connection: the variable that holds its key and the host it goes to.

Forms, the API and the Django admin ask for the project permissions, which only the admin role holds
(catalog/roles.py). The catalog import is another door to the same rows, so it asks here.
"""

from catalog.models import IterableProject

CONNECTION_FIELDS = ("data_center", "api_key_env", "api_base_url")
PROJECT_PERMISSIONS = ("catalog.add_iterableproject", "catalog.change_iterableproject")


def _is_person(actor) -> bool:
    return hasattr(actor, "has_perm")


def project_write_refusal(*, actor, name: str, values: dict) -> str | None:
    """Why `actor` may not create project `name` or change its connection to `values`, or None if they may.

    Commands and the demo loader act as "system" (a string actor) and are trusted: they run on the server.
    """
    if not _is_person(actor) or all(actor.has_perm(p) for p in PROJECT_PERMISSIONS):
        return None
    existing = IterableProject.objects.filter(name=name).first()
    if existing is None:
        return f"Only admins add Iterable projects; '{name}' is not in the catalog."
    changed = [f for f in CONNECTION_FIELDS if f in values and (values[f] or "") != (getattr(existing, f) or "")]
    if changed:
        labels = ", ".join(str(IterableProject._meta.get_field(f).verbose_name) for f in changed)
        return f"Only admins change a project's connection ({labels} of '{name}')."
    return None
