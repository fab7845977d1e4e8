"""Home answers the morning questions: what is forbidden or drifting, how last night's syncs and resyncs went,
what was test-sent, what changed and by whom; each number links to the filtered list, and each role sees only
what it may open."""

import json
import re
from html import unescape

import pytest
from django.urls import reverse

from catalog import models
from catalog.dashboard import selectors

HOME = reverse("catalog:home")
NOTIFICATIONS = reverse("catalog:notification_list")


def _text(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _glance(response) -> str:
    html = response.content.decode()
    return html[html.index('id="glance"') : html.index("</ul>", html.index('id="glance"'))]


def _chart(response, name: str) -> dict:
    found = re.search(rf'<script id="chart-{name}" type="application/json">(.*?)</script>', response.content.decode())
    assert found, f"no data for the {name} chart"
    return json.loads(found.group(1))


def test_the_tiles_count_and_link_to_the_filtered_lists(morning, client_in_role):
    response = client_in_role("engineering").get(HOME)
    assert response.status_code == 200
    glance = _glance(response)
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", glance)))
    # Drift: two findings about two notifications; one forbidden template in Iterable; one orphan.
    assert "2 drifting from Iterable" in text and "2 findings" in text
    assert "1 forbidden in Iterable" in text
    assert "1 in Iterable, not in the catalog" in text
    # receipt and lonely_alert have no owner; only weekly_digest was accepted by Iterable in 30 days.
    assert "2 without an owner" in text
    assert f"{models.Notification.objects.count() - 1} not test-sent in 30 days" in text
    assert "1 resync stopped on error" in text and "1 resync queued or running" in text
    for link in [
        f"{NOTIFICATIONS}?verdict=error",
        f"{NOTIFICATIONS}?verdict=warning",
        f"{NOTIFICATIONS}?drift=1",
        f"{NOTIFICATIONS}?owner=none",
        f"{NOTIFICATIONS}?untested_days=30",
        reverse("catalog:sync_iterable_guard"),
        reverse("catalog:sync_orphan_list"),
        reverse("catalog:sync_finding_list") + "?category=drift",
        reverse("catalog:resync_runs") + "?status=failed",
        reverse("catalog:resync_runs") + "?status=running",
    ]:
        assert f'href="{link}"' in glance, link


def test_the_last_sync_of_each_project_says_how_it_went(morning, client_in_role):
    response = client_in_role("viewer").get(HOME)
    html = response.content.decode()
    table = html[html.index('id="last-syncs"') : html.index("</table>", html.index('id="last-syncs"'))]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    by_project = {re.search(r'<th scope="row"><a [^>]*>([^<]+)</a>', r).group(1): r for r in rows[1:]}
    assert set(by_project) == {"Test project", "Employer project"}
    assert "Succeeded" in by_project["Test project"]
    assert reverse("catalog:sync_run_detail", args=[morning.synced.pk]) in by_project["Test project"]
    failed = by_project["Employer project"]
    assert "Failed" in failed and "The API key was refused" in failed
    assert "never" in failed  # Iterable never read successfully for that project


def test_test_sends_and_resyncs_are_listed_for_those_who_may_open_them(morning, client_in_role):
    engineering = client_in_role("engineering").get(HOME).content.decode()
    assert reverse("catalog:proof_send_detail", args=[morning.sent.pk]) in engineering
    assert "Sent (accepted by Iterable)" in engineering
    assert reverse("catalog:resync_run", args=[morning.running.pk]) in engineering
    assert reverse("catalog:resync_run", args=[morning.stopped.pk]) in engineering
    assert "Iterable refused the batch" in engineering
    # A finished resync is no news on the home page.
    assert reverse("catalog:resync_run", args=[morning.done.pk]) not in engineering

    viewer = client_in_role("viewer").get(HOME)
    html = viewer.content.decode()
    assert 'id="recent-sends"' not in html and 'id="chart-sends"' not in html
    assert 'id="resync-runs"' not in html and 'id="chart-resyncs"' not in html
    assert "?status=failed" in html  # the failed syncs link stays: viewers may see sync runs
    assert reverse("catalog:resync_runs") not in html


def test_marketing_sees_test_sends_but_not_resyncs(morning, client_in_role):
    html = client_in_role("marketing").get(HOME).content.decode()
    assert 'id="recent-sends"' in html and 'id="chart-sends"' in html
    assert 'id="resync-runs"' not in html


def test_no_role_no_home(morning, client_in_role):
    assert client_in_role(None).get(HOME).status_code == 403


def test_the_charts_carry_their_numbers_and_a_text_alternative(morning, client_in_role):
    response = client_in_role("engineering").get(HOME)
    verdicts = _chart(response, "verdicts")
    assert verdicts["type"] == "doughnut"
    rows = list(models.Notification.objects.all())
    # Test project was synced half an hour ago: none of its notifications is "not checked".
    assert verdicts["datasets"][0]["data"] == [
        sum(n.verdict_errors > 0 for n in rows),
        sum(n.verdict_errors == 0 and n.verdict_warnings > 0 for n in rows),
        0,
        sum(n.verdict_errors == 0 and n.verdict_warnings == 0 for n in rows),
    ]
    findings = _chart(response, "findings")
    assert len(findings["labels"]) == 30
    guard, drift, orphan = (d["data"] for d in findings["datasets"])
    # Today: the latest run's counts; three days ago: the older run's one drift finding, carried to the next days.
    assert (guard[-1], drift[-1], orphan[-1]) == (1, 2, 1)
    assert (guard[-4], drift[-4], orphan[-4]) == (0, 1, 0)
    assert guard[0] is None  # before any sync in the window: no value, not zero
    sends = _chart(response, "sends")
    assert [sum(d["data"]) for d in sends["datasets"]] == [1, 1, 0]
    resyncs = _chart(response, "resyncs")
    assert sum(sum(d["data"]) for d in resyncs["datasets"]) == 3
    html = response.content.decode()
    for table in ("findings-days", "resync-days", "send-days"):
        assert f'id="{table}"' in html
    assert 'id="verdicts-text"' in html
    # Every canvas has its data on the page.
    for source in re.findall(r'data-dashboard-chart="([^"]+)"', html):
        assert f'<script id="{source}" type="application/json">' in html


def test_a_project_not_checked_lately_counts_as_not_checked_like_the_list(morning, client_in_role):
    models.SyncRun.objects.filter(project=morning.project).delete()
    response = client_in_role("viewer").get(HOME)
    glance = _glance(response)
    unjudged = models.Notification.objects.filter(project=morning.project, verdict_errors=0).count()
    assert f"{NOTIFICATIONS}?verdict=not-checked" in glance
    assert f"{unjudged} not checked in Iterable lately" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", glance))
    assert _chart(response, "verdicts")["datasets"][0]["data"][1:3] == [0, unjudged]
    assert "Test project: Not checked in Iterable yet" in _text(response)


def test_no_code_or_api_name_on_the_page(morning, client_in_role):
    text = _text(client_in_role("admin").get(HOME))
    for word in ["optout-marketing", "campaign-missing", "in_sync", "subscribedMessageTypeIds", "orphan-template"]:
        assert word not in text


def test_recent_activity_is_in_words(morning, client_in_role):
    from catalog.audit.services import audit_event

    audit_event(
        actor="supervisor",
        action="proof_send",
        object_type="notification",
        object_id=str(morning.digest.pk),
        object_repr="weekly_digest",
        changes={"attempt": morning.sent.pk, "outcome": "unknown", "reason": "pending past its deadline"},
    )
    text = _text(client_in_role("engineering").get(HOME))
    assert "Test send notification weekly_digest" in text
    assert "Outcome Unknown (no answer in time)" in text


def test_a_catalog_without_projects_or_runs_still_answers(small_catalog, client_in_role):
    models.SyncFinding.objects.all().delete()
    models.SyncRun.objects.all().delete()
    models.IterableProject.objects.filter(notifications__isnull=True).delete()
    response = client_in_role("admin").get(HOME)
    assert response.status_code == 200
    text = _text(response)
    assert "Never synced" in text
    assert "No test sends yet." in text


@pytest.mark.django_db
def test_the_digest_is_cleared_when_a_sync_run_is_written(morning):
    first = selectors.home_digest()
    assert selectors.home_digest() is not None
    from tests.dashboard.conftest import sync_run

    sync_run(morning.other, ago=selectors.timedelta(minutes=1))
    again = selectors.home_digest()
    other = next(p for p in again["projects"] if p["name"] == "Employer project")
    assert other["run"]["status"] == "succeeded"
    assert first is not again


def test_the_first_notifications_with_guard_errors_say_what_is_wrong(morning, client_in_role):
    models.SyncFinding.objects.create(
        project=morning.project,
        run=morning.synced,
        category="guard",
        code="marketing-message-type",
        severity="error",
        notification=morning.digest,
        iterable_kind="template",
        iterable_id=501,
        message="Its template is on the Marketing Message type in Iterable.",
    )
    models.Notification.objects.filter(pk=morning.digest.pk).update(verdict_errors=1)
    response = client_in_role("viewer").get(HOME)
    html = response.content.decode()
    flagged = html[html.index('class="flagged"') : html.index("</ul>", html.index('class="flagged"'))]
    assert reverse("catalog:notification_detail", kwargs={"key": "weekly_digest"}) in flagged
    assert "Its template is on the Marketing Message type in Iterable." in flagged
    assert "in Iterable" in flagged and "marketing-message-type" not in flagged
    assert "1 with guard errors" in _text(response)


def test_a_test_send_of_a_deleted_notification_does_not_hide_the_untested(morning, client_in_role):
    from tests.dashboard.conftest import proof_send

    gone = proof_send(morning.unowned, outcome=models.ProofOutcome.SENT)
    models.ProofSend.objects.filter(pk=gone.pk).update(notification=None)
    digest = selectors.home_digest_built()
    # SQL's NOT IN over a list holding NULL matches nothing: the deleted notification's send must not count.
    assert digest["untested"] == models.Notification.objects.count() - 1
    assert digest["no_owner"] == 2


def test_recent_activity_is_brief_and_links_to_the_rest(morning, client_in_role):
    from factories import NotificationFactory

    from catalog.services.catalog import catalog_object_save

    draft = NotificationFactory.build(key="brief_one", name="Brief one", message_type=morning.opt_in, tags=["a", "b"])
    catalog_object_save(actor="erin", instance=draft)
    event = models.AuditEvent.objects.get(action="create", object_repr="brief_one")
    shown = len(event.words.lines)
    assert shown > 3
    html = client_in_role("engineering").get(HOME).content.decode()
    row = html[html.index("brief_one") :]
    row = row[: row.index("</tr>")]
    assert row.count("<dt>") == 3
    assert f"and {shown - 3} more" in row
    assert f"?object_type=notification&amp;object={event.object_id}" in row
