"""The send itself: recorded before Iterable is called, sent once, never retried after an unknown outcome."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.audit.services import actor_label, audit_event
from catalog.iterable import IterableError, client_for_project
from catalog.models import (
    ProofMode,
    ProofOutcome,
    ProofSend,
)
from catalog.sends.services.checks import not_allowlisted, proof_verdict
from catalog.sends.services.data import event_confirmation_check, proof_plan, recipient_check
from catalog.sends.services.recipients import proof_recipient_allowlisted
from catalog.sends.services.results import (
    DEFAULT_RATE_LIMIT,
    RATE_LIMITED,
    TOKEN_RE,
    ProofPlan,
    ProofRequest,
    ProofSendDuplicate,
)
from catalog.services.iterable_support import explain_iterable_error
from catalog.types import Actor


def _rate_limit() -> tuple[int, int]:
    return tuple(getattr(settings, "PROOF_SEND_RATE_LIMIT", DEFAULT_RATE_LIMIT))


def _dispatch(client, request: ProofRequest) -> dict:
    body = request.body
    email, user_id = body.get("recipientEmail") or body.get("email"), body.get("recipientUserId") or body.get("userId")
    if request.path == "/api/events/track":
        return client.track(body["eventName"], email=email, user_id=user_id, data_fields=body["dataFields"])
    send = {
        "/api/email/target": client.email_target,
        "/api/push/target": client.push_target,
        "/api/templates/email/proof": client.email_template_proof,
        "/api/templates/push/proof": client.push_template_proof,
    }[request.path]
    first = body["campaignId"] if "campaignId" in body else body["templateId"]
    return send(first, recipient_email=email, recipient_user_id=user_id, data_fields=body["dataFields"])


def _start(*, actor: User, plan: ProofPlan, token: str | None) -> ProofSend:
    notification = plan.notification
    attempt = ProofSend(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor),
        project=notification.project,
        notification=notification,
        notification_key=notification.key,
        recipient=plan.recipient,
        recipient_email=plan.email,
        recipient_user_id=plan.user_id,
        mode=plan.mode,
        template_iterable_id=plan.template.iterable_id if plan.template else None,
        endpoint=plan.request.endpoint,
        request_body=plan.request.body,
        submission_token=token or None,
    )
    try:
        with transaction.atomic():
            attempt.save()
    except IntegrityError:
        first = ProofSend.objects.filter(submission_token=token).first() if token else None
        if first is None:
            raise
        raise ProofSendDuplicate(first) from None
    return attempt


def _finish(
    attempt: ProofSend,
    *,
    actor: Actor,
    outcome: str,
    code: str = "",
    message: str = "",
    response: Any = None,
    checks: Any = None,
) -> ProofSend:
    attempt.outcome = outcome
    attempt.error_code = code
    attempt.message = message
    attempt.response = response
    attempt.checks = checks or {}
    attempt.finished_at = timezone.now()
    attempt.save(update_fields=["outcome", "error_code", "message", "response", "checks", "finished_at"])
    audit_event(
        actor=actor,
        action="proof_send",
        object_type="notification",
        object_id=str(attempt.notification_id or ""),
        # People read the notification's name in the activity; the key stays for one deleted since.
        object_repr=attempt.notification.name if attempt.notification else attempt.notification_key,
        changes={
            "attempt": attempt.pk,
            "mode": attempt.mode,
            "recipient": attempt.recipient_identifier,
            "endpoint": attempt.endpoint,
            "outcome": outcome,
            "code": code,
        },
    )
    return attempt


def proof_submission_token_clean(token: str | None) -> str | None:
    token = (token or "").strip()
    if not token:
        return None
    if not TOKEN_RE.match(token):
        raise ValidationError({"submission_token": ["Use 16 to 64 letters, digits, '-' or '_' (e.g. a UUID)."]})
    return token


def proof_send(
    *, actor: User, submission_token: str | None = None, confirm_event: bool = False, **given: Any
) -> ProofSend:
    """Send one test send, guarded and recorded (see the module docstring). Returns the recorded attempt.

    Takes proof_plan's arguments. Raises ValidationError for bad input (nothing recorded), for a custom event
    sent without `confirm_event` (it starts the real journey), and ProofSendDuplicate when the submission
    token was used before (nothing sent again).
    """
    token = proof_submission_token_clean(submission_token)
    recipient_check(actor=actor, recipient=given.get("recipient"))
    plan = proof_plan(**given)
    event_confirmation_check(plan, confirm_event)
    attempt = _start(actor=actor, plan=plan, token=token)
    limit, seconds = _rate_limit()
    recent = ProofSend.objects.filter(
        actor=attempt.actor, created_at__gte=timezone.now() - timedelta(seconds=seconds), pk__lte=attempt.pk
    ).exclude(outcome=ProofOutcome.RATE_LIMITED)
    if attempt.actor is not None and recent.count() > limit:
        return _finish(
            attempt,
            actor=actor,
            outcome=ProofOutcome.RATE_LIMITED,
            code=RATE_LIMITED,
            message=f"Refused: at most {limit} test sends per {seconds} seconds per person. Wait a moment and retry.",
        )
    notification = plan.notification
    if (
        proof_recipient_allowlisted(actor=actor, project=notification.project, email=plan.email, user_id=plan.user_id)
        is None
    ):
        verdict = not_allowlisted(plan, actor)
    else:
        verdict = proof_verdict(plan)
    if not verdict.allowed:
        return _finish(
            attempt,
            actor=actor,
            outcome=ProofOutcome.REFUSED_GUARD,
            code=verdict.code,
            message=verdict.message,
            checks=verdict.checks,
        )
    try:
        answer = _dispatch(client_for_project(notification.project), plan.request)
    except IterableError as error:
        response = {"code": error.code, "msg": error.msg, "status": error.status, "params": error.params}
        if error.outcome_unknown:
            what = (
                f"Iterable answered with a server error ({error.status} {error.code})"
                if error.status and error.status >= 500
                else "Iterable did not answer in time"
            )
            message = (
                f"Unknown: {what}, so the test send may or may not have gone out. It was "
                "not resent (Iterable has no idempotency key); check the recipient's inbox or the contact's history "
                "before sending again."
            )
            outcome = ProofOutcome.UNKNOWN
        else:
            message = f"Refused by Iterable: {explain_iterable_error(error, notification.project)}"
            outcome = ProofOutcome.REFUSED_ITERABLE
        return _finish(
            attempt, actor=actor, outcome=outcome, code=error.code, message=message, response=response,
            checks=verdict.checks,
        )  # fmt: skip
    accepted_by_mode: dict[str, str] = {
        ProofMode.CAMPAIGN: "Iterable accepted the send (accepted, not yet delivered: a skipped send shows later in "
        "the contact's history).",
        ProofMode.EVENT: f"Iterable accepted the '{notification.event.name if notification.event else ''}' event "
        "for the recipient; the journey it triggers takes it from here.",
        ProofMode.TEMPLATE_PROOF: "Iterable accepted the template proof.",
    }
    accepted = accepted_by_mode[plan.mode]
    return _finish(
        attempt,
        actor=actor,
        outcome=ProofOutcome.SENT,
        message=accepted,
        response=answer if isinstance(answer, dict | list) else {"body": answer},
        checks=verdict.checks,
    )
