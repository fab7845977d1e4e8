"""PostgreSQL's day partitions of the raw events: each event in its own day's partition (a redelivery dropped
there), the default partition for the rest, days made ahead, and retention dropping whole days once counted."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from catalog.health import partitions
from catalog.health.counters import health_process, health_retention_purge
from catalog.health.models import HealthDaily, HealthEvent

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the raw table is partitioned on PostgreSQL only"),
]


def _event(n: int, days_ago: int) -> dict:
    day = timezone.localdate() - timedelta(days=days_ago)
    return {"email": f"p{n}@example.com", "eventName": "emailSend",
            "dataFields": {"campaignId": 401, "messageId": f"m{n}", "createdAt": f"{day} 12:00:00 +00:00"}}  # fmt: skip


def _where() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT email, tableoid::regclass::text FROM catalog_healthevent")
        return dict(cursor.fetchall())


def _day(days_ago: int) -> str:
    return partitions.partition_name(timezone.localdate() - timedelta(days=days_ago))


def test_each_event_lands_in_its_days_partition_and_a_redelivery_is_dropped_there(health):
    assert partitions.is_partitioned()
    events = [_event(1, 0), _event(2, 2), _event(3, 40), _event(4, -30)]
    assert health.post(events).status_code == 200
    assert health.post([_event(2, 2), _event(1, 0)]).status_code == 200  # redelivered
    assert _where() == {
        "p1@example.com": _day(0),
        "p2@example.com": _day(2),
        "p3@example.com": partitions.DEFAULT,  # older than the window
        "p4@example.com": partitions.DEFAULT,  # a clock a month ahead: kept all the same
    }
    assert HealthDaily.objects.get(kind="send", day=timezone.localdate()).count == 1


def test_a_day_made_later_takes_its_rows_from_the_default_partition(health):
    assert health.post([_event(1, -12)]).status_code == 200
    assert _where() == {"p1@example.com": partitions.DEFAULT}
    made = partitions.partitions_ensure(today=timezone.localdate() + timedelta(days=6), first=timezone.localdate())
    assert timezone.localdate() + timedelta(days=12) in made
    assert _where() == {"p1@example.com": _day(-12)}
    assert health.post([_event(1, -12)]).status_code == 200  # the key still holds in the new partition
    assert HealthEvent.objects.count() == 1


def test_retention_drops_whole_days_once_every_event_in_them_is_counted(health, settings):
    settings.HEALTH_RAW_RETENTION_DAYS = 7
    today = timezone.localdate()
    partitions.partitions_ensure(today=today, first=today - timedelta(days=10))
    assert health.post([_event(1, 9), _event(2, 8), _event(3, 8), _event(4, 7), _event(5, 40)]).status_code == 200
    HealthEvent.objects.filter(email="p3@example.com").update(counted=False)
    # What a commit does: the foreign keys' deferred checks run now (PostgreSQL drops no table that still has
    # some pending, and this test runs in one transaction).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    first = health_retention_purge()
    # Every day before day 8 (the test database's window began 30 days back), day 9's event with it.
    assert str(today - timedelta(days=9)) in first["partitions_dropped"]
    assert max(first["partitions_dropped"]) == str(today - timedelta(days=9))
    assert first["deleted"] == 1  # the default partition's old row, deleted by rows
    assert sorted(_where().values()) == [_day(8), _day(8), _day(7)]  # day 8 waits for its uncounted event
    health_process()
    second = health_retention_purge()
    assert second["partitions_dropped"] == [str(today - timedelta(days=8))]
    assert list(_where().values()) == [_day(7)]
    assert _day(8) not in {partitions.partition_name(d) for d in partitions.partition_days()}
    assert sum(HealthDaily.objects.filter(kind="send").values_list("count", flat=True)) == 6  # counters stay
