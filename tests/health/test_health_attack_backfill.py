"""The campaign-metrics backfill attacked: paced to Iterable's 10 calls a minute however many days it reads, and
a day the door was down for part of is filled to Iterable's number without counting any send twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.health.backfill import health_backfill
from catalog.health.models import HealthDaily
from catalog.iterable import IterableClient
from tests.health.conftest import KEY
from tests.health.test_health_backfill import _days, _in_the_past, _late_send

pytestmark = pytest.mark.django_db


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_a_long_backfill_never_makes_more_than_10_metrics_calls_in_any_minute(health):
    clock = FakeClock()
    client = IterableClient(api_key=KEY, base_url=health.emulator.us_url, clock=clock, sleep=clock.sleep)
    seen = []
    real = client.get_campaign_metrics

    def timed(*args, **kwargs):
        rows = real(*args, **kwargs)
        seen.append(clock.now)
        return rows

    client.get_campaign_metrics = timed
    result = health_backfill(notification=health.digest, days=25, client=client)
    assert result["calls"] == 25 == len(seen)
    for first, eleventh in zip(seen, seen[10:], strict=False):
        assert eleventh - first >= 60, "more than 10 calls within a minute"
    assert seen[-1] - seen[0] >= 120  # 25 calls need at least two full windows after the first burst


def test_a_day_the_door_was_down_for_part_of_is_filled_and_late_webhooks_add_nothing(health):
    # Iterable sent 4 on day 3; the door was down for half the day, so the webhooks counted 2.
    _in_the_past(health, [3, 3, 3, 3], opens_days_ago=[3])
    assert health.post([_late_send(n, 3) for n in range(2)]).status_code == 200
    assert _days(health.digest) == {(3, "send"): 2}
    health_backfill(notification=health.digest, days=3)
    assert _days(health.digest) == {(3, "send"): 4, (3, "open"): 1}
    # Iterable's retries bring the two the door missed, and a repeat of one it had: still 4.
    assert health.post([_late_send(n, 3) for n in range(1, 4)]).status_code == 200
    assert _days(health.digest) == {(3, "send"): 4, (3, "open"): 1}
    send = HealthDaily.objects.get(notification=health.digest, kind="send")
    assert (send.webhook_count, send.backfill_count) == (4, 4)
    # Backfilled once, the day is not read again.
    before = len(health.emulator.requests(path="/api/campaigns/metrics"))
    health_backfill(notification=health.digest, days=3)
    after = health.emulator.requests(path="/api/campaigns/metrics")[before:]
    day3 = (timezone.localdate() - timedelta(days=3)).isoformat()
    assert len(after) == 2 and not any(day3 in str(r) for r in after)
