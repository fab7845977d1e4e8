"""What every page of every capability shares: the permission gate and errors placed beside their fields."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def add_validation_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError beside the form fields it names; the rest at the top of the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages_ in error.message_dict.items():
        target = name if name in form.fields else None
        for message in messages_:
            form.add_error(target, message if target or name == NON_FIELD_ERRORS else f"{name}: {message}")


class Perm(PermissionRequiredMixin):
    """Login and a permission; anonymous users go to the login page, others without it get 403."""
