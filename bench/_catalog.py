"""A synthetic catalog of any size for the bench scripts (bulk writes; the guard still judges each row)."""

from types import SimpleNamespace

from catalog.guard.verdicts import refresh_verdicts
from catalog.models import Channel, IterableProject, MessageType, Notification, Owner, Template


def bench_catalog() -> SimpleNamespace:
    project = IterableProject.objects.create(name="Bench", api_key_env="ITERABLE_API_KEY_BENCH")
    channel = Channel.objects.create(
        project=project, iterable_id=1, name="Marketing", channel_type="Marketing", medium="Email"
    )
    message_type = MessageType.objects.create(
        project=project, iterable_id=11, name="Newsletter", channel=channel, policy="OptIn"
    )
    owner = Owner.objects.create(name="Lifecycle", role="business", email="lifecycle@example.com")
    template = Template.objects.create(
        project=project, iterable_id=501, name="Digest", medium="Email", message_type=message_type
    )
    return SimpleNamespace(project=project, message_type=message_type, owner=owner, template=template)


def grow_to(total: int, project, message_type, owner, template) -> None:
    start = Notification.objects.count()
    objs = Notification.objects.bulk_create(
        (
            Notification(
                key=f"bench_{i:06d}",
                name=f"Bench notification {i}",
                audience=["students", "employers"][i % 2],
                project=project,
                medium="Email",
                trigger_type="api_send",
                campaign_id=100_000 + i,
                message_type=message_type,
                status="active",
            )
            for i in range(start, total)
        ),
        batch_size=1000,
    )
    Notification.owners.through.objects.bulk_create(
        (Notification.owners.through(notification=n, owner=owner) for n in objs[::2]), batch_size=1000
    )
    Notification.templates.through.objects.bulk_create(
        (Notification.templates.through(notification=n, template=template) for n in objs), batch_size=1000
    )
    refresh_verdicts(Notification.objects.all())


def grow_activity(total: int, project, audit_per_notification: int = 10, runs_per_notification: float = 0.1) -> None:
    """Audit events (ten per notification: a million beside 100,000 notifications), succeeded sync runs and done
    resync runs, the events written with one INSERT … SELECT (the ORM would take minutes for a million rows).
    Every size has at least two pages of each kind of run, so a page's time at 100 and at 100,000 compares the
    same fifty rows with more after them, not ten rows with fifty."""
    from django.db import connection
    from django.utils import timezone

    from catalog.models import AuditEvent, ResyncRun, SyncRun
    from catalog.views.paging import PAGE_SIZE

    now = timezone.now()
    with connection.cursor() as cursor:
        start = AuditEvent.objects.count()
        wanted = total * audit_per_notification
        if wanted > start:
            if connection.vendor == "postgresql":
                series, seconds = "generate_series(%s, %s) AS s(i)", "(%s - make_interval(secs => i))"
                changes = "'{}'::jsonb"
            else:
                series = "(WITH RECURSIVE s(i) AS (SELECT %s UNION ALL SELECT i + 1 FROM s WHERE i < %s) "
                series += "SELECT i FROM s)"
                seconds, changes = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '-' || i || ' seconds')", "'{}'"
            cursor.execute(
                "INSERT INTO catalog_auditevent (created_at, actor_label, action, object_type, object_id, "
                f"object_repr, changes) SELECT {seconds}, 'bench', 'update', 'notification', "
                f"'' || i, 'bench_' || i, {changes} FROM {series}",
                [now if connection.vendor == "postgresql" else now.strftime("%Y-%m-%d %H:%M:%S"), start + 1, wanted],
            )
    runs = max(int(total * runs_per_notification), 2 * PAGE_SIZE) - SyncRun.objects.filter(project=project).count()
    SyncRun.objects.bulk_create(
        (
            SyncRun(project=project, trigger="schedule", started_at=now, finished_at=now, status="succeeded")
            for _ in range(max(runs, 0))
        ),
        batch_size=1000,
    )
    resyncs = max(total // 100, 2 * PAGE_SIZE) - ResyncRun.objects.filter(project=project).count()
    ResyncRun.objects.bulk_create(
        (
            ResyncRun(
                project=project, status="done", selection="scheduled", on_batch_error="stop", actor_label="bench",
                batch_size=1000, rate_per_second=5, started_at=now, finished_at=now,
            )
            for _ in range(max(resyncs, 0))
        ),
        batch_size=1000,
    )  # fmt: skip
