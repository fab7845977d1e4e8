"""Permissions: every HTTP method maps to a Django model permission, reads included, so only a role that
may do something can do it. Roles are groups (catalog/roles.py); a user in no role gets nothing."""

from rest_framework import permissions


class RolePermissions(permissions.DjangoModelPermissions):
    """DjangoModelPermissions, but GET/HEAD/OPTIONS need the model's view permission too."""

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated and request.user.is_active):
            return False
        if getattr(view, "_ignore_model_permissions", False):
            # DRF lets such views through; here they still need a role.
            return CanReadCatalog().has_permission(request, view)
        return super().has_permission(request, view)


class CanReadCatalog(permissions.BasePermission):
    """For the schema and the docs: any user whose role may read the catalog."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.has_perm("catalog.view_notification"))


class HasCapability(permissions.BasePermission):
    """For actions that are not a model's CRUD (look up a contact, send a test): the view names the permission."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.has_perm(view.required_permission))
