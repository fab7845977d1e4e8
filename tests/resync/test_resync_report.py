"""A resync's results in names: the changes by channel, message type and list name, outcomes in words, the full
CSV download (formula cells escaped), the confirmation before apply, what a finished apply changed, the live part
of the run page, and who may see any of it. Against the resync emulator over loopback."""

import csv
import io

import pytest
from _resync_seed import PROJECT_ID
from django.urls import reverse

from catalog.models import Channel, ResyncRun
from catalog.resync.services.ingest import preference_upsert
from catalog.resync.services.process import resync_process
from catalog.resync.services.report import resync_change_summary, resync_outcomes
from catalog.resync.services.runs import resync_apply, resync_start

WRITE = "POST /api/users/bulkUpdateSubscriptions"
API_NAMES = ["unsubscribedChannelIds", "unsubscribedMessageTypeIds", "subscribedMessageTypeIds", "emailListIds"]
RAW_OUTCOMES = ["in_sync", "would_change", "nothing_in_scope", ":add", ":remove"]
ROWS = [
    # Ada: unsubscribes from Marketing Push (3), opts into Newsletter (11), joins Beta (21).
    {"email": "ada@example.com", "unsubscribed_channel_ids": [3], "subscribed_message_type_ids": [11],
     "email_list_ids": [21]},
    # Bob already has exactly this: already in step.
    {"email": "bob@example.com", "subscribed_message_type_ids": [11]},
    # Cy is new to Iterable: unsubscribed from Marketing Email (1), on Webinar (22).
    {"email": "cy@example.com", "unsubscribed_channel_ids": [1], "email_list_ids": [22]},
]  # fmt: skip


def run_to_end(run: ResyncRun) -> ResyncRun:
    assert resync_process(run_id=run.pk, slice_seconds=60) == "done"
    run.refresh_from_db()
    return run


@pytest.fixture
def dry(project):
    record = preference_upsert(project=project, actor="tests", rows=ROWS)
    assert record.rejected == 0, record.errors
    return run_to_end(resync_start(project=project, actor="tests", everyone=True, dry_run=True).run)


@pytest.fixture
def engineer(client_in_role):
    return client_in_role("engineering")


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_dry_runs_changes_are_counted_by_name(dry):
    summary = resync_change_summary(run=dry)
    assert summary.contacts == 2
    rows = {(r.phrase, r.name, r.channel): r.contacts for r in summary.rows}
    assert rows == {
        ("Unsubscribes from channel", "Marketing Push", "Marketing Push"): 1,
        ("Unsubscribes from channel", "Marketing Email", "Marketing Email"): 1,
        ("Subscribes to", "Newsletter", "Marketing Email"): 1,
        ("Joins list", "Beta", ""): 1,
        ("Joins list", "Webinar", ""): 1,
    }
    ada = next(s for s in summary.samples if s["email"] == "ada@example.com")
    assert ada["lines"] == [
        ("Unsubscribes from channel", ["Marketing Push"]),
        ("Subscribes to", ["Newsletter"]),
        ("Joins list", ["Beta"]),
        # Push promos (14) is not the truth's: kept although its channel is now unsubscribed.
        ("Left subscribed on an unsubscribed channel (outside the settings)", ["Push promos"]),
    ]
    outcomes = {
        o.label: o.count for o in resync_outcomes({"outcomes": {"would_change": 2, "in_sync": 1}, "pending": 0})
    }
    assert outcomes == {"Would change": 2, "Already in step": 1}


def test_the_run_page_says_it_in_names_and_words(dry, engineer):
    html = engineer.get(reverse("catalog:resync_run", args=[dry.pk])).content.decode()
    assert "What applying would change" in html
    assert "Unsubscribes from channel: Marketing Push · Subscribes to: Newsletter · Joins list: Beta" in html
    assert "<dt>Already in step</dt><dd>1</dd>" in html and "<dt>Would change</dt><dd>2</dd>" in html
    assert '<rect class="part-changed"' in html and '<rect class="part-in-step"' in html  # the stacked bar
    assert f'href="{reverse("catalog:resync_run", args=[dry.pk])}?download=csv"' in html
    assert [name for name in API_NAMES + RAW_OUTCOMES if name in html] == []
    assert "hx-trigger" not in html  # finished: nothing polls


def test_the_csv_lists_every_change_by_name_beyond_the_first_rows(project, engineer):
    rows = [{"email": f"person{n:02}@example.com", "email_list_ids": [21, 22]} for n in range(25)]
    preference_upsert(project=project, actor="tests", rows=rows)
    dry = run_to_end(resync_start(project=project, actor="tests", everyone=True, dry_run=True).run)
    page = engineer.get(reverse("catalog:resync_run", args=[dry.pk])).content.decode()
    assert "The first 20 contacts" in page and "The other 5 are in the download." in page
    shown = {f"person{n:02}@example.com" for n in range(25) if f"person{n:02}@example.com" in page}
    assert shown == {f"person{n:02}@example.com" for n in range(20)}  # the first ones, in the order they came

    response = engineer.get(reverse("catalog:resync_run", args=[dry.pk]), {"download": "csv"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="dry-run-{dry.pk}-changes.csv"'
    header, *lines = csv_rows(response)
    assert header == ["Contact", "Result", "Change", "Name", "Channel", "Iterable id"]
    assert len(lines) == 50  # 25 contacts x 2 lists
    assert ["person24@example.com", "Would change", "Joins list", "Webinar", "", "22"] in lines
    assert {line[0] for line in lines} == {f"person{n:02}@example.com" for n in range(25)}


def test_the_csv_escapes_cells_a_spreadsheet_would_run(project, engineer):
    Channel.objects.filter(project=project, iterable_id=3).update(name='=HYPERLINK("http://evil")')
    preference_upsert(
        project=project, actor="tests", rows=[{"email": "ada@example.com", "unsubscribed_channel_ids": [3]}]
    )
    dry = run_to_end(resync_start(project=project, actor="tests", everyone=True, dry_run=True).run)
    _, *lines = csv_rows(engineer.get(reverse("catalog:resync_run", args=[dry.pk]), {"download": "csv"}))
    names = [line[3] for line in lines]
    assert '\'=HYPERLINK("http://evil")' in names
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)


def test_apply_asks_first_and_refuses_a_post_without_confirmation(dry, engineer, emulator):
    url = reverse("catalog:resync_run_apply", args=[dry.pk])
    run_page = engineer.get(reverse("catalog:resync_run", args=[dry.pk])).content.decode()
    assert f'href="{url}"' in run_page  # "Apply" opens the confirmation, it does not post

    confirm = engineer.get(url)
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert "2 contacts would change; 1 already in step." in html
    assert "<td>Subscribes to</td><td>Newsletter</td><td>Marketing Email</td>" in html  # per type and channel
    assert "ada@example.com" in html and "?download=csv" in html  # the first rows and the download
    assert 'name="confirm" value="yes"' in html
    assert not any(name in html for name in API_NAMES)

    for body in [{}, {"confirm": "no"}, {"confirm": ""}]:
        refused = engineer.post(url, body)
        assert refused.status_code == 400 and "Nothing was applied" in refused.content.decode()
    assert ResyncRun.objects.count() == 1 and emulator.requests(path=WRITE) == []

    response = engineer.post(url, {"confirm": "yes"})
    applied = ResyncRun.objects.exclude(pk=dry.pk).get()
    assert response["Location"] == reverse("catalog:resync_run", args=[applied.pk])
    assert applied.source_run_id == dry.pk and not applied.dry_run


def test_a_finished_apply_shows_what_it_changed_with_the_download(dry, engineer):
    applied = run_to_end(resync_apply(run=dry, actor="tests"))
    html = engineer.get(reverse("catalog:resync_run", args=[applied.pk])).content.decode()
    assert "What this resync changed" in html
    assert "2 contacts changed" in html and "<dt>Created in Iterable and updated</dt><dd>1</dd>" in html
    assert "Unsubscribes from channel: Marketing Email · Joins list: Webinar" in html  # Cy, by name
    assert not any(name in html for name in API_NAMES + RAW_OUTCOMES)
    _, *lines = csv_rows(engineer.get(reverse("catalog:resync_run", args=[applied.pk]), {"download": "csv"}))
    assert ["cy@example.com", "Changed", "Joins list", "Webinar", "", "22"] in lines
    # The confirmation of a dry run already applied says so.
    again = engineer.get(reverse("catalog:resync_run_apply", args=[dry.pk])).content.decode()
    assert "already applied by" in again and f"resync #{applied.pk}" in again


def test_a_run_without_a_dry_run_shows_and_downloads_what_it_changed_by_name(project, engineer):
    preference_upsert(project=project, actor="tests", rows=ROWS)
    real = run_to_end(resync_start(project=project, actor="tests", everyone=True, dry_run=False).run)
    assert not real.dry_run and real.source_run_id is None
    html = engineer.get(reverse("catalog:resync_run", args=[real.pk])).content.decode()
    assert "What this resync changed" in html and "2 contacts changed" in html
    assert "Unsubscribes from channel: Marketing Email · Joins list: Webinar" in html  # Cy, created, by name
    assert "Subscribes to: Newsletter" in html  # Ada, updated, by name
    assert not any(name in html for name in API_NAMES + RAW_OUTCOMES)
    _, *lines = csv_rows(engineer.get(reverse("catalog:resync_run", args=[real.pk]), {"download": "csv"}))
    assert ["cy@example.com", "Changed", "Joins list", "Webinar", "", "22"] in lines
    assert ["ada@example.com", "Changed", "Subscribes to", "Newsletter", "Marketing Email", "11"] in lines
    assert "bob@example.com" not in {line[0] for line in lines}  # already in step: nothing to list


def test_an_apply_of_something_else_is_refused_with_a_sentence(dry, engineer):
    running = resync_start(project=dry.project, actor="tests", emails=["ada@example.com"]).run
    url = reverse("catalog:resync_run_apply", args=[running.pk])
    for method, body in [("get", {}), ("post", {"confirm": "yes"})]:
        response = getattr(engineer, method)(url, body)
        assert response.status_code == 302
        assert "Only a dry run can be applied." in engineer.get(response["Location"]).content.decode()
    assert engineer.post(reverse("catalog:resync_run_cancel", args=[running.pk])).status_code == 302
    assert engineer.get(reverse("catalog:resync_run_cancel", args=[running.pk])).status_code == 405


def test_a_running_run_polls_its_live_part_and_stops_when_finished(project, engineer):
    preference_upsert(project=project, actor="tests", rows=ROWS)
    run = resync_start(project=project, actor="tests", emails=["ada@example.com", "cy@example.com"]).run
    url = reverse("catalog:resync_run", args=[run.pk])
    html = engineer.get(url).content.decode()
    assert f'id="run-live" class="run-live" hx-get="{url}" hx-trigger="every 2s" hx-swap="outerHTML"' in html
    assert "<dt>Waiting to be checked</dt><dd>2</dd>" in html
    part = engineer.get(url, headers={"HX-Request": "true"})
    assert part.content.decode().startswith('<div id="run-live"') and "<html" not in part.content.decode()
    assert "HX-Request" in part["Vary"] and "no-cache" in part["Cache-Control"]
    run_to_end(run)
    part = engineer.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in part and "<dt>Created in Iterable and updated</dt><dd>1</dd>" in part


def test_the_run_list_polls_while_a_run_is_active(project, engineer):
    preference_upsert(project=project, actor="tests", rows=ROWS[:1])
    run = resync_start(project=project, actor="tests", emails=["ada@example.com"]).run
    runs = reverse("catalog:resync_runs")
    assert 'hx-trigger="every 3s"' in engineer.get(runs).content.decode()
    part = engineer.get(runs, headers={"HX-Request": "true"}).content.decode()
    assert part.startswith('<div id="run-table"') and f"#{run.pk}" in part
    run_to_end(run)
    assert "hx-trigger" not in engineer.get(runs).content.decode()


@pytest.mark.parametrize("role, expected", [("viewer", 403), ("marketing", 403), ("engineering", 200)])
def test_results_downloads_and_the_confirmation_need_the_resync_role(dry, client_in_role, role, expected):
    client = client_in_role(role)
    run_url = reverse("catalog:resync_run", args=[dry.pk])
    apply_url = reverse("catalog:resync_run_apply", args=[dry.pk])
    assert client.get(run_url, {"download": "csv"}).status_code == expected
    assert client.get(run_url, headers={"HX-Request": "true"}).status_code == expected
    assert client.get(apply_url).status_code == expected
    if expected == 403:
        assert client.post(apply_url, {"confirm": "yes"}).status_code == 403
        assert ResyncRun.objects.count() == 1


def test_anonymous_gets_the_login_page_not_the_csv(dry, client):
    response = client.get(reverse("catalog:resync_run", args=[dry.pk]), {"download": "csv"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert PROJECT_ID  # the emulator's project the fixture wired (loopback only)


def test_the_source_of_truth_lists_contacts_wishes_by_name(project, engineer):
    preference_upsert(project=project, actor="tests", rows=ROWS)
    html = engineer.get(reverse("catalog:resync_contacts"), {"project": project.pk}).content.decode()
    assert "Marketing Push" in html and "Newsletter" in html and "Beta" in html and "Webinar" in html
    found = engineer.post(reverse("catalog:resync_contacts"), {"q": "cy@"}).content.decode()
    assert "Marketing Email" in found and "Webinar" in found


def test_the_confirmation_says_contacts_the_dry_run_could_not_check_are_read_again(dry, engineer):
    dry.items.filter(outcome="in_sync").update(status="failed", outcome="read_failed", error_message="Timed out.")
    html = engineer.get(reverse("catalog:resync_run_apply", args=[dry.pk])).content.decode()
    assert "1 contact could not be checked in the dry run: applying reads it again" in html
    run_page = engineer.get(reverse("catalog:resync_run", args=[dry.pk])).content.decode()
    assert "Why 1 failed:" in run_page and "1 — Timed out." in run_page
