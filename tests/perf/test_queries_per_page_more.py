"""The pages and API endpoints tests/perf/test_queries_per_page.py does not list cost at most 10 SQL queries too, and
the same number however many rows they show: jobs, their runs and rows, deletion records; test sends and recipients;
preference imports, contacts (in one project and in many), resync runs and their rows; catalog imports; live
health's alerts and days; API tokens; people; projects, channels, message types, templates, journeys, events and
their fields; owners and templates per notification; notifications per owner, template, journey and event; sync
findings, orphans and the guard's findings in Iterable. Counted as that test counts (its `counts`: a warm second
request, the body read inside the capture), at two sizes that both fill more than a page of every list.

Left out: what reads Iterable on every request (a contact lookup and its shared address, an API-send notification's
test-send form, which reads the template's placeholders), and GETs that only answer 404 or 405 (actions are POSTs).
Downloads are held apart (`downloads`): they must not grow with the rows, and the catalog export reads each kind of
object once (14 queries, whatever the catalog's size).
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from factories import UserFactory
from rest_framework.test import APIClient
from testkit.catalogs import bulk_notifications

from catalog import models
from catalog.health.models import AlertKind, EventKind, HealthAlert, HealthDaily
from catalog.resync.services.report import CHANNELS
from catalog.services.iterable_support import iterable_schema_store
from catalog.tokens.services import api_token_create
from tests.perf.test_queries_per_page import LIMIT, counts, grow


class World:
    """ui_catalog and everything the pages show, grown in steps: `grow_to(n)` brings each kind of row to n (2n
    notifications as test_queries_per_page grows them, n more on the custom event and journey; n // 10 owners and
    templates on the weekly digest)."""

    def __init__(self, c, user, other):
        self.c, self.user, self.other = c, user, other
        self.size = 0
        now = timezone.now()
        self.job = models.Job.objects.create(
            project=c.project, name="Profiles", action="update_profiles", mapping=[{"column": "a", "field": "b"}]
        )
        self.dry_run = models.JobRun.objects.create(
            job=self.job, origin="upload", actor_label="x", batch_size=100, rate_per_second=5, dry_run=True,
            status="done", started_at=now - timedelta(minutes=5), finished_at=now,
        )  # fmt: skip
        self.applied = models.JobRun.objects.create(
            job=self.job, origin="dry_run", actor_label="x", batch_size=100, rate_per_second=5, status="done",
            source_run=self.dry_run,
        )  # fmt: skip
        self.resync = models.ResyncRun.objects.create(
            project=c.project, actor_label="x", status="done", dry_run=True, selection="everyone", batch_size=100,
            rate_per_second=5, on_batch_error="stop", started_at=now - timedelta(minutes=5), finished_at=now,
        )  # fmt: skip
        self.sync = models.SyncRun.objects.create(
            project=c.project, started_at=now, finished_at=now, status="succeeded"
        )
        self.catalog_import = models.CatalogImport.objects.create(actor_label="x", fmt="json", content="{}")
        self.preference_import = models.PreferenceImport.objects.create(
            project=c.project, actor_label="x", source="api"
        )
        # Runs of an import's contacts: a dry run, and a run sent without one (its changes are looked for).
        self.import_runs = models.ResyncRun.objects.bulk_create(
            models.ResyncRun(project=c.project, actor_label="x", status="done", dry_run=dry_run, selection="import",
                             selection_detail={"import": self.preference_import.pk}, batch_size=100,
                             rate_per_second=5, on_batch_error="stop", started_at=now - timedelta(minutes=5),
                             finished_at=now)
            for dry_run in (True, False)
        )  # fmt: skip
        # List names come from Iterable and are kept a while: kept already, so no page here reads Iterable.
        lists = [{"id": 21, "name": "Beta testers"}]
        iterable_schema_store(c.project, {"channels": [], "message_types": [], "lists": lists})

    def grow_to(self, n: int) -> None:
        c, start, now = self.c, self.size, timezone.now()
        new = range(start, n)
        self.size = n
        grow(c, 2 * n)
        bulk_notifications(c, n - start, start, key="evt", status="active", event=c.event, journey=c.journey)
        owners = models.Owner.objects.bulk_create(
            models.Owner(name=f"Team {i:04d}", role="technical", email=f"t{i}@example.com") for i in new
        )
        templates = models.Template.objects.bulk_create(
            models.Template(project=c.project, iterable_id=600_000 + i, name=f"T {i}", medium="Email",
                            message_type=c.opt_in, campaign_id=700_000 + i)
            for i in new
        )  # fmt: skip
        c.digest.owners.add(*owners[: len(owners) // 10])
        c.digest.templates.add(*templates[: len(templates) // 10])
        projects = models.IterableProject.objects.bulk_create(
            models.IterableProject(name=f"Project {i:04d}", api_key_env="ITERABLE_API_KEY_X") for i in new
        )
        models.Channel.objects.bulk_create(
            models.Channel(project=c.project, iterable_id=1000 + i, name=f"Push {i}", channel_type="Transactional",
                           medium="Push")
            for i in new
        )  # fmt: skip
        models.MessageType.objects.bulk_create(
            models.MessageType(project=c.project, iterable_id=1000 + i, name=f"Type {i}", channel=c.transactional,
                               policy="OptOut")
            for i in new
        )  # fmt: skip
        models.Journey.objects.bulk_create(
            models.Journey(project=c.project, iterable_id=8000 + i, name=f"Journey {i}",
                           trigger_event_names=[c.event.name])
            for i in new
        )  # fmt: skip
        models.CustomEvent.objects.bulk_create(models.CustomEvent(project=c.project, name=f"Event {i}") for i in new)
        models.EventField.objects.bulk_create(
            models.EventField(event=c.event, name=f"field_{i}", data_type="Long", example=str(i), position=i + 2)
            for i in new
        )
        # The latest sync's findings of every kind, its orphans and guard findings named by the mirror.
        models.SyncFinding.objects.bulk_create(
            finding
            for i in new
            for finding in (
                models.SyncFinding(project=c.project, run=self.sync, category="drift", code="campaign-missing",
                                   severity="error", notification=c.receipt, message=f"m{i}"),
                models.SyncFinding(project=c.project, run=self.sync, category="orphan", code="orphan-template",
                                   severity="info", iterable_kind="template", iterable_id=900_000 + i, message="m"),
                models.SyncFinding(project=c.project, run=self.sync, category="guard", code="optout-marketing",
                                   severity="error", iterable_kind="template", iterable_id=900_000 + i,
                                   notification=c.digest, message="m"),
            )
        )  # fmt: skip
        models.SyncFinding.objects.bulk_create(
            models.SyncFinding(project=project, run=self.sync, category="guard", code="optout-marketing",
                               severity="error", iterable_kind="template", iterable_id=900_000, message="m")
            for project in projects
        )  # fmt: skip
        models.IterableMirror.objects.bulk_create(
            models.IterableMirror(project=c.project, kind="template", iterable_id=900_000 + i, name=f"Orphan {i}",
                                  payload={}, payload_hash="x", first_seen_at=now, changed_at=now)
            for i in new
        )  # fmt: skip
        # Test recipients (the reader's, another person's waiting for approval, shared ones) and test sends.
        models.ProofRecipient.objects.bulk_create(
            models.ProofRecipient(project=c.project, owner=owner, email=f"r{i}@example.com", status=status,
                                  added_by=self.other)
            for i in new
            for owner, status in ((self.user, "approved"), (self.other, "pending"), (None, "approved"))
        )  # fmt: skip
        recipient = models.ProofRecipient.objects.filter(owner=self.other).first()
        models.ProofSend.objects.bulk_create(
            models.ProofSend(actor=actor, actor_label=actor.username, project=c.project, notification=c.digest,
                             notification_key=c.digest.key, recipient=recipient, recipient_email=recipient.email,
                             mode="campaign", outcome="sent", request_body={"i": i}, response={"ok": True})
            for i in new
            for actor in (self.user, self.other)
        )  # fmt: skip
        # The preference resync: contacts here and in every other project, imports, runs, a dry run's rows.
        contacts = models.ContactPreference.objects.bulk_create(
            models.ContactPreference(project=project, email=f"p{i}@example.com", changed_at=now,
                                     changed_by_label="x", source="api", source_import=self.preference_import,
                                     subscribed_message_type_ids=[11], email_list_ids=[21],
                                     unsubscribed_channel_ids=[2], resynced_run=self.resync, resynced_at=now)
            for i, other in zip(new, projects, strict=True)
            for project in (c.project, other)
        )  # fmt: skip
        self.preference_import.contacts.add(*contacts)
        models.PreferenceImport.objects.bulk_create(
            models.PreferenceImport(project=c.project, actor_label="x", source="csv", filename=f"{i}.csv",
                                    errors=[{"line": 2, "errors": ["bad"]}])
            for i in new
        )  # fmt: skip
        change = {"subscribedMessageTypeIds": {"add": [11]}, "emailListIds": {"remove": [21]},
                  "unsubscribedChannelIds": {"set": [2]}}  # fmt: skip
        models.ResyncItem.objects.bulk_create(
            models.ResyncItem(run=run, contact=contact, status="done", outcome=outcome, diff={"arrays": change},
                              batch_no=1, processed_at=now)
            for run, outcome in zip((self.resync, *self.import_runs), ("would_change", "would_change", "changed"),
                                    strict=True)
            for contact in contacts[::2]
        )  # fmt: skip
        failed = models.ContactPreference.objects.bulk_create(
            models.ContactPreference(project=c.project, email=f"f{i}@example.com", changed_at=now,
                                     changed_by_label="x", source="api")
            for i in new
        )  # fmt: skip
        models.ResyncItem.objects.bulk_create(
            models.ResyncItem(run=run, contact=contact, status="failed", error_code=f"E{i % 7}",
                              error_message=f"reason {i % 7}", batch_no=1, processed_at=now)
            for run in (self.resync, *self.import_runs)
            for i, contact in enumerate(failed)
        )  # fmt: skip
        models.ResyncRun.objects.bulk_create(
            models.ResyncRun(project=project, actor_label="x", status="done", selection="import",
                             selection_detail={"import": self.preference_import.pk}, source_run=self.resync,
                             batch_size=100, rate_per_second=5, on_batch_error="stop", total=10)
            for project in (c.project, *projects)
        )  # fmt: skip
        # Seed jobs: one scheduled in every other project with a run each; runs, rows and deletions of this one.
        jobs = models.Job.objects.bulk_create(
            models.Job(project=project, name=f"Job {i}", action="list_add", list_id=5, schedule_cron="0 6 * * *",
                       schedule_enabled=True)
            for i, project in zip(new, projects, strict=True)
        )  # fmt: skip
        models.JobRun.objects.bulk_create(
            models.JobRun(job=job, origin="upload", actor_label="x", batch_size=100, rate_per_second=5)
            for job in [*jobs, *[self.job] * len(jobs)]
        )
        models.JobItem.objects.bulk_create(
            item
            for i in new
            for item in (
                models.JobItem(run=self.dry_run, row_no=2 * i, key=f"a{i}@example.com", status="done",
                               outcome="would_change", diff={"fields": {"firstName": ["A", "B"]}}),
                models.JobItem(run=self.dry_run, row_no=2 * i + 1, key=f"b{i}@example.com", status="failed",
                               outcome="failed", error_code="E", error_message="no"),
                models.JobItem(run=self.applied, row_no=i, key=f"a{i}@example.com", status="failed",
                               outcome="failed", error_code="E", error_message="no"),
            )
        )  # fmt: skip
        models.DeletionRecord.objects.bulk_create(
            models.DeletionRecord(project=c.project, run=self.applied, identity_hash=f"{i:064d}", deleted_at=now,
                                  requested_by_label="x", approved_by_label="y", contact=contact)
            for i, contact in zip(new, contacts[::2], strict=True)
        )  # fmt: skip
        models.CatalogImport.objects.bulk_create(
            models.CatalogImport(actor_label="x", fmt="yaml", content="a: 1", status="done", created={"owner": 1},
                                 errors=[{"location": "x", "message": "y"}])
            for i in new
        )  # fmt: skip
        # Live health: open and acknowledged alerts on the digest, open ones on other notifications; its days.
        others = models.Notification.objects.filter(key__startswith="bulk_").order_by("key")[start:n]
        HealthAlert.objects.bulk_create(
            HealthAlert(project=c.project, notification=notification, kind=AlertKind.BOUNCE_SPIKE,
                        dedupe_key=f"{key}{i}", message="m", first_seen_at=now, last_seen_at=now,
                        acknowledged_at=acknowledged)
            for i, other in zip(new, others, strict=True)
            for key, notification, acknowledged in (("d", c.digest, None), ("o", other, None), ("a", c.digest, now))
        )  # fmt: skip
        today = timezone.localdate()
        HealthDaily.objects.bulk_create(
            HealthDaily(project=c.project, bucket=f"n:{c.digest.pk}", notification=c.digest,
                        day=today - timedelta(days=i), kind=kind, count=i + 1, webhook_count=i + 1, last_at=now)
            for i in new
            for kind in (EventKind.SEND, EventKind.OPEN)
        )  # fmt: skip
        for i in new:
            api_token_create(actor=self.user, user=self.user, name=f"script {i}")
        people = [UserFactory(username=f"person{i:04d}", email=f"person{i}@example.com") for i in new]
        Group.objects.get(name="viewer").user_set.add(*people)


def entity(view: str, **kwargs) -> str:
    return reverse(f"catalog:entity_{view}", kwargs=kwargs)


def pages(w: World) -> list[str]:
    c = w.c
    return [
        # The core: every kind's list and page, forms, the delete confirmation; notifications on its other pages.
        *(
            entity("list", entity=e)
            for e in ["iterableproject", "channel", "messagetype", "template", "journey", "customevent", "eventfield"]
        ),
        *(
            entity("detail", entity=e, pk=pk)
            for e, pk in [
                ("iterableproject", c.project.pk),
                ("channel", c.marketing.pk),
                ("messagetype", c.opt_in.pk),
                ("template", c.template.pk),
                ("journey", c.journey.pk),
                ("customevent", c.event.pk),
                ("eventfield", c.field.pk),
                ("owner", c.owner.pk),
            ]
        ),
        *(entity("create", entity=e) for e in ["template", "messagetype", "eventfield"]),
        entity("edit", entity="template", pk=c.template.pk),
        entity("delete", entity="owner", pk=c.owner.pk),
        reverse("catalog:notification_create"),
        reverse("catalog:notification_edit", kwargs={"key": c.digest.key}),
        reverse("catalog:notification_delete", kwargs={"key": c.digest.key}),
        # Pages the other test lists, with these rows grown too: the digest has many owners, templates, test
        # sends, alerts, days of live health, and guard findings in Iterable.
        reverse("catalog:home"),
        reverse("catalog:notification_list"),
        reverse("catalog:notification_detail", kwargs={"key": c.digest.key}),
        reverse("catalog:notification_detail", kwargs={"key": c.onboarding.key}),  # with its event's fields
        # Import.
        reverse("catalog:catalog_import"),
        reverse("catalog:catalog_import_detail", kwargs={"pk": w.catalog_import.pk}),
        # Test sends (the form of a custom-event notification; an API send's form reads Iterable, so it is left out).
        reverse("catalog:proof_send", kwargs={"key": c.onboarding.key}),
        reverse("catalog:proof_send_list"),
        reverse("catalog:proof_send_list") + f"?mine=1&notification={c.digest.key}",
        reverse("catalog:proof_send_detail", kwargs={"pk": models.ProofSend.objects.first().pk}),
        reverse("catalog:proof_send_preview_frame", kwargs={"token": "expired"}),
        reverse("catalog:proof_recipient_list"),
        reverse("catalog:contact_lookup"),
        # Sync.
        reverse("catalog:sync_run_detail", kwargs={"pk": w.sync.pk}),
        reverse("catalog:sync_iterable_guard"),
        reverse("catalog:sync_orphan_list"),
        reverse("catalog:sync_orphan_add_template", kwargs={"project": c.project.pk, "iterable_id": 900_000}),
        # Preference resync.
        reverse("catalog:resync_start"),
        reverse("catalog:resync_run", kwargs={"pk": w.resync.pk}),
        *(reverse("catalog:resync_run", kwargs={"pk": run.pk}) for run in w.import_runs),
        reverse("catalog:resync_run_apply", kwargs={"pk": w.resync.pk}),
        reverse("catalog:resync_run_progress", kwargs={"pk": w.resync.pk}),
        reverse("catalog:resync_imports"),
        reverse("catalog:resync_import", kwargs={"pk": w.preference_import.pk}),
        reverse("catalog:resync_contacts") + f"?project={c.project.pk}",
        reverse("catalog:resync_contacts"),
        reverse("catalog:resync_settings_list"),
        reverse("catalog:resync_settings", kwargs={"project_pk": c.project.pk}),
        # Seed jobs.
        reverse("catalog:job_list"),
        reverse("catalog:job_create"),
        reverse("catalog:job_detail", kwargs={"pk": w.job.pk}),
        reverse("catalog:job_edit", kwargs={"pk": w.job.pk}),
        reverse("catalog:job_run", kwargs={"pk": w.dry_run.pk}),
        reverse("catalog:job_run", kwargs={"pk": w.applied.pk}),
        reverse("catalog:job_run_progress", kwargs={"pk": w.dry_run.pk}),
        reverse("catalog:job_deletions"),
        reverse("catalog:job_cron_preview") + "?schedule_cron=0+6+*+*+1-5",
        # People, and the token page (a page under /api/).
        reverse("catalog:people_list"),
        reverse("api:tokens"),
    ]


def api(w: World) -> list[str]:
    c = w.c
    return [
        "/api/",
        *(
            f"/api/{kind}/?limit=1000"
            for kind in [
                "message-types",
                "channels",
                "templates",
                "journeys",
                "custom-events",
                "event-fields",
                "owners",
                "projects",
                "violations",
            ]
        ),
        f"/api/message-types/{c.opt_in.pk}/",
        f"/api/channels/{c.marketing.pk}/",
        f"/api/templates/{c.template.pk}/",
        f"/api/journeys/{c.journey.pk}/",
        f"/api/custom-events/{c.event.pk}/",
        f"/api/event-fields/{c.field.pk}/",
        f"/api/owners/{c.owner.pk}/",
        f"/api/projects/{c.project.pk}/",
        f"/api/notifications/{c.digest.key}/",
        f"/api/violations/{c.digest.pk}/",
        f"/api/audit-events/{models.AuditEvent.objects.first().pk}/",
        f"/api/sync/runs/{w.sync.pk}/",
        "/api/sync/findings/?limit=1000",
        f"/api/sync/findings/{models.SyncFinding.objects.first().pk}/",
        "/api/sync/orphans/?limit=1000",
        f"/api/sync/orphans/prefill/?project={c.project.pk}&kind=template&iterable_id=900000",
        "/api/sync/iterable-violations/?limit=1000",
        "/api/test-recipients/?limit=1000",
        f"/api/test-recipients/{models.ProofRecipient.objects.filter(owner=w.user).first().pk}/",
        "/api/test-sends/?limit=1000",
        f"/api/test-sends/{models.ProofSend.objects.first().pk}/",
        "/api/resync/imports/?limit=1000",
        f"/api/resync/imports/{w.preference_import.pk}/",
        "/api/resync/contacts/?limit=1000",
        "/api/resync/runs/?limit=1000",
        f"/api/resync/runs/{w.resync.pk}/",
        f"/api/resync/runs/{w.resync.pk}/failures/?limit=1000",
        f"/api/resync/runs/{w.resync.pk}/report/?samples=500",
        f"/api/resync/settings/{c.project.pk}/",
        "/api/jobs/?limit=1000",
        f"/api/jobs/{w.job.pk}/",
        "/api/jobs/runs/?limit=1000",
        f"/api/jobs/runs/{w.dry_run.pk}/",
        f"/api/jobs/runs/{w.dry_run.pk}/changes/",
        f"/api/jobs/runs/{w.dry_run.pk}/failures/?limit=1000",
        "/api/jobs/deletions/?limit=1000",
        f"/api/health/notifications/{c.digest.key}/?days=90",
        "/api/health/alerts/?limit=1000",
        "/api/health/alerts/?open=true",
    ]


@pytest.fixture
def world(ui_catalog, user_in_role):
    return World(ui_catalog, user_in_role("admin"), user_in_role("marketing"))


@pytest.fixture
def readers(world):
    """The admin (who sees every page) signed in, and with an API token."""
    page_client = Client()
    page_client.force_login(world.user)
    api_client = APIClient()
    _, token = api_token_create(actor=world.user, user=world.user, name="query counts")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return page_client, api_client


def measure(readers, limits: dict[str, int]) -> dict[str, int]:
    page_client, api_client = readers
    api_urls = [url for url in limits if url.startswith("/api/") and url != reverse("api:tokens")]
    page_urls = [url for url in limits if url not in api_urls]
    # The pages client for every page, the token page under /api/ included: it is read signed in.
    return counts(page_client, page_client, page_urls) | counts(page_client, api_client, api_urls)


@pytest.mark.django_db
def test_every_other_page_costs_at_most_ten_queries_whatever_the_rows(world, readers):
    world.grow_to(60)
    limits = dict.fromkeys(pages(world) + api(world), LIMIT)
    few = measure(readers, limits)
    world.grow_to(150)
    many = measure(readers, limits)

    over = {url: n for url, n in many.items() if n > limits[url]}
    grows = {url: (few[url], many[url]) for url in many if few[url] != many[url]}
    assert not over, f"more queries than allowed: {over}"
    assert not grows, f"queries grow with the rows: {grows}"


def downloads(w: World) -> list[str]:
    return [
        reverse("catalog:notification_csv"),
        reverse("catalog:resync_run", kwargs={"pk": w.resync.pk}) + "?download=csv",
        reverse("catalog:catalog_export") + "?format=json",
        reverse("catalog:catalog_export") + "?format=yaml",
    ]


def download_counts(client: Client, urls: list[str]) -> dict[str, int]:
    found = {}
    for url in urls:
        b"".join(client.get(url).streaming_content)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            b"".join(response.streaming_content)
        assert response.status_code == 200, url
        found[url] = len(queries)
    return found


@pytest.mark.django_db
def test_downloads_cost_the_same_whatever_the_rows(world, readers):
    """Downloads read their rows in batches (500 or 2,000 rows): both sizes fit in one, so nothing else may grow.
    The catalog's export reads each kind of object once (nine kinds, and the notifications' templates and owners)."""
    page_client, _ = readers
    urls = downloads(world)
    world.grow_to(60)
    few = download_counts(page_client, urls)
    world.grow_to(150)
    many = download_counts(page_client, urls)

    export = reverse("catalog:catalog_export")
    over = {url: n for url, n in many.items() if n > (14 if url.startswith(export) else LIMIT)}
    grows = {url: (few[url], many[url]) for url in urls if few[url] != many[url]}
    assert not over, f"more queries than allowed: {over}"
    assert not grows, f"queries grow with the rows: {grows}"


def cells(html: str, *texts: str) -> list[str]:
    """The table cells of the one row that holds every one of `texts`."""
    rows = [row for row in html.split("<tr")[1:] if all(text in row for text in texts)]
    assert len(rows) == 1, (texts, len(rows))
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", rows[0], re.S)]


@pytest.mark.django_db
def test_pages_that_read_many_projects_at_once_say_what_each_project_says(world, readers):
    """The pages that read every project's names, settings or findings in one query name each row from its own
    project: the catalog's names where it has them, the words for an unknown id where it does not."""
    page_client, api_client = readers
    c = world.c
    world.grow_to(3)
    other = models.IterableProject.objects.get(name="Project 0001")
    models.ResyncSettings.objects.update_or_create(project=c.project, defaults={"scope": {CHANNELS: [2]}})
    models.ResyncSettings.objects.update_or_create(project=other, defaults={"scope": {CHANNELS: [2]}})

    # Contacts of several projects on one page: each in its own project's names (lists from what is kept).
    html = page_client.get(reverse("catalog:resync_contacts")).content.decode()
    assert cells(html, "p1@example.com", ">Test project<")[2:6] == [
        "Transactional Channel", "—", "GitLab Marketing", "Beta testers",
    ]  # fmt: skip
    assert cells(html, "p1@example.com", ">Project 0001<")[2:6] == [
        "Channel 2 (not in the catalog)", "—", "Message type 11 (not in the catalog)", "List 21",
    ]  # fmt: skip
    # Every project's settings, in its own names.
    html = page_client.get(reverse("catalog:resync_settings_list")).content.decode()
    assert cells(html, ">Test project<")[1] == "Unsubscribed channels: Transactional Channel"
    assert cells(html, ">Project 0001<")[1] == "Unsubscribed channels: Channel 2 (not in the catalog)"
    assert cells(html, ">Project 0002<")[1] == "nothing (the resync writes nothing)"
    # The guard's findings in Iterable, one row per project's template, with the notifications each affects.
    found = api_client.get("/api/sync/iterable-violations/?limit=1000").json()["results"]
    by_project = {(row["project_name"], row["template_id"]): row for row in found}
    assert sorted(by_project) == sorted(
        [("Test project", 900_000 + i) for i in range(3)] + [(f"Project {i:04d}", 900_000) for i in range(3)]
    )
    assert by_project[("Test project", 900_000)]["notifications"] == [c.digest.key]
    assert by_project[("Test project", 900_000)]["template_name"] == "Orphan 0"
    assert by_project[("Project 0001", 900_000)]["notifications"] == []
    html = page_client.get(reverse("catalog:sync_iterable_guard")).content.decode()
    assert "6 in all." in html
    # Who added each test recipient, read with it.
    recipients = api_client.get("/api/test-recipients/?limit=1000").json()["results"]
    assert {r["added_by"] for r in recipients} == {world.other.username}
