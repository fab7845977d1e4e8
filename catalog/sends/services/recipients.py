"""Test recipients: who may receive test sends, consent, approval of shared recipients."""

import re
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.audit.services import audit_record, diff, snapshot
from catalog.contacts.services import identifier_clean
from catalog.models import (
    IterableProject,
    ProofRecipient,
    RecipientStatus,
)
from catalog.roles import MANAGE_SHARED_RECIPIENTS
from catalog.types import RequestUser


def proof_recipients_visible(*, user: RequestUser, project: IterableProject | None = None) -> QuerySet[ProofRecipient]:
    """The test recipients a user sees: their own and the shared ones, approved or waiting for approval."""
    found = ProofRecipient.objects.filter(Q(owner=user) | Q(owner__isnull=True)).select_related("project", "owner")
    return found.filter(project=project) if project is not None else found


def proof_recipients_sendable(*, user: RequestUser, project: IterableProject | None = None) -> QuerySet[ProofRecipient]:
    """The allowlist a user may send to: their own and the shared recipients that are approved."""
    return proof_recipients_visible(user=user, project=project).filter(status=RecipientStatus.APPROVED)


def proof_recipients_pending(*, user: RequestUser) -> QuerySet[ProofRecipient]:
    """Everyone's recipients waiting for approval, for those who may approve them (else none)."""
    if not user.has_perm(MANAGE_SHARED_RECIPIENTS):
        return ProofRecipient.objects.none()
    pending = ProofRecipient.objects.filter(status=RecipientStatus.PENDING)
    return pending.select_related("project", "owner", "added_by").order_by("created_at", "id")


def proof_recipient_can_manage(*, user: RequestUser, recipient: ProofRecipient) -> bool:
    """Change or remove it: one's own; shared ones, and anyone's (to refuse it), with the manage permission."""
    if recipient.owner_id == user.pk and recipient.owner_id is not None:
        return True
    return user.has_perm(MANAGE_SHARED_RECIPIENTS)


def proof_recipient_consent_needed(*, actor: User, email: str, user_id: str) -> bool:
    """Whether a second person must approve this address before it receives anything.

    Not needed for the actor's own login address or an address at a staff domain (TEST_RECIPIENT_DOMAINS):
    those are staff who agreed by adding themselves. Anyone else may be a customer (who may have unsubscribed),
    and a userId cannot be told apart from a customer's, so they wait.
    """
    if user_id or not email:
        return True
    address = email.strip().lower()
    own = (getattr(actor, "email", "") or "").strip().lower()
    if own and address == own:
        return False
    local, at, domain = address.partition("@")
    if not at or "@" in domain or not _plain_local_part(local):
        # Only a plain local@domain reads the same to every mail system; anything else is judged as unknown.
        return True
    domains = {d.lower() for d in getattr(settings, "TEST_RECIPIENT_DOMAINS", [])}
    return domain not in domains


def _consent_apply(*, actor: User, recipient: ProofRecipient) -> None:
    if proof_recipient_consent_needed(actor=actor, email=recipient.email, user_id=recipient.user_id):
        recipient.status = RecipientStatus.PENDING
        recipient.approved_by, recipient.approved_at = None, None
    else:
        recipient.status = RecipientStatus.APPROVED
        recipient.approved_by, recipient.approved_at = None, timezone.now()


# The dot-atom local part of an address: no quotes, backslashes or spaces. Quoted local parts are valid mail
# ('"a@customer.example"@staff.example.org'), but they let an address read as a staff one to a naive reader while
# some mail systems deliver it elsewhere; nobody's test inbox needs one.
_PLAIN_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


def _plain_local_part(local: str) -> bool:
    return bool(_PLAIN_LOCAL_PART.match(local))


def _recipient_clean(recipient: ProofRecipient) -> None:
    recipient.email, recipient.user_id = identifier_clean(email=recipient.email, user_id=recipient.user_id)
    if recipient.email and not _plain_local_part(recipient.email.rpartition("@")[0]):
        raise ValidationError(
            {
                "email": [
                    f"'{recipient.email}' has a quoted or unusual part before the @: give a plain address "
                    "(letters, digits and . _ + - before the @)."
                ]
            }
        )
    recipient.full_clean()


def proof_recipient_create(
    *,
    actor: User,
    project: IterableProject,
    email: str = "",
    user_id: str = "",
    label: str = "",
    shared: bool = False,
) -> ProofRecipient:
    """Add a test recipient: the actor's own, or a shared one (needs catalog.manage_shared_recipients)."""
    if shared and not actor.has_perm(MANAGE_SHARED_RECIPIENTS):
        raise PermissionDenied("Only admins manage shared test recipients.")
    recipient = ProofRecipient(
        project=project,
        owner=None if shared else actor,
        email=email or "",
        user_id=user_id or "",
        label=label or "",
        added_by=actor,
    )
    _recipient_clean(recipient)
    _consent_apply(actor=actor, recipient=recipient)
    recipient.save()
    audit_record(actor=actor, action="create", instance=recipient, changes=diff({}, snapshot(recipient)))
    return recipient


def proof_recipient_update(*, actor: User, recipient: ProofRecipient, **changes: Any) -> ProofRecipient:
    """Change a test recipient's project, email, userId or label (the owner, and so "shared", stays)."""
    if not proof_recipient_can_manage(user=actor, recipient=recipient):
        raise PermissionDenied("You can change only your own test recipients.")
    with transaction.atomic():
        # Locked, and saved as an UPDATE only: a DELETE racing this change either waits for it or wins, and then
        # this is a 404; a plain save() of a row deleted meanwhile would insert it again.
        stored = ProofRecipient.objects.select_for_update().get(pk=recipient.pk)
        before = snapshot(stored)
        for name in ("project", "email", "user_id", "label"):
            if name in changes:
                setattr(recipient, name, changes[name] if changes[name] is not None else "")
        _recipient_clean(recipient)
        same = (stored.project_id, stored.email, stored.user_id)
        if (recipient.project_id, recipient.email, recipient.user_id) != same:
            # Another address (or project) is another consent: approved again only on the same terms as new.
            recipient.added_by = actor
            _consent_apply(actor=actor, recipient=recipient)
        recipient.save(force_update=True)
        audit_record(actor=actor, action="update", instance=recipient, changes=diff(before, snapshot(recipient)))
    return recipient


def _login_address(user: RequestUser) -> str:
    return (getattr(user, "email", "") or "").strip().lower() if user is not None else ""


def proof_recipient_approval_refusal(*, actor: User, recipient: ProofRecipient) -> str:
    """Why `actor` may not be the second person for this recipient ("" when they may).

    A second person is another login address, not only another account: an admin's second account with the same
    address (in any case) is the same person, and nobody approves their own address.
    """
    if actor.pk in {recipient.added_by_id, recipient.owner_id}:
        return "A second person approves a test recipient: not the one who added it."
    login = _login_address(actor)
    if not login:
        return ""
    for other in (recipient.added_by, recipient.owner):
        if other is not None and _login_address(other) == login:
            return (
                f"A second person approves a test recipient: your login address is also {other.get_username()}'s, "
                "who added it, so it counts as the same person. Another admin approves it."
            )
    if recipient.email and recipient.email.strip().lower() == login:
        return "This is your own address: another admin approves it, not you."
    return ""


class ProofRecipientChanged(Exception):
    """The recipient is no longer the address or userId the approver was shown: nothing was approved."""


def proof_recipient_approve(*, actor: User, recipient: ProofRecipient, seen: str) -> ProofRecipient:
    """A second person, with the manage permission, lets a waiting recipient receive test sends. Audited.

    `seen` is the address or userId the approver was shown. The owner may change it between the listing and the
    approval; approving by id alone would then approve an address nobody reviewed, so a mismatch approves nothing.
    """
    if not actor.has_perm(MANAGE_SHARED_RECIPIENTS):
        raise PermissionDenied("Only admins approve test recipients.")
    with transaction.atomic():
        locked = ProofRecipient.objects.select_for_update(of=("self",)).select_related("added_by", "owner")
        recipient = locked.get(pk=recipient.pk)
        refusal = proof_recipient_approval_refusal(actor=actor, recipient=recipient)
        if refusal:
            raise PermissionDenied(refusal)
        if (seen or "").strip() != recipient.identifier:
            raise ProofRecipientChanged(
                f"This test recipient is now {recipient.identifier}, not {(seen or '').strip() or 'what you saw'}: "
                "it changed after it was listed, so nothing was approved. Review it again."
            )
        if recipient.status == RecipientStatus.APPROVED:
            return recipient
        before = snapshot(recipient)
        recipient.status = RecipientStatus.APPROVED
        recipient.approved_by, recipient.approved_at = actor, timezone.now()
        recipient.save(update_fields=["status", "approved_by", "approved_at"])
        audit_record(actor=actor, action="approve", instance=recipient, changes=diff(before, snapshot(recipient)))
    return recipient


def proof_recipient_delete(*, actor: User, recipient: ProofRecipient) -> None:
    """Remove a test recipient: one's own; shared ones or anyone's (refusing a waiting one) with the manage
    permission. Audited."""
    if not proof_recipient_can_manage(user=actor, recipient=recipient):
        raise PermissionDenied("You can remove only your own test recipients.")
    with transaction.atomic():
        audit_record(actor=actor, action="delete", instance=recipient, changes=diff(snapshot(recipient), {}))
        recipient.delete()


def proof_recipient_allowlisted(
    *, actor: User, project: IterableProject, email: str, user_id: str
) -> ProofRecipient | None:
    found = proof_recipients_sendable(user=actor, project=project)
    if email:
        return found.filter(email__iexact=email).order_by("owner_id").first()
    return found.filter(user_id=user_id).order_by("owner_id").first()
