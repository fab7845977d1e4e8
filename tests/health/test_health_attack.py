"""The webhook door attacked through its real endpoint: every hostile or odd request ends in a clear status
(401, 400, 413 or 200), nothing is stored twice, nothing is lost, and nothing answers 500."""

import base64
import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from catalog.health import partitions
from catalog.health.counters import health_process, health_retention_purge
from catalog.health.ingest import webhook_secret_rotate
from catalog.health.models import AlertKind, HealthAlert, HealthDaily, HealthEvent
from tests.factories import ProjectFactory
from tests.health.conftest import PROJECT_ID

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="day partitions and concurrent sessions: PostgreSQL's"
)


def _event(n=1, **data) -> dict:
    fields = {"campaignId": 401, "templateId": 501, "messageId": f"m{n}", "createdAt": "2026-11-29 10:00:00 +00:00"}
    fields.update(data)
    return {"email": f"person{n}@example.com", "eventName": "emailSend", "dataFields": fields}


def _post(health, body, **headers):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = headers or {"X-Webhook-Secret": health.secret}
    if isinstance(raw, bytes):
        return health.http.post(health.url, raw, content_type="application/json", headers=headers)
    return health.post(raw, headers=headers)


# ------------------------------------------------------------------------------------------ authentication


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_every_wrong_way_to_authenticate_is_a_401_and_stores_nothing(health):
    other = ProjectFactory(name="Other project")
    other_secret = webhook_secret_rotate(project=other, actor="test")
    attempts = [
        {},
        {"X-Webhook-Secret": ""},
        {"X-Webhook-Secret": health.secret + "x"},
        {"X-Webhook-Secret": health.secret.upper()},
        {"X-Webhook-Secret": other_secret},  # another project's secret
        {"Authorization": _basic("iterable", other_secret)},
        {"Authorization": _basic("iterable", "")},
        {"Authorization": "Basic"},
        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},  # not UTF-8
        {"Authorization": "Bearer "},
        {"Authorization": f"Token {health.secret}"},  # a scheme Iterable does not send
        {"X-Webhook-Secret": "sécret ✓ 秘密"},
        {"Authorization": _basic("iterable", "sécret ✓ 秘密")},
        # A wrong header is not rescued by a right Basic password: the header is what was configured.
        {"X-Webhook-Secret": "wrong", "Authorization": _basic("iterable", health.secret)},
    ]
    for headers in attempts:
        response = (
            _post(health, _event(), **headers)
            if headers
            else health.http.post(health.url, json.dumps(_event()), content_type="application/json")
        )
        assert response.status_code == 401, (headers, response.content)
        assert response["WWW-Authenticate"] == 'Basic realm="iterable-webhooks"'
    # The other project's own door takes its own secret, and no other.
    url = f"/api/health/webhooks/{other.pk}/"
    ok = health.http.post(url, json.dumps(_event(2)), content_type="application/json",
                          headers={"X-Webhook-Secret": other_secret})  # fmt: skip
    refused = health.http.post(url, json.dumps(_event(3)), content_type="application/json",
                               headers={"X-Webhook-Secret": health.secret})  # fmt: skip
    assert (ok.status_code, refused.status_code) == (200, 401)
    assert list(HealthEvent.objects.values_list("project_id", "email")) == [(other.pk, "person2@example.com")]


def test_a_project_id_that_cannot_exist_is_a_401_not_a_500(health):
    for project_id in ("999999999999999999", "0", "000000000000424242"):
        response = health.http.post(
            f"/api/health/webhooks/{project_id}/", json.dumps(_event()), content_type="application/json",
            headers={"X-Webhook-Secret": health.secret},
        )  # fmt: skip
        assert response.status_code == 401, project_id
    assert HealthEvent.objects.count() == 0


def test_the_secret_works_as_header_basic_password_basic_user_and_bearer(health):
    ways = [
        {"X-Webhook-Secret": health.secret},
        {"Authorization": _basic("iterable", health.secret)},
        {"Authorization": _basic(health.secret, "")},  # Iterable's form with only a user name
        {"Authorization": f"bearer  {health.secret} "},
    ]
    for n, headers in enumerate(ways):
        assert _post(health, _event(n), **headers).status_code == 200, headers
    assert HealthEvent.objects.count() == len(ways)


def test_a_unicode_secret_is_compared_as_utf8(health):
    from catalog.health import ingest
    from catalog.health.ingest import _digest
    from catalog.health.models import WebhookSecret

    secret = "sécret-✓-秘密"
    WebhookSecret.objects.filter(project=health.project).update(secret_hash=_digest(secret))
    ingest._known.clear()  # the fixture's secret, remembered by this process, is not the one stored now
    assert _post(health, _event(1), Authorization=_basic("iterable", secret)).status_code == 200
    assert _post(health, _event(2), Authorization=_basic("iterable", "secret-✓-秘密")).status_code == 401
    assert HealthEvent.objects.count() == 1


def test_a_rotated_secret_stops_at_once_in_this_process_even_when_it_was_just_cached(health):
    assert _post(health, _event(1)).status_code == 200  # the old secret is now cached in this process
    new = webhook_secret_rotate(project=health.project, actor="admin")
    assert _post(health, _event(2)).status_code == 401
    assert _post(health, _event(3), **{"X-Webhook-Secret": new}).status_code == 200
    again = webhook_secret_rotate(project=health.project, actor="admin")
    assert _post(health, _event(4), **{"X-Webhook-Secret": new}).status_code == 401
    assert _post(health, _event(5), **{"X-Webhook-Secret": again}).status_code == 200
    assert sorted(HealthEvent.objects.values_list("email", flat=True)) == [
        "person1@example.com", "person3@example.com", "person5@example.com",
    ]  # fmt: skip


def test_the_secret_is_compared_in_constant_time_whether_or_not_the_project_exists(health, monkeypatch):
    import hmac

    from catalog.health import ingest

    calls = []
    compare = hmac.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return compare(a, b)

    monkeypatch.setattr(ingest.hmac, "compare_digest", spy)
    ingest._known.clear()
    for url, secret in [(health.url, "wrong"), ("/api/health/webhooks/424242/", health.secret), (health.url, "")]:
        calls.clear()
        response = health.http.post(url, json.dumps(_event()), content_type="application/json",
                                    headers={"X-Webhook-Secret": secret})  # fmt: skip
        assert response.status_code == 401
        # One comparison of two digests of the same length: time does not depend on the secret or the project.
        assert calls == [(64, 64)], (url, secret, calls)


# ------------------------------------------------------------------------------------------ payloads


@pytest.mark.parametrize(
    "body, status",
    [
        ("not json", 400),
        (b"\xff\xfe{}", 400),
        ("", 400),
        ("null", 400),
        ("[1, 2]", 400),
        ("[[]]", 400),
        ('{"eventName": "emailSend", "dataFields": "x"}', 400),
        ("[" * 100_000 + "]" * 100_000, 400),  # deeper than the parser goes
        ('{"eventName": "emailSend", "dataFields": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}", 400),
        ('{"eventName": "emailSend", "dataFields": {"campaignId": Infinity}}', 400),
        ('{"eventName": "emailSend", "dataFields": {"campaignId": NaN}}', 400),
        ('{"eventName": "emailSend", "dataFields": {"templateId": 1e400}}', 400),
        ('{"eventName": "emailSend", "dataFields": {"campaignId": true}}', 400),
        ('{"eventName": "emailSend", "dataFields": {"campaignId": 1' + "0" * 5000 + "}}", 400),
        ('{"eventName": "emailSend", "dataFields": {"createdAt": "30/11/2026 06:01"}}', 400),
        ('{"eventName": "emailSend", "dataFields": {"createdAt": "9999-12-31 23:59:59 -01:00"}}', 400),
        ('{"eventName": "emailSend", "dataFields": {"createdAt": "0001-01-01 00:00:00 +01:00"}}', 400),
        ('{"eventName": "emailSend", "dataFields": {"createdAt": 1e300}}', 400),
        ('{"eventName": "emailSend", "dataFields": {"createdAt": Infinity}}', 400),
        ('{"eventName": "emailSend", "dataFields": {"createdAt": [2026]}}', 400),
        ('{"eventName": "' + "x" * 61 + '"}', 400),
    ],
)
def test_bodies_that_cannot_be_events_are_a_400_and_store_nothing(health, body, status):
    response = _post(health, body)
    assert response.status_code == status, response.content
    assert response.json()["errors"][0]["code"] in {"parse_error", "invalid"}
    assert HealthEvent.objects.count() == 0


def test_a_body_of_5_mb_is_a_413_and_stores_nothing(health):
    big = [_event(n, padding="x" * 5000) for n in range(1000)]
    response = _post(health, big)
    assert response.status_code == 413 and response.json()["errors"][0]["code"] == "too_large"
    assert HealthEvent.objects.count() == 0
    # Unauthenticated, the size does not matter: the secret is checked first.
    assert _post(health, big, **{"X-Webhook-Secret": "wrong"}).status_code == 401


def test_nesting_the_parser_takes_is_stored_once(health):
    nested = {"eventName": "emailSend", "dataFields": {"campaignId": 401, "deep": json.loads("[" * 200 + "]" * 200)}}
    assert _post(health, nested).status_code == 200
    assert _post(health, nested).status_code == 200
    assert HealthEvent.objects.count() == 1
    # At the parser's edge the body may load but not be written back for its key: a 400 then, never a 500.
    for depth in range(900, 1001, 10):
        body = '{"eventName": "emailSend", "dataFields": {"x": ' + "[" * depth + "]" * depth + "}}"
        assert _post(health, body).status_code in {200, 400}, depth


def test_events_missing_their_fields_are_kept_on_the_day_they_arrived_and_counted_as_orphans(health):
    bare = [
        {"eventName": "emailSend", "dataFields": {"campaignId": 401, "messageId": "no-date"}},
        {"eventName": "emailSend", "email": "x@example.com", "dataFields": {"messageId": "no-campaign"}},
        {"eventName": "emailSend", "dataFields": {"campaignId": 401, "messageId": "no-email"}},
        {"eventName": "emailOpen"},
    ]
    assert _post(health, bare).json() == {"received": 4}
    stored = HealthEvent.objects.order_by("id")
    assert {e.day for e in stored} == {timezone.localdate()}
    assert [e.email for e in stored] == ["", "x@example.com", "", ""]
    health_process()
    assert HealthDaily.objects.get(notification=health.digest, kind="send").count == 2
    assert HealthDaily.objects.get(bucket="-", kind="send").count == 1
    assert HealthDaily.objects.get(bucket="-", kind="open").count == 1


@pytest.mark.parametrize(
    "created_at, day",
    [
        (0, "1970-01-01"),
        ("1970-01-01 00:00:00 +00:00", "1970-01-01"),
        (4_102_444_800_000, "2100-01-01"),  # epoch milliseconds
        ("2100-06-01T12:00:00Z", "2100-06-01"),
        ("2026-11-30T06:01:20.123456+02:00", "2026-11-30"),
        (1_764_482_480, "2025-11-30"),  # epoch seconds
    ],
)
def test_times_far_in_the_past_or_future_are_kept_on_their_own_day(health, created_at, day):
    event = _event(1, createdAt=created_at)
    assert _post(health, event).status_code == 200
    assert _post(health, event).status_code == 200
    assert [str(d) for d in HealthEvent.objects.values_list("day", flat=True)] == [day]
    health_process()
    assert str(HealthDaily.objects.get(notification=health.digest, kind="send").day) == day


def test_nul_characters_and_lone_surrogates_are_stored_without_them_not_a_500(health):
    events = [
        {"email": "nul\u0000@example.com", "eventName": "emailSend\u0000",
         "dataFields": {"campaignId": 401, "messageId": "a\u0000b", "reason": "\u0000"}},
        {"email": "half\ud800@example.com", "eventName": "emailOpen", "dataFields": {"messageId": "\udfff"}},
    ]  # fmt: skip
    raw = json.dumps(events)  # ensure_ascii: the NULs and the halves travel as \u escapes, as JSON allows
    assert _post(health, raw).status_code == 200
    assert _post(health, raw).status_code == 200  # redelivered: the same key
    stored = list(HealthEvent.objects.order_by("id").values_list("email", "event_name", "message_id", "kind"))
    assert stored[0] == ("nul@example.com", "emailSend", "ab", "send")
    assert stored[1][0].endswith("@example.com") and "\ud800" not in stored[1][0] and stored[1][3] == "open"
    assert len(stored) == 2


def test_an_unknown_event_name_is_kept_as_other_and_counted(health):
    assert _post(health, {**_event(), "eventName": "webPushSendSkipMaybe"}).status_code == 200
    health_process()
    assert HealthDaily.objects.get(notification=health.digest).kind == "other"


def test_the_same_event_redelivered_five_times_is_stored_and_counted_once(health):
    event = _event(1)
    variants = [
        json.dumps(event),
        json.dumps(event, indent=2),
        json.dumps(dict(reversed(list(event.items())))),  # the same object, keys in another order
        json.dumps(event, ensure_ascii=False),
        json.dumps([event]),
    ]
    for body in variants:
        assert _post(health, body).status_code == 200
    health_process()
    health_process()
    assert HealthEvent.objects.count() == 1
    assert HealthDaily.objects.get(notification=health.digest, kind="send").count == 1


def test_two_events_differing_only_in_a_field_the_door_does_not_read_are_two_events(health):
    # Iterable gives no event id: the key is the whole payload. Two opens of one message a second apart from two
    # devices differ only in fields the door does not store (user agent, IP), and both are real opens.
    first = {**_event(1), "eventName": "emailOpen"}
    first["dataFields"] = {**first["dataFields"], "userAgent": "Mail/1.0"}
    second = {**first, "dataFields": {**first["dataFields"], "userAgent": "Outlook/16"}}
    assert _post(health, [first, second, first]).json() == {"received": 3}
    health_process()
    assert HealthEvent.objects.count() == 2
    assert HealthDaily.objects.get(notification=health.digest, kind="open").count == 2


# ------------------------------------------------------------------------------------------ alerts


def test_a_send_on_a_forbidden_type_raises_one_alert_however_often_it_is_redelivered(health, client, user_in_role):
    health.emulator.state.projects[PROJECT_ID].templates[501]["messageTypeId"] = 12
    event = _event(1, messageTypeId=12)
    for _ in range(5):
        assert _post(health, event).status_code == 200
    health_process()
    alert = HealthAlert.objects.get()
    assert (alert.kind, alert.occurrences, alert.notification) == (AlertKind.FORBIDDEN_TYPE, 1, health.digest)

    url = f"/api/health/alerts/{alert.pk}/acknowledge/"
    for role in ("viewer", None):
        client.force_login(user_in_role(role))
        assert client.post(url, {}, content_type="application/json").status_code == 403
        assert client.post(f"{url[:-1]}-form/", {"next": "/"}).status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    client.force_login(user_in_role("marketing"))
    assert client.post(url, {"note": "moved back"}, content_type="application/json").status_code == 200
    assert client.post(url, {}, content_type="application/json").status_code == 400
    # A redelivery after the acknowledgement is the same event: no new alert.
    assert _post(health, event).status_code == 200
    health_process()
    assert HealthAlert.objects.count() == 1 and HealthAlert.objects.get().acknowledged_label == "marketing-user"


# ------------------------------------------------------------------------------------------ partitions


def _day_event(n: int, days_ago: int) -> dict:
    day = timezone.localdate() - timedelta(days=days_ago)
    return _event(n, createdAt=f"{day} 12:00:00 +00:00")


def _table_of(email: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM catalog_healthevent WHERE email = %s", [email])
        return cursor.fetchone()[0]


def _worker_not_run_yet(monkeypatch):
    monkeypatch.setattr("catalog.health.ingest._enqueue_process", lambda: None)


@postgres_only
def test_an_event_for_a_day_without_a_partition_or_older_than_retention_is_kept_then_purged_once_counted(
    health, settings, monkeypatch
):
    settings.HEALTH_RAW_RETENTION_DAYS = 7
    _worker_not_run_yet(monkeypatch)
    assert _post(health, [_day_event(1, -20), _day_event(2, 400)]).status_code == 200
    assert _table_of("person1@example.com") == partitions.DEFAULT
    assert _table_of("person2@example.com") == partitions.DEFAULT
    assert _post(health, [_day_event(2, 400)]).status_code == 200  # redelivered: dropped in the default too
    assert HealthEvent.objects.filter(counted=False).count() == 2
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert health_retention_purge()["deleted"] == 0  # not counted yet: kept
    health_process()
    assert health_retention_purge()["deleted"] == 1  # the old one, counted, goes; the one ahead stays
    assert list(HealthEvent.objects.values_list("email", flat=True)) == ["person1@example.com"]
    assert sorted((str(d), c) for d, c in HealthDaily.objects.filter(kind="send").values_list("day", "count")) == [
        (str(timezone.localdate() - timedelta(days=400)), 1), (str(timezone.localdate() + timedelta(days=20)), 1),
    ]  # fmt: skip


def _wait_for_lock_wait() -> None:
    with connections["default"].cursor() as cursor:
        for _ in range(200):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the retention run never waited for the lock")


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_retention_while_a_late_event_arrives_for_the_day_it_drops_loses_nothing(health, settings):
    settings.HEALTH_RAW_RETENTION_DAYS = 7
    today = timezone.localdate()
    partitions.partitions_ensure(today=today, first=today - timedelta(days=10))
    assert _post(health, [_day_event(1, 9)]).status_code == 200
    # Day 9 is the oldest partition left, so the run reaches it first.
    with connection.cursor() as cursor:
        for day in partitions.partition_days():
            if day < today - timedelta(days=9):
                cursor.execute(f"DROP TABLE {partitions.partition_name(day)}")
    # An ingest on another connection has stored a late event for day 9, not yet committed, when retention starts.
    ingest = connections.create_connection("default")
    ingest.set_autocommit(False)
    late = _day_event(2, 9)
    with ingest.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalog_healthevent (project_id, event_key, event_name, kind, medium, email, user_id, "
            "campaign_id, template_id, message_type_id, message_id, reason, occurred_at, received_at, counted, day) "
            "VALUES (%s, 'late', 'emailSend', 'send', 'Email', 'person2@example.com', '', 401, 501, NULL, 'm2', '', "
            "now(), now(), false, %s)",
            [health.project.pk, late["dataFields"]["createdAt"][:10]],
        )
    result = {}

    def retention():
        try:
            result["run"] = health_retention_purge()
        finally:
            connections.close_all()

    thread = threading.Thread(target=retention)
    thread.start()
    try:
        _wait_for_lock_wait()  # the retention run waits for the ingest's lock
        ingest.commit()
    finally:
        thread.join(10)
        ingest.close()
    assert "run" in result
    assert HealthEvent.objects.filter(email="person2@example.com").exists()  # not dropped with its day
    health_process()
    assert HealthDaily.objects.get(notification=health.digest, kind="send", day=today - timedelta(days=9)).count == 2


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_retention_runs_at_once_neither_fail_nor_drop_anything_uncounted(health, settings, monkeypatch):
    settings.HEALTH_RAW_RETENTION_DAYS = 7
    today = timezone.localdate()
    partitions.partitions_ensure(today=today, first=today - timedelta(days=10))
    assert _post(health, [_day_event(1, 9), _day_event(2, 8), _day_event(3, 1)]).status_code == 200
    health_process()
    _worker_not_run_yet(monkeypatch)
    assert _post(health, [_day_event(4, 8)]).status_code == 200  # not counted yet: day 8 must stay
    for partition in partitions.partition_days():
        if partition == today + timedelta(days=partitions.AHEAD_DAYS):
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE {partitions.partition_name(partition)}")  # one to make, by both
    results, errors = [], []

    def run():
        try:
            results.append(health_retention_purge())
        except Exception as error:  # the assertion below names it
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(results) == 2
    dropped = [day for r in results for day in r["partitions_dropped"]]
    assert dropped.count(str(today - timedelta(days=9))) == 1
    made = [day for r in results for day in r["partitions_made"]]
    assert made.count(str(today + timedelta(days=partitions.AHEAD_DAYS))) == 1
    assert sorted(HealthEvent.objects.values_list("email", flat=True)) == [
        "person2@example.com", "person3@example.com", "person4@example.com",
    ]  # fmt: skip
    health_process()
    assert sum(HealthDaily.objects.filter(kind="send").values_list("count", flat=True)) == 4


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_project_deleted_while_its_secret_is_cached_is_a_401(health):
    other = ProjectFactory(name="Short-lived project")
    secret = webhook_secret_rotate(project=other, actor="test")
    url = f"/api/health/webhooks/{other.pk}/"

    def post(n):
        return health.http.post(url, json.dumps(_event(n)), content_type="application/json",
                                headers={"X-Webhook-Secret": secret})  # fmt: skip

    assert post(1).status_code == 200  # the secret is now cached in this process
    HealthEvent.objects.filter(project=other).delete()
    HealthDaily.objects.filter(project=other).delete()
    other.delete()
    assert post(2).status_code == 401
    assert HealthEvent.objects.count() == 0


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_event_delivered_five_times_at_once_is_stored_once(health):
    from django.test import Client

    body = json.dumps(_event(1))
    statuses = []
    barrier = threading.Barrier(5)

    def deliver():
        try:
            barrier.wait(5)
            response = Client().post(health.url, body, content_type="application/json",
                                     headers={"X-Webhook-Secret": health.secret})  # fmt: skip
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 5
    health_process()
    assert HealthEvent.objects.count() == 1
    assert HealthDaily.objects.get(notification=health.digest, kind="send").count == 1


@postgres_only  # SQLite's writer holds the whole database until the rotation commits
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_secret_rotated_inside_a_transaction_stops_once_it_commits_even_if_read_meanwhile(health):
    from django.db import transaction
    from django.test import Client

    def post_elsewhere(n, secret, statuses):
        try:
            response = Client().post(health.url, json.dumps(_event(n)), content_type="application/json",
                                     headers={"X-Webhook-Secret": secret})  # fmt: skip
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    during = []
    with transaction.atomic():
        new = webhook_secret_rotate(project=health.project, actor="admin")
        # Another request of this process, before the rotation commits, still finds the old secret valid.
        thread = threading.Thread(target=post_elsewhere, args=(1, health.secret, during))
        thread.start()
        thread.join(1)  # it has read the old secret, and waits for the rotation's row lock to note its use
    thread.join(10)
    assert during == [200]
    assert _post(health, _event(2)).status_code == 401  # the old secret, after the commit
    assert _post(health, _event(3), **{"X-Webhook-Secret": new}).status_code == 200


def test_retention_keeps_an_old_event_until_it_is_counted_on_every_database(health, settings, monkeypatch):
    settings.HEALTH_RAW_RETENTION_DAYS = 7
    _worker_not_run_yet(monkeypatch)
    assert _post(health, [_day_event(1, 40), _day_event(2, 1)]).status_code == 200
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert health_retention_purge()["deleted"] == 0
    assert HealthEvent.objects.count() == 2
    health_process()
    assert health_retention_purge()["deleted"] == 1
    assert list(HealthEvent.objects.values_list("email", flat=True)) == ["person2@example.com"]
    assert HealthDaily.objects.filter(kind="send").count() == 2  # the counters outlive the raw rows
