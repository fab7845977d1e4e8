"""The demo's live health: the emulator's system webhooks pointed at the dashboard, and a trickle of sends.

The webhook secrets are kept in DATA_DIR/health-webhook-secrets.json (private, like demo-login.txt) so a
restart reuses them; both the emulator's seed and its saved state get the webhook, since a saved state is
loaded instead of the seed.
"""

import json
import logging
import os
import random
import time
from pathlib import Path

from django.conf import settings

from catalog.health.ingest import _digest, webhook_secret_rotate
from catalog.health.models import WebhookSecret
from catalog.iterable import IterableError, client_for_project
from catalog.models import IterableProject, MessageType, Notification

log = logging.getLogger("catalog.health")
DEMO_WEBHOOK_ID = 1


def _secrets_file() -> Path:
    return Path(settings.DATA_DIR) / "health-webhook-secrets.json"


def demo_secret(project: IterableProject) -> str:
    """The project's webhook secret for the demo: the saved one while it still matches, else a new one."""
    path = _secrets_file()
    saved = json.loads(path.read_text()) if path.exists() else {}
    secret = saved.get(str(project.pk))
    row = WebhookSecret.objects.filter(project=project).first()
    if secret and row and row.secret_hash == _digest(secret):
        return secret
    secret = webhook_secret_rotate(project=project, actor="demo")
    saved[str(project.pk)] = secret
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved))
    os.chmod(path, 0o600)
    return secret


def demo_webhooks_write(*, files: list[Path], dashboard_url: str) -> int:
    """Give every project in the emulator seed/state files a system webhook posting to the dashboard."""
    projects = {p.iterable_project_id: p for p in IterableProject.objects.exclude(iterable_project_id=None)}
    done = 0
    for path in files:
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        for raw in data.get("projects", data if isinstance(data, list) else []):
            project = projects.get(raw.get("id"))
            if project is None:
                continue
            hook = {
                "id": DEMO_WEBHOOK_ID,
                "endpoint": f"{dashboard_url.rstrip('/')}/api/health/webhooks/{project.pk}/",
                "authType": "NoAuth",
                "enabled": True,
                "triggeredSendEnabled": True,
                "blastSendEnabled": True,
                "headers": [{"key": "X-Webhook-Secret", "value": demo_secret(project)}],
            }
            raw["webhooks"] = [h for h in raw.get("webhooks") or [] if h.get("id") != DEMO_WEBHOOK_ID] + [hook]
            done += 1
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    return done


def _contacts(project: IterableProject) -> list[str]:
    from catalog import demo

    prefix = "student" if project.name == demo.STUDENT else "employer"
    return [f"{prefix}.{n:04d}@example.com" for n in range(1, demo.DEMO_CONTACTS.get(project.name, 0) + 1)]


# One demo email in UNSUBSCRIBE_EVERY makes its recipient unsubscribe from its message type (through Iterable's
# API, attributed to the campaign, so the emulator posts an emailUnSubscribe webhook), and as often someone who
# left comes back: the unsubscribe and skip charts move as well as the sends, and the contacts never all leave.
UNSUBSCRIBE_EVERY = 25


def _unsubscribe(client, notification: Notification, email: str) -> None:
    message_type = notification.message_type
    if message_type.policy == "OptIn":
        client.update_subscriptions(email=email, subscribed_message_type_ids=[], campaign_id=notification.campaign_id)
    else:
        client.update_subscriptions(
            email=email, unsubscribed_message_type_ids=[message_type.iterable_id], campaign_id=notification.campaign_id
        )


def _come_back(client, project: IterableProject, email: str) -> None:
    opt_in = list(MessageType.objects.filter(project=project, policy="OptIn").values_list("iterable_id", flat=True))
    client.update_subscriptions(email=email, subscribed_message_type_ids=opt_in, unsubscribed_message_type_ids=[])


def demo_traffic_round(*, sends: int, rng: random.Random) -> dict[str, int]:
    """Triggered sends of the demo's active API-send notifications to demo contacts, through the real client;
    the emulator records them (sent or skipped) and its webhook delivery posts them to the dashboard. Now and
    then a recipient of an email unsubscribes, and someone who did comes back."""
    tally = {"sent": 0, "errors": 0, "unsubscribed": 0}
    live = list(
        Notification.objects.filter(status="active", trigger_type="api_send", medium__in=["Email", "Push"])
        .exclude(campaign_id=None)
        .select_related("project", "message_type")
    )
    if not live:
        return tally
    for _ in range(sends):
        notification = rng.choice(live)
        contacts = _contacts(notification.project)
        if not contacts:
            continue
        client = client_for_project(notification.project)
        target = client.email_target if notification.medium == "Email" else client.push_target
        email = rng.choice(contacts)
        try:
            target(notification.campaign_id, recipient_email=email)
            tally["sent"] += 1
            if notification.medium == "Email" and rng.randrange(UNSUBSCRIBE_EVERY) == 0:
                _unsubscribe(client, notification, email)
                tally["unsubscribed"] += 1
            if rng.randrange(UNSUBSCRIBE_EVERY) == 0:
                _come_back(client, notification.project, rng.choice(contacts))
        except IterableError as error:
            log.info("Demo send of %s refused: %s", notification.key, error)
            tally["errors"] += 1
    return tally


def demo_traffic_run(*, per_minute: int, burst: int, rounds: int | None = None) -> None:
    """A burst, then one send every 60/per_minute seconds; a failing round is logged and the next one tried
    (the demo's other processes stop when one of them exits)."""
    from django.db import close_old_connections

    rng = random.Random()
    size, done = burst, 0
    while rounds is None or done < rounds:
        try:
            demo_traffic_round(sends=size, rng=rng)
        except Exception:
            log.exception("Demo traffic round failed; trying again")
            close_old_connections()
        size, done = 1, done + 1
        time.sleep(60 / max(per_minute, 1))
