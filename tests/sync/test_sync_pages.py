"""The catalog sync pages: runs and "Sync now" per role, a run's page, drift on the notification page and the
findings list, the guard on Iterable's side, orphans and "Add to catalog" through the normal create views."""

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import IterableProject, Notification, SyncFinding, SyncRun, Template
from catalog.sync.services.runs import catalog_sync, catalog_sync_project

RUNS = reverse("catalog:sync_run_list")
START = reverse("catalog:sync_start")
FINDINGS = reverse("catalog:sync_finding_list")
GUARD = reverse("catalog:sync_iterable_guard")
ORPHANS = reverse("catalog:sync_orphan_list")
FORBIDDEN = 599001  # the demo's Iterable template on "Marketing Message" that no catalog entry claims


def add_template_url(project, iterable_id):
    return reverse("catalog:sync_orphan_add_template", args=[project.pk, iterable_id])


def add_campaign_url(project, iterable_id):
    return reverse("catalog:sync_orphan_add_campaign", args=[project.pk, iterable_id])


@pytest.fixture
def synced(demo):
    """The demo synced, with one notification drifting: its campaign does not exist in Iterable."""
    drifting = Notification.objects.filter(project=demo.student, trigger_type="api_send").order_by("key").first()
    Notification.objects.filter(pk=drifting.pk).update(campaign_id=987654321)
    runs = catalog_sync(project_ids=[demo.student.pk, demo.employer.pk])
    assert all(run.status == "succeeded" for run in runs), [run.errors for run in runs]
    demo.drifting = drifting
    demo.runs = runs
    return demo


@pytest.mark.parametrize("url", [RUNS, FINDINGS, GUARD, ORPHANS])
@pytest.mark.parametrize(
    ("role", "status"), [("norole", 403), ("viewer", 200), ("marketing", 200), ("engineering", 200)]
)
def test_pages_need_a_role_that_reads_the_catalog(synced, client, user_in_role, url, role, status):
    client.force_login(user_in_role(None if role == "norole" else role))
    assert client.get(url).status_code == status


@pytest.mark.parametrize("url", [RUNS, FINDINGS, GUARD, ORPHANS, START])
def test_anonymous_is_sent_to_login(db, client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(("role", "may"), [("viewer", False), ("marketing", False), ("engineering", True)])
def test_sync_now_needs_run_sync(demo, client, user_in_role, django_capture_on_commit_callbacks, role, may):
    client.force_login(user_in_role(role))
    page = client.get(RUNS).content.decode()
    assert ('id="sync-now"' in page) == may
    assert f'href="{RUNS}"' in page  # the navigation item

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(START, {"project": demo.student.pk})
    if not may:
        assert response.status_code == 403
        assert not callbacks and not SyncRun.objects.exists()
        return
    assert response.status_code == 302 and response["Location"] == RUNS
    run = SyncRun.objects.get()  # django-q runs synchronously in the tests: the task ran on commit
    assert (run.project, run.status, run.actor_label, run.trigger) == (
        demo.student,
        "succeeded",
        f"{role}-user",
        "manual",
    )
    page = client.get(RUNS).content.decode()
    assert "queued" in page and f"#{run.pk}" in page


def test_sync_now_for_every_project(demo, client, user_in_role, django_capture_on_commit_callbacks):
    client.force_login(user_in_role("engineering"))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(START, {"project": ""}).status_code == 302
    assert sorted(SyncRun.objects.values_list("project__name", "status")) == [
        ("Employer - US", "succeeded"),
        ("Student - US", "succeeded"),
    ]


@pytest.mark.parametrize("project", ["999999", "not-a-number", "99999999999999999999999"])
def test_sync_now_for_an_unknown_project_is_a_clear_error(
    db, client, user_in_role, django_capture_on_commit_callbacks, project
):
    client.force_login(user_in_role("engineering"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(START, {"project": project})
    assert response.status_code == 400
    assert "Nothing was queued" in response.content.decode()
    assert "Select a valid choice" in response.content.decode()
    assert not callbacks and not SyncRun.objects.exists()


def test_get_on_start_is_not_allowed(db, client, user_in_role):
    client.force_login(user_in_role("engineering"))
    assert client.get(START).status_code == 405


def test_run_list_and_run_page(synced, client, user_in_role):
    student_run = next(run for run in synced.runs if run.project == synced.student)
    client.force_login(user_in_role("viewer"))
    page = client.get(RUNS).content.decode()
    assert page.count('href="/sync/runs/') == 2
    assert "Template no catalog entry claims: " in page  # findings counted under their titles, in words
    assert "orphan-template" not in page and "marketing-message-type" not in page

    page = client.get(RUNS, {"project": synced.employer.pk}).content.decode()
    assert page.count('href="/sync/runs/') == 1

    page = client.get(reverse("catalog:sync_run_detail", args=[student_run.pk])).content.decode()
    assert "GET /api/templates" in page and "GET /api/journeys" in page
    assert f"?project={synced.student.pk}&amp;code=orphan-template" in page  # the link filters by the code
    assert ">Template no catalog entry claims</a>" in page
    assert "Succeeded" in page and "Started by hand" in page

    assert client.get(reverse("catalog:sync_run_detail", args=[987654])).status_code == 404


def test_failed_run_shows_the_error(db, client, user_in_role, monkeypatch):
    monkeypatch.delenv("ITERABLE_API_KEY_SYNC_UI_MISSING", raising=False)
    project = IterableProject.objects.create(name="No key", api_key_env="ITERABLE_API_KEY_SYNC_UI_MISSING")
    run = catalog_sync_project(project=project)
    assert run.status == "failed"

    client.force_login(user_in_role("viewer"))
    page = client.get(RUNS).content.decode()
    assert run.errors[0]["code"] in page and "Failed" in page
    page = client.get(reverse("catalog:sync_run_detail", args=[run.pk])).content.decode()
    assert "left as the previous run made them" in page and run.errors[0]["msg"] in page


def test_drift_on_the_notification_page(synced, client, user_in_role, django_assert_max_num_queries):
    client.force_login(user_in_role("viewer"))
    url = reverse("catalog:notification_detail", kwargs={"key": synced.drifting.key})
    with django_assert_max_num_queries(21):
        page = client.get(url).content.decode()
    assert 'id="drift"' in page and "Campaign missing" in page and "987654321" in page
    assert "campaign-missing" not in page  # the finding in words, never its code

    clean = Notification.objects.filter(project=synced.student).exclude(pk=synced.drifting.pk).first()
    page = client.get(reverse("catalog:notification_detail", kwargs={"key": clean.key})).content.decode()
    assert "found no drift for this notification" in page


def test_notification_page_costs_the_same_with_many_findings(synced, client, user_in_role):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(user_in_role("viewer"))
    url = reverse("catalog:notification_detail", kwargs={"key": synced.drifting.key})
    client.get(url)  # the first request pushes the session's idle expiry back; later ones within a minute do not
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    finding = SyncFinding.objects.get(notification=synced.drifting)
    for _ in range(30):
        finding.pk = None
        finding.save()
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()
    assert page.count("Campaign missing") == 31
    assert len(many) == len(few)


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ({}, {"campaign-missing", "marketing-message-type", "optout-marketing", "orphan-template"}),
        ({"category": "guard"}, {"marketing-message-type", "optout-marketing"}),
        ({"category": "drift"}, {"campaign-missing"}),
        ({"code": "orphan-template"}, {"orphan-template"}),
        ({"severity": "info"}, {"orphan-template"}),
        ({"severity": "error", "category": "drift"}, {"campaign-missing"}),
        (
            {"category": "nonsense"},
            {"campaign-missing", "marketing-message-type", "optout-marketing", "orphan-template"},
        ),
    ],
)
def test_findings_page_filters(synced, client, user_in_role, query, codes):
    client.force_login(user_in_role("viewer"))
    response = client.get(FINDINGS, query)
    assert response.status_code == 200
    assert {f.code for f in response.context["page"].object_list} == codes
    if query.get("category") == "nonsense":
        assert "not understood" in response.content.decode()


def test_findings_page_filters_by_project_and_notification(synced, client, user_in_role):
    client.force_login(user_in_role("viewer"))
    assert not client.get(FINDINGS, {"project": synced.employer.pk}).context["page"].object_list
    found = client.get(FINDINGS, {"notification": synced.drifting.key}).context["page"].object_list
    assert [f.code for f in found] == ["campaign-missing"]


def test_guard_in_iterable_page(synced, client, user_in_role):
    client.force_login(user_in_role("viewer"))
    page = client.get(GUARD).content.decode()
    assert f"#{FORBIDDEN} Legacy newsletter (Marketing Message)" in page
    assert "The “Marketing Message” type" in page  # the guard's codes said as on every other page
    assert "Opt-out type on a Marketing channel" in page
    assert "marketing-message-type" not in page and "optout-marketing" not in page
    assert "none in the catalog" in page
    assert f"templateId={FORBIDDEN}" in page  # deep link to the template in Iterable

    page = client.get(GUARD, {"project": synced.employer.pk}).content.decode()
    assert "No Iterable template is on a forbidden message type." in page
    assert client.get(GUARD, {"project": "999999"}).status_code == 200  # ignored, said so


def test_guard_in_iterable_names_affected_notifications(synced, client, user_in_role):
    template = Template.objects.filter(project=synced.student).first()
    Template.objects.filter(pk=template.pk).update(iterable_id=FORBIDDEN)  # a catalog entry now uses it
    catalog_sync(project_ids=[synced.student.pk])
    users = list(
        Notification.objects.filter(templates=template).exclude(status="deprecated").values_list("key", flat=True)
    )
    assert users

    client.force_login(user_in_role("viewer"))
    page = client.get(GUARD).content.decode()
    for key in users:
        assert reverse("catalog:notification_detail", kwargs={"key": key}) in page


@pytest.mark.parametrize(("role", "can_add"), [("viewer", False), ("engineering", True)])
def test_orphans_page(synced, client, user_in_role, role, can_add):
    client.force_login(user_in_role(role))
    page = client.get(ORPHANS).content.decode()
    assert "Legacy newsletter (Marketing Message)" in page
    assert (add_template_url(synced.student, FORBIDDEN) in page) == can_add
    assert "Legacy newsletter" not in client.get(ORPHANS, {"kind": "campaign"}).content.decode()
    assert "Legacy newsletter" not in client.get(ORPHANS, {"project": synced.employer.pk}).content.decode()


def test_add_template_from_an_orphan(synced, client, user_in_role):
    client.force_login(user_in_role("engineering"))
    response = client.get(add_template_url(synced.student, FORBIDDEN))
    assert response.status_code == 200
    page = response.content.decode()
    assert "guard forbids" in page  # a note from the prefill
    assert "Marketing Message" in page and "marketing-message-type" not in page  # the guard's verdict, in words
    create = reverse("catalog:entity_create", kwargs={"entity": "template"})
    assert f'action="{create}"' in page
    form = response.context["form"]
    assert form.initial["iterable_id"] == FORBIDDEN and form.initial["message_type"] is None

    # The user picks an allowed type; saving goes through the ordinary create view.
    allowed = Template.objects.filter(project=synced.student).select_related("message_type").first().message_type
    data = {k: ("" if v is None else v) for k, v in form.initial.items()} | {"message_type": allowed.pk}
    response = client.post(create, data)
    assert response.status_code == 302, response.content.decode()
    created = Template.objects.get(project=synced.student, iterable_id=FORBIDDEN)
    assert created.name == "Legacy newsletter (Marketing Message)"


def test_add_notification_from_a_campaign(synced, client, user_in_role):
    other = Notification.objects.filter(project=synced.student, trigger_type="api_send").exclude(pk=synced.drifting.pk)
    campaign_id = other.values_list("campaign_id", flat=True).first()
    client.force_login(user_in_role("engineering"))
    response = client.get(add_campaign_url(synced.student, campaign_id))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'action="{reverse("catalog:notification_create")}"' in page
    initial = response.context["form"].initial
    assert initial["campaign_id"] == campaign_id and initial["status"] == "draft"


@pytest.mark.parametrize("role", ["viewer", "marketing"])
def test_add_to_catalog_needs_the_add_permission(synced, client, user_in_role, role):
    client.force_login(user_in_role(role))
    assert client.get(add_template_url(synced.student, FORBIDDEN)).status_code == 403
    assert client.get(add_campaign_url(synced.student, 1)).status_code == 403


@pytest.mark.parametrize("iterable_id", [123, 99999999999999999999])
def test_add_to_catalog_of_an_unknown_object_is_a_clear_404(synced, client, user_in_role, iterable_id):
    client.force_login(user_in_role("engineering"))
    response = client.get(add_template_url(synced.student, iterable_id))
    assert response.status_code == 404
    assert "is not in the last sync of Student - US" in response.content.decode()
    assert client.get(add_campaign_url(synced.student, iterable_id)).status_code == 404
    missing = reverse("catalog:sync_orphan_add_template", args=[987654, FORBIDDEN])
    assert client.get(missing).status_code == 404


def test_findings_say_their_titles_in_words_and_link_to_iterable(synced, client, user_in_role):
    client.force_login(user_in_role("viewer"))
    html = client.get(FINDINGS).content.decode().replace("&quot;", '"')
    for title in [
        "Campaign missing in Iterable",
        "Template no catalog entry claims",
        "The “Marketing Message” type",
        "Opt-out type on a Marketing channel",
    ]:
        assert title in html
    for code in ["campaign-missing", "orphan-template", "marketing-message-type", "optout-marketing"]:
        assert f">{code}<" not in html and f"<code>{code}" not in html
    # The filter offers titles too (the code stays the value).
    assert '<option value="orphan-template">Template no catalog entry claims</option>' in html
    # Each finding about an object Iterable has links to it there, by its name; a missing one says so.
    assert "/templates/editor?templateId=" in html and "(opens Iterable)" in html
    assert f"Campaign #{987654321} (not in Iterable)" in html


def test_run_list_follows_a_sync_started_here_until_its_run_has_finished(demo, client, user_in_role):
    client.force_login(user_in_role("engineering"))
    page = client.get(RUNS).content.decode()
    assert "hx-trigger" not in page  # nothing running, nothing queued: the list does not poll

    # Queued but not yet picked up by a worker (the task is not run): the list asks for itself again.
    response = client.post(START, {"project": demo.student.pk}, follow=True)
    html = response.content.decode()
    assert 'id="sync-run-table" hx-get="/sync/"' in html and 'hx-trigger="every 3s"' in html
    assert "updates by itself" in html
    part = client.get(RUNS, headers={"HX-Request": "true"})
    assert part.content.decode().startswith('<div id="sync-run-table" hx-get=')
    assert "<html" not in part.content.decode() and "HX-Request" in part["Vary"]

    # The worker's run, once finished, appears in the table the page polls, and the polling stops.
    run = catalog_sync_project(project=demo.student, actor="tests")
    part = client.get(RUNS, headers={"HX-Request": "true"}).content.decode()
    assert f'href="/sync/runs/{run.pk}/"' in part and "hx-trigger" not in part
    assert "hx-trigger" not in client.get(RUNS).content.decode()


def test_a_running_run_keeps_the_list_polling(demo, client, user_in_role):
    SyncRun.objects.create(project=demo.student, started_at=timezone.now(), status="running")
    client.force_login(user_in_role("viewer"))
    assert 'hx-trigger="every 3s"' in client.get(RUNS).content.decode()


def test_sync_now_by_htmx_answers_the_polling_table_in_place(
    demo, client, user_in_role, django_capture_on_commit_callbacks
):
    client.force_login(user_in_role("engineering"))
    html = client.get(RUNS, {"status": "succeeded"}).content.decode()
    assert 'hx-post="/sync/start/?status=succeeded" hx-target="#sync-run-table"' in html
    with django_capture_on_commit_callbacks() as queued:
        part = client.post(START + "?status=succeeded", {"project": demo.student.pk}, headers={"HX-Request": "true"})
    body = part.content.decode()
    assert part.status_code == 200 and body.startswith('<div id="sync-run-table" hx-get="/sync/?status=succeeded"')
    assert "Sync of Student - US queued" in body and "<html" not in body
    assert len(queued) == 1  # the task, queued when the request commits

    with django_capture_on_commit_callbacks() as queued:
        part = client.post(START, {"project": "999999"}, headers={"HX-Request": "true"})
    assert part.status_code == 200 and "Nothing was queued" in part.content.decode()
    assert not queued
