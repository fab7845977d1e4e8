"""The set-based many-row write (catalog/services/bulk.py) stores exactly what bulk_update would: JSON, text
with quotes and non-Latin letters, time zones, across batch boundaries, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

from catalog.models import Notification
from catalog.services import bulk


def test_rows_update_writes_each_value_to_its_own_row(small_catalog, monkeypatch):
    monkeypatch.setattr(bulk, "POSTGRES_BATCH", 1)
    monkeypatch.setattr(bulk, "SQLITE_MAX_VARIABLES", 6)  # one row of five columns per statement
    digest, receipt = small_catalog.digest, small_catalog.receipt
    when = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    written = bulk.rows_update(
        Notification,
        [
            (digest.pk, ["it's", {"nested": "ünïcode ✓"}], 3, when, 401),
            (receipt.pk, [], 0, when, 999),
        ],
        ["verdict_codes", "verdict_errors", "updated_at", "campaign_id"],
    )
    assert written == 2
    digest.refresh_from_db()
    receipt.refresh_from_db()
    assert digest.verdict_codes == ["it's", {"nested": "ünïcode ✓"}]
    assert (digest.verdict_errors, digest.updated_at) == (3, when)
    assert receipt.verdict_codes == [] and receipt.verdict_errors == 0 and receipt.campaign_id == 999
    assert digest.campaign_id == 401


def test_objects_update_takes_the_instances_current_values(small_catalog):
    digest, receipt = small_catalog.digest, small_catalog.receipt
    digest.verdict_warnings, receipt.verdict_warnings = 7, 8
    digest.name = "Name 'quoted' \"twice\" ; --"
    assert bulk.objects_update(Notification, [digest, receipt], ["verdict_warnings", "name"]) == 2
    assert dict(Notification.objects.values_list("key", "verdict_warnings")) == {"weekly_digest": 7, "receipt": 8}
    assert Notification.objects.get(pk=digest.pk).name == "Name 'quoted' \"twice\" ; --"
    # Rows not named keep their values.
    assert Notification.objects.get(pk=receipt.pk).name == "Receipt"


def test_nothing_to_write_sends_nothing(small_catalog, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk.rows_update(Notification, [], ["verdict_errors"]) == 0


def test_values_that_compare_equal_but_are_other_instants_are_each_written_as_themselves(small_catalog):
    """Repeated values are prepared once per write; values that are equal yet store differently are not merged:
    the same wall time on either side of a clock change (its ``fold``), the same instant in two zones."""
    from zoneinfo import ZoneInfo

    digest, receipt = small_catalog.digest, small_catalog.receipt
    new_york = ZoneInfo("America/New_York")
    first = datetime(2026, 11, 1, 1, 30, tzinfo=new_york)  # 05:30 UTC
    second = first.replace(fold=1)  # the same wall time an hour later: 06:30 UTC
    assert first == second  # what Python says; the database must not
    bulk.rows_update(Notification, [(digest.pk, first), (receipt.pk, second)], ["updated_at"])
    stored = dict(Notification.objects.values_list("key", "updated_at"))
    assert stored["weekly_digest"] == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert stored["receipt"] == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    # One value for many rows is written to each of them.
    bulk.rows_update(Notification, [(digest.pk, 5), (receipt.pk, 5)], ["verdict_errors"])
    assert set(Notification.objects.values_list("verdict_errors", flat=True)) == {5}
