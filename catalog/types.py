"""Types shared by the service signatures."""

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User

# A request's user (request.user): signed in, or anonymous where a view lets anonymous requests through. The
# project keeps Django's own User model (AUTH_USER_MODEL is not set), which the foreign keys to people hold.
RequestUser: TypeAlias = User | AnonymousUser

# Who acts, as the audit trail records it (catalog/audit/services.py): a person, a process named by a label
# ("schedule", "supervisor", "manage.py notification_set"), or None, recorded as "system".
Actor: TypeAlias = RequestUser | str | None
