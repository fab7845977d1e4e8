"""The resync pages: imports with their errors by line, runs started from every selection (dry run first, then
apply), a run's progress and failures, cancel and retry, settings with the schedule, and who may see them.

Runs are processed by django-q in sync mode when the request's transaction commits
(django_capture_on_commit_callbacks), against the demo emulator over loopback."""

import pytest
from django.urls import reverse
from django_q.models import Schedule

from catalog.models import AuditEvent, ContactPreference, PreferenceImport, ResyncItem, ResyncRun
from catalog.resync.services.ingest import preference_upsert
from catalog.resync.services.rules import resync_settings_update
from catalog.resync.services.runs import resync_start

LISTS = [7001, 7002]  # the student project's lists in the demo emulator
WRITE = "POST /api/users/bulkUpdateSubscriptions"


@pytest.fixture
def student(demo):
    project = demo.student
    resync_settings_update(
        project=project, actor="tests", scope={"emailListIds": LISTS}, rate_per_second=0, batch_size=2
    )
    return project


@pytest.fixture
def truth(student):
    record = preference_upsert(
        project=student,
        actor="tests",
        rows=[
            {"email": "qa.student@example.com", "email_list_ids": [7001]},
            {"email": "new.person@example.com", "email_list_ids": [7002]},
            {"email": "student.0001@example.com", "email_list_ids": []},
        ],
    )
    assert record.rejected == 0
    return record


@pytest.fixture
def engineer(client_in_role):
    return client_in_role("engineering")


def start(client, capture, **data):
    with capture(execute=True):
        return client.post(reverse("catalog:resync_start"), data)


PAGES = [
    ("catalog:resync_runs", {}),
    ("catalog:resync_start", {}),
    ("catalog:resync_imports", {}),
    ("catalog:resync_contacts", {}),
    ("catalog:resync_settings_list", {}),
]


@pytest.mark.parametrize("role, expected", [(None, 403), ("viewer", 403), ("marketing", 403), ("engineering", 200)])
@pytest.mark.parametrize("name, kwargs", PAGES)
def test_pages_need_the_resync_permission(small_catalog, client_in_role, role, expected, name, kwargs):
    response = client_in_role(role).get(reverse(name, kwargs=kwargs))
    assert response.status_code == expected


def test_anonymous_users_go_to_the_login_page(small_catalog, client):
    run = resync_start(project=small_catalog.project, actor="tests", everyone=True).run
    for url in [
        reverse("catalog:resync_runs"),
        reverse("catalog:resync_run", args=[run.pk]),
        reverse("catalog:resync_run_progress", args=[run.pk]),
        reverse("catalog:resync_settings", args=[small_catalog.project.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    assert client.post(reverse("catalog:resync_run_cancel", args=[run.pk])).status_code == 302
    assert ResyncRun.objects.get(pk=run.pk).status == run.status == "queued"  # not cancelled


def test_the_nav_shows_resync_only_to_those_who_may_run_it(small_catalog, client_in_role):
    assert b'href="/resync/"' in client_in_role("engineering").get("/").content


def test_nav_hidden_for_marketing(small_catalog, client_in_role):
    assert b'href="/resync/"' not in client_in_role("marketing").get("/").content


# ---------------------------------------------------------------------------------------------- imports


def test_csv_upload_keeps_good_rows_and_lists_bad_ones_by_line(student, engineer, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = (
        "email,email_list_ids\n"
        "ok@example.com,7001\n"
        "not-an-email,7001\n"
        "other@example.com,9999\n"
        "fine@example.com,7001;7002\n"
    )
    upload = SimpleUploadedFile("prefs.csv", csv.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks() as queued:
        response = engineer.post(reverse("catalog:resync_imports"), {"project": student.pk, "file": upload})
    record = PreferenceImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("catalog:resync_import", args=[record.pk])
    # The request only queued it: the page shows its progress and refreshes itself until a worker is done.
    waiting = engineer.get(response["Location"])
    assert waiting["Refresh"] == "2" and 'id="import-progress"' in waiting.content.decode()
    assert not ContactPreference.objects.exists()
    queued[0]()  # the import task
    record.refresh_from_db()
    assert (record.accepted, record.rejected, record.filename, record.source) == (2, 2, "prefs.csv", "csv")
    page = engineer.get(response["Location"])
    assert "Refresh" not in page
    html = page.content.decode()
    assert "<dt>Kept</dt><dd>2 (2 changed" in html and "<dt>Rejected</dt><dd>2</dd>" in html
    assert "prefs.csv" in html and "engineering-user" in html
    rows = page.context["record"].errors
    assert [(e["line"], e["email"]) for e in rows] == [(3, "not-an-email"), (4, "other@example.com")]
    assert "invalid email &#x27;not-an-email&#x27;" in html
    assert "ids [9999] are not managed" in html
    assert set(ContactPreference.objects.values_list("email", flat=True)) == {"ok@example.com", "fine@example.com"}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The submitted file is empty."),
        (b"name,lists\nx,1\n", "The header has no email column."),
        (b"email,colour\na@example.com,red\n", "Unknown column(s) in the header: colour."),
        (b"email\n\xff\xfe\n", "not UTF-8"),
        (b"email\na\x00b@example.com\n", "NUL"),
    ],
)
def test_a_bad_file_is_refused_with_a_sentence(student, engineer, content, message):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("bad.csv", content, content_type="text/csv")
    response = engineer.post(reverse("catalog:resync_imports"), {"project": student.pk, "file": upload})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PreferenceImport.objects.exists()


def test_upload_without_file_or_with_unknown_project(student, engineer):
    response = engineer.post(reverse("catalog:resync_imports"), {"project": 999999})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"project", "file"}


# ---------------------------------------------------------------------------------------------- runs


def test_dry_run_from_a_pasted_list_then_apply_sends_only_differences(
    truth, student, engineer, django_capture_on_commit_callbacks, demo
):
    response = start(
        engineer,
        django_capture_on_commit_callbacks,
        project=student.pk,
        selection="list",
        emails="qa.student@example.com\nnew.person@example.com, student.0001@example.com\nnobody@example.com",
        dry_run="on",
        compare="read",
    )
    dry = ResyncRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("catalog:resync_run", args=[dry.pk])
    assert dry.dry_run and dry.status == "done" and dry.total == 3
    page = engineer.get(response["Location"])
    html = page.content.decode()
    assert "1 address not in this project&#x27;s source of truth" in html and "nobody@example.com" in html
    assert page.context["progress"]["done"] + page.context["progress"]["skipped"] == 3
    assert "What applying would change" in html
    # The change is said with the list's name as Iterable holds it, never the array's API name.
    assert "Joins list" in html and ("Student newsletter" in html or "Career fair attendees" in html)
    assert "emailListIds" not in html
    assert "Apply this dry run" in html
    assert demo.emulator.requests(path=WRITE) == []

    # Applying asks first: the confirmation page says what will change; a POST without its "yes" applies nothing.
    confirm = engineer.get(reverse("catalog:resync_run_apply", args=[dry.pk]))
    assert confirm.status_code == 200 and "Yes, write these changes to Iterable" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        refused = engineer.post(reverse("catalog:resync_run_apply", args=[dry.pk]))
    assert refused.status_code == 400 and "Nothing was applied" in refused.content.decode()
    assert ResyncRun.objects.count() == 1 and demo.emulator.requests(path=WRITE) == []

    with django_capture_on_commit_callbacks(execute=True):
        response = engineer.post(reverse("catalog:resync_run_apply", args=[dry.pk]), {"confirm": "yes"})
    applied = ResyncRun.objects.exclude(pk=dry.pk).get()
    assert response["Location"] == reverse("catalog:resync_run", args=[applied.pk])
    assert applied.source_run == dry and applied.status == "done" and not applied.dry_run
    would_change = dry.items.filter(outcome="would_change").count()
    assert applied.total == would_change
    [write] = demo.emulator.requests(path=WRITE)
    assert len(write["body"]["updateSubscriptionsRequests"]) == would_change
    page = engineer.get(response["Location"]).content.decode()
    assert f"dry run #{dry.pk}" in page and "Applying dry run" in page
    # The contact listing shows each contact's last resync and the run that did it.
    contact = ContactPreference.objects.get(email="new.person@example.com")
    assert contact.resynced_run == applied
    listing = engineer.get(reverse("catalog:resync_contacts"), {"project": student.pk}).content.decode()
    assert f"run #{applied.pk}" in listing


def test_progress_json_for_the_live_bar(truth, student, engineer, django_capture_on_commit_callbacks):
    start(engineer, django_capture_on_commit_callbacks, project=student.pk, selection="everyone", dry_run="on")
    run = ResyncRun.objects.get()
    response = engineer.get(reverse("catalog:resync_run_progress", args=[run.pk]))
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    data = response.json()
    assert data["status"] == "done" and data["total"] == 3 and data["pending"] == 0
    assert data["can_apply"] is True and data["can_cancel"] is False
    page = engineer.get(reverse("catalog:resync_run", args=[run.pk])).content.decode()
    assert '<progress id="run-progress" max="3" value="3"' in page
    assert "<script>" not in page and "hx-trigger" not in page  # finished: the page no longer polls


TRUTH_EMAILS = ["qa.student@example.com", "new.person@example.com", "student.0001@example.com"]


def test_an_active_run_shows_its_bar_and_can_be_cancelled(truth, student, engineer):
    run = resync_start(project=student, actor="tests", emails=TRUTH_EMAILS).run  # not processed: no commit
    page = engineer.get(reverse("catalog:resync_run", args=[run.pk])).content.decode()
    assert 'data-status="queued"' in page and "Cancel run" in page
    response = engineer.post(reverse("catalog:resync_run_cancel", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled" and run.items.filter(outcome="cancelled").count() == 3
    assert AuditEvent.objects.filter(action="resync_cancel").exists()
    # Cancelling again, or applying something that is not a dry run: a message, not an error page.
    engineer.post(reverse("catalog:resync_run_apply", args=[run.pk]))
    assert (
        "Only a dry run can be applied." in engineer.get(reverse("catalog:resync_run", args=[run.pk])).content.decode()
    )


def test_failures_are_listed_and_can_be_retried(truth, student, engineer, django_capture_on_commit_callbacks):
    run = resync_start(project=student, actor="tests", emails=TRUTH_EMAILS).run
    run.items.update(status=ResyncItem.Status.FAILED, error_code="validEmailFailure", error_message="Refused.")
    run.status = "done"
    run.save()
    page = engineer.get(reverse("catalog:resync_run", args=[run.pk])).content.decode()
    assert "validEmailFailure" in page and "Refused." in page and "Retry failed contacts" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = engineer.post(reverse("catalog:resync_run_retry", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "done" and not run.items.filter(status="failed").exists()


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"selection": "list", "emails": "ok@example.com\nfoo@"}, "emails", "Line 2: 'foo@' is not a valid email"),
        ({"selection": "list", "emails": "  "}, "emails", "Give at least one address."),
        ({"selection": "since", "changed_since": "yesterday"}, "changed_since", "Enter a valid date/time."),
        ({"selection": "since"}, "changed_since", "Give a date."),
        ({"selection": "import"}, "import_record", "Give the number of an import."),
        ({"selection": "import", "import_record": "424242"}, "import_record", "There is no import with this number."),
        ({"selection": "file"}, "file", "Choose a file of addresses."),
        ({"selection": "bogus"}, "selection", "Select a valid choice."),
    ],
)
def test_bad_start_input_is_a_clear_error(student, engineer, data, field, message):
    response = engineer.post(reverse("catalog:resync_start"), {"project": student.pk, "compare": "read", **data})
    assert response.status_code == 400
    assert any(message in e for e in response.context["form"].errors[field]), response.context["form"].errors
    assert not ResyncRun.objects.exists()


def test_unknown_project_is_a_form_error(small_catalog, engineer):
    response = engineer.post(
        reverse("catalog:resync_start"), {"project": "999999", "selection": "everyone", "compare": "read"}
    )
    assert response.status_code == 400 and "project" in response.context["form"].errors


def test_start_from_a_file_of_addresses_and_from_an_import_and_a_date(
    truth, student, engineer, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("list.csv", b"email,name\nqa.student@example.com,QA\nnew.person@example.com,New\n")
    start(engineer, django_capture_on_commit_callbacks, project=student.pk, selection="file", file=upload, dry_run="on")
    start(
        engineer,
        django_capture_on_commit_callbacks,
        project=student.pk,
        selection="import",
        import_record=truth.pk,
        dry_run="on",
    )
    start(
        engineer,
        django_capture_on_commit_callbacks,
        project=student.pk,
        selection="since",
        changed_since="2000-01-01",
        dry_run="on",
    )
    runs = list(ResyncRun.objects.order_by("id"))
    assert [(r.selection, r.total, r.status) for r in runs] == [
        ("contacts", 2, "done"),
        ("import", 3, "done"),
        ("since", 3, "done"),
    ]
    listing = engineer.get(reverse("catalog:resync_runs")).content.decode()
    assert all(f"#{r.pk}" in listing for r in runs)
    import_page = engineer.get(reverse("catalog:resync_import", args=[truth.pk])).content.decode()
    assert f"Dry run #{runs[1].pk}" in import_page


def test_resync_this_contact_from_the_lookup_page(truth, student, engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        lookup = engineer.post(
            reverse("catalog:contact_lookup"), {"email": "qa.student@example.com", "project": student.pk}
        )
    html = lookup.content.decode()
    assert "Resync this contact" in html and reverse("catalog:resync_contact") in html
    with django_capture_on_commit_callbacks(execute=True):
        response = engineer.post(
            reverse("catalog:resync_contact"), {"project": student.pk, "email": "qa.student@example.com"}
        )
    run = ResyncRun.objects.get()
    assert response["Location"] == reverse("catalog:resync_run", args=[run.pk])
    assert not run.dry_run and run.status == "done" and run.selection_detail["emails"] == ["qa.student@example.com"]
    contact = ContactPreference.objects.get(email="qa.student@example.com")
    assert contact.resynced_run == run and contact.resynced_at is not None
    found = engineer.post(reverse("catalog:resync_contacts"), {"q": "qa.student@example.com"})
    assert f"run #{run.pk}" in found.content.decode()


def test_lookup_page_has_no_resync_button_for_marketing(truth, student, client_in_role):
    html = (
        client_in_role("marketing")
        .post(reverse("catalog:contact_lookup"), {"email": "qa.student@example.com", "project": student.pk})
        .content.decode()
    )
    assert "Resync this contact" not in html


def test_resync_contact_with_bad_input(student, engineer):
    response = engineer.post(reverse("catalog:resync_contact"), {"project": "x", "email": "a@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("catalog:contact_lookup")
    response = engineer.post(reverse("catalog:resync_contact"), {"project": student.pk, "email": "who@example.com"})
    run = ResyncRun.objects.get()
    assert run.total == 0 and run.status == "done"
    assert "not in the source of truth" in engineer.get(response["Location"]).content.decode()
    assert engineer.get(reverse("catalog:resync_contact")).status_code == 405


def test_unknown_run_or_import_is_a_404(small_catalog, engineer):
    assert engineer.get(reverse("catalog:resync_run", args=[999999])).status_code == 404
    assert engineer.get(reverse("catalog:resync_run_progress", args=[999999])).status_code == 404
    assert engineer.get(reverse("catalog:resync_import", args=[999999])).status_code == 404
    assert engineer.get(reverse("catalog:resync_settings", args=[999999])).status_code == 404
    assert engineer.get("/resync/?project=abc&status=nope&page=zz").status_code == 200


# ---------------------------------------------------------------------------------------------- settings


SETTINGS = {
    "channels_mode": "all",
    "unsubscribed_types_mode": "some",
    "unsubscribed_types": ["13"],
    "subscribed_types_mode": "some",
    "subscribed_types": ["11"],
    "lists_mode": "",
    "opt_in_enabled": "on",
    "batch_size": "500",
    "rate_per_second": "2.5",
    "read_concurrency": "4",
    "on_batch_error": "stop",
    "schedule_enabled": "on",
    "schedule_minutes": "30",
}
API_NAMES = ["unsubscribedChannelIds", "unsubscribedMessageTypeIds", "subscribedMessageTypeIds", "emailListIds"]


def test_settings_are_checklists_of_the_projects_channels_and_types_by_name(small_catalog, engineer):
    url = reverse("catalog:resync_settings", args=[small_catalog.project.pk])
    html = engineer.get(url).content.decode()
    names = ["Marketing Channel", "Transactional Channel", "GitLab Marketing", "Marketing Message", "Transactional"]
    assert all(name in html for name in names)
    assert 'name="unsubscribed_types" value="12"' in html  # a box per type, its Iterable id only in the value
    assert "forbidden by the guard" in html  # the opt-out "Marketing Message" is marked
    # Only opt-in types can be subscribed to: the opt-out ones are not offered there.
    assert 'name="subscribed_types" value="11"' in html and 'name="subscribed_types" value="13"' not in html
    assert not any(api_name in html for api_name in API_NAMES)
    assert 'type="text" name="scope' not in html  # no ids typed by hand


def test_settings_with_the_schedule(small_catalog, engineer):
    url = reverse("catalog:resync_settings", args=[small_catalog.project.pk])
    response = engineer.post(url, SETTINGS)
    assert response.status_code == 302
    settings = small_catalog.project.resync_settings
    assert settings.scope == {
        "unsubscribedChannelIds": "all",
        "unsubscribedMessageTypeIds": [13],
        "subscribedMessageTypeIds": [11],
    }
    assert (settings.batch_size, settings.on_batch_error, settings.schedule_minutes) == (500, "stop", 30)
    schedule = Schedule.objects.get(name=f"resync-project-{small_catalog.project.pk}")
    assert schedule.minutes == 30
    page = engineer.get(url).content.decode()
    assert "Scheduled every 30 minutes" in page
    assert 'value="13" id="id_unsubscribed_types_13" checked' in page
    assert 'value="11" id="id_subscribed_types_11" checked' in page
    assert AuditEvent.objects.filter(action="resync_settings_update").exists()
    listing = engineer.get(reverse("catalog:resync_settings_list")).content.decode()
    assert small_catalog.project.name in listing and "Transactional" in listing
    assert not any(api_name in listing for api_name in API_NAMES)

    engineer.post(url, {**SETTINGS, "schedule_enabled": ""})
    assert not Schedule.objects.filter(name=f"resync-project-{small_catalog.project.pk}").exists()


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"unsubscribed_types": []}, "unsubscribed_types", 'Tick at least one message type, or choose "Not managed"'),
        ({"channels": ["1"]}, "channels", "No error"),
        ({"lists": ["21"]}, "lists", "That list is not one of this project"),
        ({"channels_mode": "some", "channels": ["999"]}, "channels", "That channel is not one of this project"),
        ({"channels_mode": "most"}, "channels_mode", "Select a valid choice"),
        ({"subscribed_types_mode": "", "subscribed_types": ["11"]}, "subscribed_types", 'while "Not managed" is'),
        ({"batch_size": "0"}, "batch_size", "between 1 and 100000"),
    ],
)
def test_bad_settings_are_refused_with_a_sentence_and_keep_what_was_ticked(
    small_catalog, engineer, changes, field, message
):
    url = reverse("catalog:resync_settings", args=[small_catalog.project.pk])
    assert engineer.post(url, SETTINGS).status_code == 302
    before = small_catalog.project.resync_settings.scope
    response = engineer.post(url, {**SETTINGS, "unsubscribed_types": ["12", "13"], **changes})
    if message == "No error":  # "All of them" with boxes ticked: all wins, nothing to refuse
        assert response.status_code == 302
        return
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(message in e for e in errors[field]), errors
    html = response.content.decode()
    assert "Nothing was saved" in html
    if "unsubscribed_types" not in changes:
        assert 'value="12" id="id_unsubscribed_types_12" checked' in html  # what was ticked is not lost
    small_catalog.project.resync_settings.refresh_from_db()
    assert small_catalog.project.resync_settings.scope == before


def test_a_pasted_list_too_long_for_a_request_is_refused_with_the_way_round(client_in_role, project, monkeypatch):
    from catalog.resync import forms as resync_forms

    monkeypatch.setattr(resync_forms, "MAX_LISTED_EMAILS", 3)
    page = client_in_role("engineering").post(
        "/resync/new/",
        {"project": project.pk, "selection": "list", "emails": "a@example.com b@example.com c@example.com "
         "d@example.com", "dry_run": "on", "compare": "auto"},
    )  # fmt: skip
    assert page.status_code == 400
    assert "preferences CSV" in page.content.decode()
