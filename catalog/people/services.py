"""Users and their roles: invite, change role, deactivate, reactivate, a new set-password link. Every change is
audited. Nobody is ever deleted (their name stays on what they did), an admin cannot deactivate themself, and the
last active admin can be neither deactivated nor given another role.

No mail goes out from this server: an invitation (or a forgotten password) yields a one-time set-password link
that the admin hands over. It works once (Django's password-reset token: it changes as soon as the password does)
and for PASSWORD_RESET_TIMEOUT (three days by default).
"""

from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from catalog import roles
from catalog.audit.services import audit_record
from catalog.types import Actor

LAST_ADMIN = "This is the last active admin: make someone else an admin first."


@dataclass(frozen=True)
class Invitation:
    user: User
    set_password_path: str  # the one-time link's path; the page adds the server's address


def user_role(user: User) -> str | None:
    """The user's role: the most privileged role group they are in (None: no role)."""
    names = {group.name for group in user.groups.all()}
    return next((role for role in reversed(roles.ROLES) if role in names), None)


def _role_clean(role: str) -> str:
    if role not in roles.ROLES:
        raise ValidationError({"role": f"Pick one of: {', '.join(roles.ROLES)}."})
    return role


def _locked(user: User) -> User:
    """The user as stored now, locked until the change commits (the page's copy may be stale). NO KEY: the audit
    event another admin's change writes names its actor by foreign key, which must still be able to share it."""
    return User.objects.select_for_update(no_key=True).get(pk=user.pk)


def _lock_admin_role() -> None:
    """Changes that may take an admin away run one at a time (two admins demoting each other at once would
    otherwise both see the other one still there). Taken before any user row, always in that order."""
    Group.objects.select_for_update().get(name=roles.ADMIN)


def _active_admins() -> int:
    return User.objects.filter(is_active=True, groups__name=roles.ADMIN).distinct().count()


def _set_password_path(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("catalog:people_set_password", kwargs={"uidb64": uid, "token": token})


def user_invite(*, actor: Actor, email: str, role: str) -> Invitation:
    """A new user signing in with their email address, in `role`, with no password until they set one."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter an email address, like name@example.com."}) from None
    _role_clean(role)
    taken = ValidationError({"email": f"{email} already has an account: change its role in the list instead."})
    try:
        with transaction.atomic():
            if (
                User.objects.filter(username__iexact=email).exists()
                or User.objects.filter(email__iexact=email).exists()
            ):
                raise taken
            user = User(username=email, email=email, is_active=True)
            user.set_unusable_password()
            user.save()
            user.groups.add(Group.objects.get(name=role))
            audit_record(actor=actor, action="invite", instance=user, changes={"role": {"before": None, "after": role}})
    except IntegrityError:  # the same address invited twice at once: the second finds the first's row
        raise taken from None
    return Invitation(user=user, set_password_path=_set_password_path(user))


def user_role_change(*, actor: Actor, user: User, role: str) -> None:
    _role_clean(role)
    with transaction.atomic():
        _lock_admin_role()
        user = _locked(user)
        before = user_role(user)
        if before == role:
            return
        if before == roles.ADMIN and user.is_active and _active_admins() <= 1:
            raise ValidationError({"role": LAST_ADMIN})
        user.groups.remove(*Group.objects.filter(name__in=roles.ROLES))
        user.groups.add(Group.objects.get(name=role))
        audit_record(
            actor=actor, action="role_change", instance=user, changes={"role": {"before": before, "after": role}}
        )


def user_deactivate(*, actor: Actor, user: User) -> None:
    """The user can no longer sign in, and their API tokens stop working; everything they did stays theirs."""
    if isinstance(actor, User) and actor.pk == user.pk:
        raise ValidationError("You cannot deactivate yourself: ask another admin.")
    with transaction.atomic():
        _lock_admin_role()
        user = _locked(user)
        if not user.is_active:
            return
        if user_role(user) == roles.ADMIN and _active_admins() <= 1:
            raise ValidationError(LAST_ADMIN)
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor, action="deactivate", instance=user, changes={"active": {"before": True, "after": False}}
        )


def user_reactivate(*, actor: Actor, user: User) -> None:
    with transaction.atomic():
        user = _locked(user)
        if user.is_active:
            return
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor, action="reactivate", instance=user, changes={"active": {"before": False, "after": True}}
        )


def user_set_password_link(*, actor: Actor, user: User) -> str:
    """A one-time link for the user to choose a new password (the old one keeps working until they do)."""
    user = User.objects.get(pk=user.pk)  # the page's copy may be stale
    if not user.is_active:
        raise ValidationError("Reactivate this person first.")
    audit_record(actor=actor, action="password_link", instance=user)
    return _set_password_path(user)
