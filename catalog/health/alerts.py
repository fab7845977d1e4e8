"""Alerts from real sends: raised once per open problem, sent to the notification's owners, acknowledged by a person."""

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import mail_admins, send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.audit.services import actor_label, audit_record
from catalog.health.conf import health_setting
from catalog.health.models import HealthAlert, OwnerAlertHook
from catalog.models import Notification

log = logging.getLogger("catalog.health")
HOOK_TIMEOUT_SECONDS = 5


def alert_raise(
    *,
    project_id: int,
    notification_id: int | None,
    kind: str,
    dedupe_key: str,
    message: str,
    details: dict,
    occurrences: int,
    at: datetime,
) -> HealthAlert:
    """Open an alert, or add to the open one with the same key (callers hold the counting lock)."""
    alert = HealthAlert.objects.filter(dedupe_key=dedupe_key, acknowledged_at__isnull=True).first()
    if alert is not None:
        HealthAlert.objects.filter(pk=alert.pk).update(
            occurrences=F("occurrences") + occurrences, last_seen_at=at, details={**alert.details, **details}
        )
        return alert
    return HealthAlert.objects.create(
        project_id=project_id,
        notification_id=notification_id,
        kind=kind,
        dedupe_key=dedupe_key,
        message=message,
        details=details,
        occurrences=max(occurrences, 1),
        first_seen_at=at,
        last_seen_at=at,
    )


def alert_recipients(alert: HealthAlert) -> tuple[list[str], list[str]]:
    """Owner addresses and owner webhook URLs. An alert without a notification, or for a notification with no
    owner who has an address, goes to HEALTH_ALERT_EMAILS (the admins when that is empty too)."""
    if alert.notification_id is None:
        return list(health_setting("HEALTH_ALERT_EMAILS", [], list)), []
    owners = Notification.objects.get(pk=alert.notification_id).owners.all()
    emails = sorted({o.email for o in owners if o.email})
    hooks = list(OwnerAlertHook.objects.filter(owner__in=owners).order_by("pk").values_list("url", flat=True))
    return emails or list(health_setting("HEALTH_ALERT_EMAILS", [], list)), hooks


def _owned(alert: HealthAlert) -> bool:
    return Notification.objects.filter(id=alert.notification_id or 0, owners__email__gt="").exists()


def hook_label(url: str) -> str:
    """A chat webhook's URL carries its secret (Slack's path, a token in the query): records and logs name
    only its scheme and host."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/…"


def _post_hook(url: str, body: dict) -> None:
    if not url.startswith(("http://", "https://")):
        raise ValueError("Not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 (checked above: http or https only)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=HOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
        response.read(1024)


def _subject(alert: HealthAlert) -> str:
    what = (
        alert.notification.name
        if alert.notification
        else alert.details.get("campaign_name") or f"campaign {alert.details.get('campaign_id')}"
    )
    return f"[Iterable alert] {alert.get_kind_display()}: {what}"


def alert_deliver(alert: HealthAlert) -> list[dict]:
    """Email and webhook to the owners; each outcome recorded, none stops the others. With nobody to email
    (no owner's address, no HEALTH_ALERT_EMAILS, no ADMINS) the outcome says so: the alert stays on the dashboard."""
    emails, hooks = alert_recipients(alert)
    subject = _subject(alert)
    body = f"{alert.message}\n\nFirst seen {alert.first_seen_at:%Y-%m-%d %H:%M} UTC. Acknowledge it on the dashboard."
    if alert.notification_id is not None and not _owned(alert):
        body += "\n\nThis notification has no owner with an email address: give it one in the catalog."
    outcomes = []
    admins = [address for _, address in settings.ADMINS]
    if not emails and not admins:
        log.warning("Alert %s: nobody to email (no owner address, HEALTH_ALERT_EMAILS or ADMINS)", alert.pk)
        outcomes.append(
            {"channel": "email", "to": [], "ok": False, "error": "Nobody to email: no owner address, "
             "HEALTH_ALERT_EMAILS or ADMINS is set."}
        )  # fmt: skip
    else:
        try:
            if emails:
                send_mail(subject, body, None, emails)
            else:
                mail_admins(subject, body)
            outcomes.append({"channel": "email", "to": emails or admins, "ok": True})
        # SMTP fails in many ways; whatever it is, the alert stays visible on the dashboard.
        except Exception as error:
            log.warning("Alert %s: email failed: %s", alert.pk, error)
            outcomes.append({"channel": "email", "to": emails or admins, "ok": False, "error": str(error)[:200]})
    for url in hooks:
        try:
            _post_hook(url, {"text": f"{subject}\n{alert.message}", "alert": alert.pk, "kind": alert.kind})
            outcomes.append({"channel": "webhook", "to": hook_label(url), "ok": True})
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = str(error).replace(url, hook_label(url))[:200]
            log.warning("Alert %s: webhook %s failed: %s", alert.pk, hook_label(url), reason)
            outcomes.append({"channel": "webhook", "to": hook_label(url), "ok": False, "error": reason})
    return outcomes


def alerts_notify() -> int:
    """Send every alert not sent yet. Each is claimed first, so two workers never send one alert twice."""
    sent = 0
    for pk in HealthAlert.objects.filter(notified_at__isnull=True).order_by("pk").values_list("pk", flat=True)[:100]:
        if not HealthAlert.objects.filter(pk=pk, notified_at__isnull=True).update(notified_at=timezone.now()):
            continue
        alert = HealthAlert.objects.select_related("notification").get(pk=pk)
        HealthAlert.objects.filter(pk=pk).update(deliveries=alert_deliver(alert))
        sent += 1
    return sent


def alert_acknowledge(*, alert: HealthAlert, actor: User, note: str = "") -> HealthAlert:
    """A person has seen it; audited. A later occurrence opens a new alert."""
    if alert.acknowledged_at is not None:
        raise ValidationError(
            f"{actor_label(alert.acknowledged_by) if alert.acknowledged_by else alert.acknowledged_label} "
            f"already acknowledged this alert on {alert.acknowledged_at:%d %b %Y %H:%M}.",
            code="already_acknowledged",
        )
    if len(note) > 500:
        raise ValidationError("The note may be at most 500 characters.", code="too_long")
    with transaction.atomic():
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = actor
        alert.acknowledged_label = actor_label(actor)
        alert.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledged_label"])
        audit_record(actor=actor, action="acknowledge", instance=alert, changes={"note": note} if note else {})
    return alert


def alerts_open(*, notification=None, limit: int = 20) -> list[HealthAlert]:
    alerts = HealthAlert.objects.filter(acknowledged_at__isnull=True).select_related("notification", "project")
    if notification is not None:
        alerts = alerts.filter(notification=notification)
    return list(alerts[:limit])
