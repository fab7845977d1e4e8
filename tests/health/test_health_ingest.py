"""The webhook door: real sends through the client, what the emulator says Iterable would post, posted here."""

import base64
import json

import pytest

from catalog.health.counters import health_process
from catalog.health.models import HealthDaily, HealthEvent, WebhookSecret
from catalog.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=False)


def _counts(notification):
    return dict(HealthDaily.objects.filter(notification=notification).values_list("kind", "count"))


def test_sends_from_iterable_are_stored_and_counted_per_notification(health):
    for n in (1, 2, 3):
        health.client.email_target(401, recipient_email=f"person{n}@example.com")
    health.client.email_target(402, recipient_email="person4@example.com")
    payloads = health.deliver()
    assert [p["eventName"] for p in payloads] == ["emailSend"] * 4
    assert HealthEvent.objects.filter(project=health.project).count() == 4
    health_process()
    assert _counts(health.digest) == {"send": 3}
    assert _counts(health.receipt) == {"send": 1}
    stored = HealthEvent.objects.get(email="person4@example.com")
    assert (stored.campaign_id, stored.template_id, stored.message_type_id, stored.medium) == (402, 503, 13, "Email")
    assert stored.counted is True


def test_a_redelivered_event_counts_once(health):
    health.client.email_target(401, recipient_email="person1@example.com")
    (payload,) = health.deliver()
    for _ in range(3):
        response = health.http.post(
            health.url,
            json.dumps(payload),
            content_type="application/json",
            headers={"X-Webhook-Secret": health.secret},
        )
        assert response.status_code == 200
    health_process()
    health_process()
    assert HealthEvent.objects.count() == 1
    assert _counts(health.digest) == {"send": 1}


def test_a_batch_with_duplicates_inside_and_across_requests_counts_each_event_once(health):
    events = [
        {
            "email": f"person{n}@example.com",
            "eventName": "emailOpen",
            "dataFields": {
                "campaignId": 401,
                "templateId": 501,
                "messageId": f"m{n}",
                "createdAt": "2026-11-29 10:00:00 +00:00",
            },
        }
        for n in range(10)
    ]
    headers = {"X-Webhook-Secret": health.secret}
    first = health.http.post(
        health.url, json.dumps(events + events[:3]), content_type="application/json", headers=headers
    )
    second = health.http.post(health.url, json.dumps(events[5:]), content_type="application/json", headers=headers)
    assert first.json() == {"received": 13} and second.status_code == 200
    health_process()
    assert _counts(health.digest) == {"open": 10}
    assert str(HealthDaily.objects.get(notification=health.digest).day) == "2026-11-29"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Webhook-Secret": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic " + base64.b64encode(b"iterable:wrong").decode()},
        {"Authorization": "Basic not-base64!"},
    ],
)
def test_a_missing_or_wrong_secret_is_refused_and_stores_nothing(health, headers):
    response = health.http.post(
        health.url, json.dumps({"eventName": "emailSend"}), content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "The webhook secret is missing or wrong for this project."
    assert HealthEvent.objects.count() == 0


def test_the_secret_works_as_basic_auth_and_bearer_and_only_for_its_project(health):
    event = {"email": "a@example.com", "eventName": "emailSend", "dataFields": {"campaignId": 401}}
    basic = "Basic " + base64.b64encode(f"iterable:{health.secret}".encode()).decode()
    for auth in (basic, f"Bearer {health.secret}"):
        event["dataFields"]["messageId"] = auth[:6]
        response = health.http.post(
            health.url, json.dumps(event), content_type="application/json", headers={"Authorization": auth}
        )
        assert response.status_code == 200
    other = health.http.post(
        f"/api/health/webhooks/{health.project.pk + 1000}/",
        json.dumps(event),
        content_type="application/json",
        headers={"X-Webhook-Secret": health.secret},
    )
    assert other.status_code == 401
    assert HealthEvent.objects.count() == 2
    assert WebhookSecret.objects.get().secret_hash != health.secret  # only the hash is stored


def test_rotating_the_secret_stops_the_old_one_and_is_audited(health):
    from catalog.health.ingest import webhook_secret_rotate

    new = webhook_secret_rotate(project=health.project, actor="admin")
    event = json.dumps({"email": "a@example.com", "eventName": "emailSend", "dataFields": {}})
    old = health.http.post(
        health.url, event, content_type="application/json", headers={"X-Webhook-Secret": health.secret}
    )
    fresh = health.http.post(health.url, event, content_type="application/json", headers={"X-Webhook-Secret": new})
    assert (old.status_code, fresh.status_code) == (401, 200)
    assert AuditEvent.objects.filter(object_type="webhooksecret", action="rotate").count() == 1


@pytest.mark.parametrize(
    "body, message",
    [
        ("not json", "The body is not JSON: send the event Iterable's webhook builds."),
        ("[]", "The list of events is empty."),
        ('"text"', "the event must be a JSON object with eventName and dataFields."),
        ('{"dataFields": {}}', "the event has no eventName."),
        ('[{"eventName": "emailSend"}, {"eventName": ""}]', "event 1 has no eventName."),
        ('{"eventName": "emailSend", "dataFields": []}', "the event: dataFields must be an object."),
        (
            '{"eventName": "emailSend", "dataFields": {"campaignId": "abc"}}',
            "the event: dataFields.campaignId must be a whole number, not 'abc'.",
        ),
        (
            '{"eventName": "emailSend", "dataFields": {"templateId": -1}}',
            "the event: dataFields.templateId is out of range: -1.",
        ),
        (
            '{"eventName": "emailSend", "dataFields": {"createdAt": "yesterday"}}',
            "the event: dataFields.createdAt is not a time Iterable writes "
            "(e.g. 2026-11-30 06:01:20 +00:00): 'yesterday'.",
        ),
        (json.dumps([{"eventName": "emailSend"}] * 1001), "At most 1000 events per request; this one has 1001."),
    ],
)
def test_bad_bodies_get_a_specific_400_and_store_nothing(health, body, message):
    response = health.http.post(
        health.url, body, content_type="application/json", headers={"X-Webhook-Secret": health.secret}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == message
    assert HealthEvent.objects.count() == 0


def test_only_post_is_allowed(health):
    response = health.http.get(health.url, headers={"X-Webhook-Secret": health.secret})
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_unmapped_campaigns_land_with_the_orphans_and_unknown_event_names_are_kept(health):
    health.client.email_target(409, recipient_email="person1@example.com")
    health.deliver()
    event = {"email": "person1@example.com", "eventName": "smsReceived", "dataFields": {"campaignId": 409}}
    health.http.post(
        health.url, json.dumps(event), content_type="application/json", headers={"X-Webhook-Secret": health.secret}
    )
    health_process()
    orphans = dict(HealthDaily.objects.filter(notification__isnull=True).values_list("kind", "bucket"))
    assert orphans == {"send": "c:409", "other": "c:409"}


def _one(n: int = 1) -> dict:
    return {"email": f"a{n}@example.com", "eventName": "emailSend", "dataFields": {"campaignId": 401, "messageId": n}}


def test_the_webhook_takes_the_short_path_with_its_request_id_and_security_headers(health):
    from django.urls import reverse

    from catalog.health.fastpath import WEBHOOK_PATH

    assert WEBHOOK_PATH.match(reverse("api:health-webhook", args=[health.project.pk]))
    response = health.post(_one())
    assert response.status_code == 200 and HealthEvent.objects.count() == 1
    assert len(response["X-Request-ID"]) == 32
    assert (response["X-Content-Type-Options"], response["Referrer-Policy"]) == ("nosniff", "same-origin")
    # Nothing after the short path ran: no session or user was loaded, no cookie or Vary header came back.
    assert not hasattr(response.wsgi_request, "session") and not hasattr(response.wsgi_request, "user")
    assert "Set-Cookie" not in response and "Vary" not in response
    # ALLOWED_HOSTS still holds.
    elsewhere = health.http.post(
        health.url, json.dumps(_one(9)), content_type="application/json",
        headers={"X-Webhook-Secret": health.secret}, HTTP_HOST="evil.example",
    )  # fmt: skip
    assert elsewhere.status_code == 400 and HealthEvent.objects.count() == 1
    # Every other address still goes through the whole stack.
    other = health.http.get("/api/health/alerts/")
    assert hasattr(other.wsgi_request, "user")


def test_the_database_gone_mid_request_answers_503_for_iterable_to_retry(health, monkeypatch):
    from django.db import OperationalError

    def down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("catalog.health.views.events_ingest", down)
    response = health.post(_one())
    assert (response.status_code, response["Retry-After"]) == (503, "30")
    assert response.json()["errors"][0]["code"] == "database-unavailable"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    __import__("django.db").db.connection.vendor != "postgresql",
    reason="a connection dropped by the database server: SQLite has no server",
)
def test_a_connection_the_server_dropped_is_replaced_and_the_event_stored_once(health):
    from django.db import connection, connections

    # The webhook skips the per-request SELECT 1 health check; its INSERT is the check instead.
    assert health.post(_one(1)).status_code == 200
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
    finally:
        killer.close()
    assert health.post(_one(2)).status_code == 200
    assert health.post(_one(2)).status_code == 200
    assert sorted(HealthEvent.objects.values_list("email", flat=True)) == ["a1@example.com", "a2@example.com"]


@pytest.mark.skipif(
    __import__("django.db").db.connection.vendor != "postgresql", reason="prepared statements: PostgreSQL's"
)
def test_the_webhook_insert_is_prepared_once_per_connection(health):
    from django.db import connection

    for n in range(3):
        assert health.post(_one(n)).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO%%'")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert len(prepared) == 1 and "ON CONFLICT DO NOTHING" in prepared[0]
