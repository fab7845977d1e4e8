"""The catalog sync in the API: every endpoint by role, starting a sync (a failing project is a failed run,
never a 5xx), bad input in the one error format, filters, pagination, Iterable-side violations, orphans and
the prefill that turns an orphan into a catalog entry."""

import pytest

from catalog.models import Notification, SyncFinding, SyncRun, Template
from catalog.sync.services.runs import catalog_sync, catalog_sync_project

EVERYONE = [None, "norole", "viewer", "marketing", "engineering", "admin"]
READERS = {"viewer", "marketing", "engineering", "admin"}
RUNNERS = {"engineering", "admin"}
FORBIDDEN = 599001  # the demo's Iterable template on "Marketing Message" that no catalog entry claims

LISTS = [
    "/api/sync/runs/",
    "/api/sync/findings/",
    "/api/sync/iterable-violations/",
    "/api/sync/orphans/",
]


@pytest.fixture
def synced(demo):
    """The demo synced, with one notification drifting: its campaign does not exist in Iterable."""
    drifting = Notification.objects.filter(project=demo.student, trigger_type="api_send").order_by("key").first()
    Notification.objects.filter(pk=drifting.pk).update(campaign_id=987654321)
    runs = catalog_sync(project_ids=[demo.student.pk, demo.employer.pk])
    assert all(run.status == "succeeded" for run in runs)
    demo.drifting = drifting
    demo.runs = runs
    return demo


def _expected_read(role):
    return {None: 401, "norole": 403}.get(role, 200)


@pytest.mark.parametrize("role", EVERYONE, ids=lambda r: r or "anonymous")
def test_reads_by_role(small_catalog, client_for, role):
    run = catalog_sync_project(project=small_catalog.project)  # no key variable: a failed run
    client = client_for(role)
    for path in [*LISTS, f"/api/sync/runs/{run.pk}/"]:
        response = client.get(path)
        assert response.status_code == _expected_read(role), (path, response.content)
        if response.status_code >= 400:
            assert response.json()["errors"][0]["code"]


@pytest.mark.parametrize("role", EVERYONE, ids=lambda r: r or "anonymous")
def test_starting_a_sync_needs_run_sync(small_catalog, client_for, django_capture_on_commit_callbacks, role):
    client = client_for(role)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/sync/runs/", {"projects": [small_catalog.project.pk]}, format="json")
    expected = 202 if role in RUNNERS else {None: 401}.get(role, 403)
    assert response.status_code == expected, response.content
    if expected != 202:
        assert response.json()["errors"][0]["code"] and not SyncRun.objects.exists()
        return
    assert response.json()["projects"] == [{"id": small_catalog.project.pk, "name": "Test project"}]
    # django-q runs synchronously in the tests: the task ran on commit. No API key: recorded as failed.
    run = SyncRun.objects.get()
    assert (run.status, run.actor_label) == ("failed", f"{role}-api")
    assert run.errors and run.errors[0]["code"]
    body = client.get(f"/api/sync/runs/{run.pk}/").json()
    assert body["status"] == "failed" and body["errors"][0]["code"] == run.errors[0]["code"]


def test_start_without_projects_syncs_every_project(synced, client_for, django_capture_on_commit_callbacks):
    SyncRun.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("engineering").post("/api/sync/runs/", {}, format="json")
    assert response.status_code == 202
    assert sorted(p["name"] for p in response.json()["projects"]) == ["Employer - US", "Student - US"]
    assert sorted(SyncRun.objects.values_list("project__name", "status", "trigger")) == [
        ("Employer - US", "succeeded", "manual"),
        ("Student - US", "succeeded", "manual"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"projects": [987654]},
        {"projects": []},
        {"projects": ["abc"]},
        {"projects": [2**70]},
        {"projects": "1"},
    ],
)
def test_start_with_bad_input_is_a_400(small_catalog, client_for, django_capture_on_commit_callbacks, body):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for("engineering").post("/api/sync/runs/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["field"] == "projects" and error["message"]
    assert not callbacks and not SyncRun.objects.exists()


def test_runs_list_filters_and_pages(synced, client_for):
    client = client_for("viewer")
    body = client.get("/api/sync/runs/", {"limit": 1}).json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]
    run = client.get("/api/sync/runs/", {"project": synced.student.pk}).json()["results"]
    assert len(run) == 1
    assert run[0]["counts"]["template"]["seen"] >= 1 and run[0]["calls"]["GET /api/templates"] == 1
    assert run[0]["findings"]["orphan-template"] == 1 and run[0]["call_total"] >= 6
    assert client.get("/api/sync/runs/", {"status": "failed"}).json()["count"] == 0
    response = client.get("/api/sync/runs/", {"project": "987654"})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "project"
    response = client.get("/api/sync/runs/987654/")
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ({}, {"campaign-missing", "marketing-message-type", "optout-marketing", "orphan-template"}),
        ({"category": "guard"}, {"marketing-message-type", "optout-marketing"}),
        ({"category": "drift", "severity": "error"}, {"campaign-missing"}),
        ({"code": "orphan-template"}, {"orphan-template"}),
        ({"severity": "info"}, {"orphan-template"}),
        ({"severity": "warning"}, set()),
    ],
)
def test_findings_filters(synced, client_for, query, codes):
    response = client_for("viewer").get("/api/sync/findings/", query)
    assert response.status_code == 200
    assert {f["code"] for f in response.json()["results"]} == codes


def test_findings_by_notification_project_and_bad_filters(synced, client_for):
    client = client_for("viewer")
    found = client.get("/api/sync/findings/", {"notification": synced.drifting.key}).json()["results"]
    assert [(f["code"], f["notification"], f["iterable_id"]) for f in found] == [
        ("campaign-missing", synced.drifting.key, 987654321)
    ]
    assert client.get("/api/sync/findings/", {"project": synced.employer.pk}).json()["count"] == 0
    one = client.get(f"/api/sync/findings/{found[0]['id']}/").json()
    assert one["message"] == found[0]["message"]
    for bad in ({"category": "nonsense"}, {"severity": "loud"}, {"project": "x"}):
        response = client.get("/api/sync/findings/", bad)
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == next(iter(bad))


def test_iterable_violations(synced, client_for):
    client = client_for("viewer")
    body = client.get("/api/sync/iterable-violations/").json()
    assert body["count"] == 2
    assert {(v["template_id"], v["code"], v["severity"]) for v in body["results"]} == {
        (FORBIDDEN, "marketing-message-type", "error"),
        (FORBIDDEN, "optout-marketing", "error"),
    }
    first = body["results"][0]
    assert first["template_name"] == "Legacy newsletter (Marketing Message)" and first["notifications"] == []
    assert first["project_name"] == "Student - US"
    assert client.get("/api/sync/iterable-violations/", {"project": synced.employer.pk}).json()["count"] == 0
    assert len(client.get("/api/sync/iterable-violations/", {"limit": 1}).json()["results"]) == 1
    response = client.get("/api/sync/iterable-violations/", {"project": 987654})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "project"


def test_iterable_violations_name_affected_notifications(synced, client_for):
    template = Template.objects.filter(project=synced.student, notifications__status="active").first()
    Template.objects.filter(pk=template.pk).update(iterable_id=FORBIDDEN)
    catalog_sync(project_ids=[synced.student.pk])
    keys = set(template.notifications.exclude(status="deprecated").values_list("key", flat=True))
    results = client_for("viewer").get("/api/sync/iterable-violations/").json()["results"]
    assert results and all(set(v["notifications"]) == keys for v in results)


def test_orphans_and_prefill(synced, client_for):
    client = client_for("viewer")
    body = client.get("/api/sync/orphans/").json()
    assert [(o["kind"], o["iterable_id"], o["name"]) for o in body["results"]] == [
        ("template", FORBIDDEN, "Legacy newsletter (Marketing Message)")
    ]
    assert client.get("/api/sync/orphans/", {"kind": "campaign"}).json()["count"] == 0
    assert client.get("/api/sync/orphans/", {"project": synced.employer.pk}).json()["count"] == 0

    query = {"project": synced.student.pk, "kind": "template", "iterable_id": FORBIDDEN}
    prefill = client.get("/api/sync/orphans/prefill/", query).json()
    assert prefill["create_with"] == "/api/templates/"
    assert prefill["initial"]["iterable_id"] == FORBIDDEN and prefill["initial"]["message_type"] is None
    assert {v["code"] for v in prefill["violations"]} == {"marketing-message-type", "optout-marketing"}
    assert any("guard forbids" in note for note in prefill["notes"])


def test_prefill_then_create_through_the_normal_endpoint(synced, client_for):
    engineer = client_for("engineering")
    query = {"project": synced.student.pk, "kind": "template", "iterable_id": FORBIDDEN}
    prefill = engineer.get("/api/sync/orphans/prefill/", query).json()
    allowed = Template.objects.filter(project=synced.student).first().message_type
    body = {k: v for k, v in prefill["initial"].items() if v is not None} | {"message_type": allowed.pk}
    response = engineer.post(prefill["create_with"], body, format="json")
    assert response.status_code == 201, response.content
    assert Template.objects.filter(project=synced.student, iterable_id=FORBIDDEN).exists()

    campaign_id = (
        Notification.objects.filter(project=synced.student, trigger_type="api_send")
        .exclude(pk=synced.drifting.pk)[0]
        .campaign_id
    )
    query = {"project": synced.student.pk, "kind": "campaign", "iterable_id": campaign_id}
    prefill = engineer.get("/api/sync/orphans/prefill/", query).json()
    assert prefill["create_with"] == "/api/notifications/"
    assert prefill["initial"]["campaign_id"] == campaign_id and prefill["initial"]["status"] == "draft"


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"kind": "template", "iterable_id": 123}, 404, None),
        ({"kind": "campaign", "iterable_id": 123}, 404, None),
        ({"kind": "journey", "iterable_id": FORBIDDEN}, 400, "kind"),
        ({"kind": "template", "iterable_id": "abc"}, 400, "iterable_id"),
        ({"kind": "template", "iterable_id": 2**70}, 400, "iterable_id"),
        ({"kind": "template"}, 400, "iterable_id"),
        ({"project": 987654, "kind": "template", "iterable_id": FORBIDDEN}, 400, "project"),
    ],
)
def test_prefill_bad_input(synced, client_for, query, status, field):
    query = {"project": synced.student.pk, **query}
    response = client_for("viewer").get("/api/sync/orphans/prefill/", query)
    assert response.status_code == status, response.content
    error = response.json()["errors"][0]
    assert error["field"] == field and error["message"]
    if status == 404:
        assert "not in the last sync of Student - US" in error["message"]


@pytest.mark.parametrize("path", [*LISTS[1:], "/api/sync/orphans/prefill/"])
def test_read_only_endpoints_refuse_writes(small_catalog, client_for, path):
    response = client_for("admin").post(path, {}, format="json")
    assert response.status_code == 405 and response.json()["errors"][0]["code"]


def test_findings_list_costs_the_same_at_any_size(synced, client_for, django_assert_max_num_queries):
    client = client_for("viewer")
    finding = SyncFinding.objects.filter(notification__isnull=False).first()
    for _ in range(60):
        finding.pk = None
        finding.save()
    with django_assert_max_num_queries(8):
        assert client.get("/api/sync/findings/", {"limit": 100}).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/api/sync/orphans/", {"limit": 100}).status_code == 200
