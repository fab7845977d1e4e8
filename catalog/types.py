"""Types shared by the service signatures."""

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User

# Who acts, as the audit trail records it (services/audit.py): a person (a view's request.user, anonymous only
# where a view lets anonymous requests through), a process named by a label ("schedule", "supervisor",
# "manage.py notification_set"), or None, recorded as "system". The project keeps Django's own User model
# (AUTH_USER_MODEL is not set), which is what the audit trail's and the test sends' foreign keys hold.
Actor: TypeAlias = User | AnonymousUser | str | None
