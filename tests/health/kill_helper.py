"""Run in a subprocess by the kill tests (the environment from ``gunicorn_env``, which they also import):

python tests/health/kill_helper.py setup              -> migrates, creates the project, prints its id and secret
python tests/health/kill_helper.py count-and-die      -> counts, and SIGKILLs itself after writing the counters,
                                                        before its transaction commits
python tests/health/kill_helper.py count              -> counts everything, prints the totals as JSON
"""

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django


def gunicorn_env(tmp_path: Path, database_url: str) -> dict:
    """The environment of the kill tests' gunicorn and of this helper's runs beside it: production settings (not
    the tests'), so that the server under attack is the one deployed, on `database_url` with its files under
    `tmp_path`; plain HTTP on loopback."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "iterable_admin.settings",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path),
        "SECRET_KEY": "kill-test-secret-key-" + "x" * 40,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "ERROR",
    }


def totals() -> dict:
    from django.db.models import Sum

    from catalog.health.models import HealthDaily, HealthEvent

    return {
        "stored": HealthEvent.objects.count(),
        "uncounted": HealthEvent.objects.filter(counted=False).count(),
        "counted": HealthDaily.objects.aggregate(n=Sum("count"))["n"] or 0,
    }


def guard_setup() -> None:
    from django.core.management import call_command

    from catalog.models import Channel, IterableProject, MessageType, Notification, Owner

    call_command("migrate", verbosity=0)
    project = IterableProject.objects.create(name="Guard", api_key_env="ITERABLE_API_KEY_GUARD")
    marketing = Channel.objects.create(
        project=project, iterable_id=1, name="Marketing Channel", channel_type="Marketing", medium="Email"
    )
    opt_in = MessageType.objects.create(
        project=project, iterable_id=11, name="Newsletter", channel=marketing, policy="OptIn"
    )
    MessageType.objects.create(
        project=project, iterable_id=12, name="Marketing Message", channel=marketing, policy="OptOut"
    )
    owner = Owner.objects.create(name="Lifecycle", role="business", email="lifecycle-owner@example.com")
    notification = Notification.objects.create(
        key="digest",
        name="Digest",
        audience="students",
        project=project,
        medium="Email",
        trigger_type="api_send",
        campaign_id=401,
        message_type=opt_in,
        status="active",
    )
    notification.owners.add(owner)
    print(json.dumps({"project": project.pk}))


def forbidden_send() -> None:
    import time

    from catalog.health.ingest import events_ingest
    from catalog.health.models import HealthAlert
    from catalog.models import IterableProject

    project = IterableProject.objects.get(name="Guard")
    started = time.monotonic()
    events_ingest(
        project_id=project.pk,
        body={
            "email": "someone@example.com",
            "eventName": "emailSend",
            "dataFields": {"campaignId": 401, "templateId": 501, "messageTypeId": 12, "messageId": "m1"},
        },
    )
    while time.monotonic() - started < 90:
        alert = HealthAlert.objects.filter(notified_at__isnull=False).first()
        if alert is not None:
            print(
                json.dumps({"seconds": time.monotonic() - started, "kind": alert.kind, "deliveries": alert.deliveries})
            )
            return
        time.sleep(0.2)
    print(json.dumps({"seconds": None}))


def main() -> None:
    command = sys.argv[1]
    django.setup()
    from catalog.health import counters

    if command == "setup":
        from django.core.management import call_command

        from catalog.health.ingest import webhook_secret_rotate
        from catalog.models import IterableProject

        call_command("migrate", verbosity=0)
        project = IterableProject.objects.create(name="Kill test", api_key_env="ITERABLE_API_KEY_KILL")
        print(json.dumps({"project": project.pk, "secret": webhook_secret_rotate(project=project, actor="test")}))
    elif command == "count-and-die":
        written = counters._add_to_counters

        def then_die(totals):
            written(totals)
            os.kill(os.getpid(), signal.SIGKILL)

        counters._add_to_counters = then_die
        counters.health_process()
    elif command == "guard-setup":
        guard_setup()
    elif command == "forbidden-send":
        forbidden_send()
    elif command == "count":
        counters.health_process(max_batches=1000)
        print(json.dumps(totals()))


if __name__ == "__main__":
    main()
