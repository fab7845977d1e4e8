"""Test send pages: permission, the form with its preview, errors beside the fields, double submit, recipients."""

import re

import pytest
from django.urls import reverse

from catalog.models import AuditEvent, Notification, ProofRecipient, ProofSend

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def mia(demo, client, user_in_role):
    user = user_in_role("marketing", username="mia")
    client.force_login(user)
    own = ProofRecipient.objects.create(project=demo.student, owner=user, email="qa.student@example.com")
    return type("Mia", (), {"user": user, "own": own, "demo": demo, "client": client})


def url(key):
    return reverse("catalog:proof_send", args=[key])


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("marketing", 200), ("admin", 200)])
def test_pages_need_the_send_permission(demo, client, user_in_role, role, status):
    client.force_login(user_in_role(role))
    for path in (url("student_activity_weekly_digest"), reverse("catalog:proof_send_list"),
                 reverse("catalog:proof_recipient_list")):  # fmt: skip
        assert client.get(path).status_code == status
    response = client.post(url("student_activity_weekly_digest"), {"action": "send"})
    assert response.status_code in ({403} if status == 403 else {400})
    assert not ProofSend.objects.exists()


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("catalog:proof_send_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_form_is_prefilled_from_the_event_examples(mia):
    page = mia.client.get(url("student_free_onboarding_welcome")).content.decode()
    assert re.search(r'<input type="text" name="df_firstName" value="John"', page)
    assert re.search(r'<input type="checkbox" name="df_companyNamespace"[^>]* checked>', page)
    assert re.search(r'<input type="date" name="df_latest_trial_start_date" value="2023-06-11"', page)
    assert "<textarea" not in page  # no JSON typed by hand
    assert re.search(r'name="submission_token" value="[0-9a-f]{32}"', page)
    assert "qa.student@example.com" in page


def test_the_recipient_picker_lists_only_the_allowlist_and_a_posted_other_is_refused(mia, user_in_role):
    shared = ProofRecipient.objects.create(project=mia.demo.student, email="a.shared@example.com")
    waiting = ProofRecipient.objects.create(project=mia.demo.student, owner=mia.user, email="b@example.com",
                                            status="pending")  # fmt: skip
    others = ProofRecipient.objects.create(project=mia.demo.student, owner=user_in_role("marketing"),
                                           email="c@example.com")  # fmt: skip
    elsewhere = ProofRecipient.objects.create(project=mia.demo.employer, owner=mia.user, email="d@example.com")
    page = mia.client.get(url("student_activity_weekly_digest")).content.decode()
    picker = re.search(r'<select name="recipient".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option value="(\d+)"( selected)?>', picker)
    # Ordered by address, the first one chosen; nobody waiting, nobody else's, nobody in another project.
    assert options == [(str(shared.pk), " selected"), (str(mia.own.pk), "")]
    assert "You have no test recipients" not in page

    for refused in (waiting, others, elsewhere):
        response = mia.client.post(url("student_activity_weekly_digest"), _form(mia, recipient=refused.pk))
        assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not ProofSend.objects.exists()


def _form(mia, **extra):
    return {
        "recipient": mia.own.pk,
        "mode": "campaign",
        "extra_name_0": "firstName",
        "extra_value_0": "QA",
        "submission_token": TOKEN,
        **extra,
    }


def test_preview_shows_the_exact_request_and_sends_nothing(mia):
    response = mia.client.post(url("student_activity_weekly_digest"), _form(mia, action="preview"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "POST /api/email/target" in page
    assert (
        "&quot;campaignId&quot;: 410001" in page
        and "&quot;recipientEmail&quot;: &quot;qa.student@example.com&quot;" in page
    )
    assert "allow this test send" in page and "GitLab Marketing" in page
    assert not ProofSend.objects.exists() and mia.demo.emulator.requests(path="/api/email/target") == []


def test_send_records_and_shows_the_outcome_and_a_double_submit_sends_once(mia):
    response = mia.client.post(url("student_activity_weekly_digest"), _form(mia, action="send"))
    attempt = ProofSend.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "catalog:proof_send_detail", args=[attempt.pk]
    )
    page = mia.client.get(response["Location"]).content.decode()
    assert "Sent (accepted by Iterable)" in page and "POST /api/email/target" in page

    again = mia.client.post(url("student_activity_weekly_digest"), _form(mia, action="send"), follow=True)
    assert "already submitted" in again.content.decode()
    assert ProofSend.objects.count() == 1
    assert len([r for r in mia.demo.emulator.requests(path="/api/email/target") if r["method"] == "POST"]) == 1
    assert AuditEvent.objects.filter(action="proof_send").count() == 1
    # The activity names the notification as people know it, not by its key.
    name = Notification.objects.get(key="student_activity_weekly_digest").name
    assert AuditEvent.objects.get(action="proof_send").object_repr == name
    assert name in mia.client.get(reverse("catalog:audit_list")).content.decode()

    detail = mia.client.get(reverse("catalog:notification_detail", args=["student_activity_weekly_digest"]))
    assert "to qa.student@example.com" in detail.content.decode()
    assert 'href="/notifications/student_activity_weekly_digest/test-send/"' in detail.content.decode()


def test_schema_errors_are_beside_their_fields_and_input_is_kept(mia):
    data = {
        "recipient": mia.own.pk,
        "mode": "event",
        "submission_token": TOKEN,
        "action": "send",
        "df_firstName": "",
        "df_company": "ACME",
        "df_companyNamespace": "on",
        "df_latest_trial_start_date": "not a date",
    }
    response = mia.client.post(url("student_free_onboarding_welcome"), data)
    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'id="id_df_latest_trial_start_date-errors">Enter a valid date.', page)
    assert 'value="ACME"' in page and 'value="not a date"' in page
    data["df_latest_trial_start_date"] = "2024-02-29"
    page = mia.client.post(url("student_free_onboarding_welcome"), data).content.decode()
    assert re.search(r'id="id_df_firstName-errors">Required by the &#x27;SaaS Free Registration&#x27;', page)
    assert not ProofSend.objects.exists()


def test_a_value_without_a_name_and_impossible_mode_are_explained(mia):
    page = mia.client.post(
        url("student_activity_weekly_digest"),
        _form(mia, extra_name_1="", extra_value_1="orphan", action="send"),
    ).content.decode()
    assert re.search(r'id="id_extra_name_1-errors">Give this value a name.', page)
    page = mia.client.post(
        url("student_activity_weekly_digest"), _form(mia, mode="event", action="send")
    ).content.decode()
    assert "Select a valid choice" in page
    assert not ProofSend.objects.exists()


def test_refusal_is_shown_with_its_reason(mia):
    mia.demo.emulator.configure(faults=[{"endpoint": "GET /api/channels", "kind": "error500", "count": 5}])
    response = mia.client.post(url("student_activity_weekly_digest"), _form(mia, action="send"), follow=True)
    page = response.content.decode()
    assert "Refused by the guard" in page and "live-check-failed" in page
    assert ProofSend.objects.get().outcome == "refused_guard"


def test_recipients_own_and_shared(demo, client, user_in_role):
    marketer = user_in_role("marketing", username="mia")
    client.force_login(marketer)
    list_url = reverse("catalog:proof_recipient_list")
    assert "Shared with everyone" not in client.get(list_url).content.decode()
    response = client.post(list_url, {"project": demo.student.pk, "email": "qa.student@example.com", "shared": "on"})
    assert response.status_code == 302
    mine = ProofRecipient.objects.get()
    assert mine.owner == marketer  # "shared" is ignored for someone who may not manage shared recipients
    again = client.post(list_url, {"project": demo.student.pk, "email": "qa.student@example.com"})
    assert again.status_code == 400 and "already have this test recipient" in again.content.decode()
    bad = client.post(list_url, {"project": demo.student.pk, "email": "foo@"})
    assert "&#x27;foo@&#x27; is not a valid email address." in bad.content.decode()
    both = client.post(list_url, {"project": demo.student.pk, "email": "a@example.com", "user_id": "u1"})
    assert "one of them" in both.content.decode()

    admin = user_in_role("admin", username="ada")
    client.force_login(admin)
    client.post(list_url, {"project": demo.student.pk, "user_id": "qa-student-2", "shared": "on", "label": "QA"})
    shared = ProofRecipient.objects.get(user_id="qa-student-2")
    assert shared.shared
    page = client.get(list_url).content.decode()
    assert "qa-student-2" in page and "qa.student@example.com" not in page  # mia's own are hers

    client.force_login(marketer)
    assert "qa-student-2" in client.get(list_url).content.decode()
    client.post(reverse("catalog:proof_recipient_delete", args=[shared.pk]), follow=True)
    assert ProofRecipient.objects.filter(pk=shared.pk).exists()
    client.post(reverse("catalog:proof_recipient_delete", args=[mine.pk]))
    assert not ProofRecipient.objects.filter(pk=mine.pk).exists()
    assert AuditEvent.objects.filter(object_type="proofrecipient").count() == 3


def test_send_list_shows_attempts(mia):
    mia.client.post(url("student_activity_weekly_digest"), _form(mia, action="send"))
    page = mia.client.get(reverse("catalog:proof_send_list") + "?mine=1").content.decode()
    assert "student_activity_weekly_digest" in page and "qa.student@example.com" in page
    assert Notification.objects.filter(key="student_activity_weekly_digest").exists()


def test_add_a_test_recipient_keeps_the_project_and_returns_to_the_test_send(demo, client, user_in_role):
    user = user_in_role("marketing", username="nia")
    user.email = "nia@example.com"
    user.save()
    client.force_login(user)
    send_page = client.get(url("student_activity_weekly_digest")).content.decode()
    link = re.search(r'href="([^"]+)" data-testid="add-recipient"', send_page).group(1).replace("&amp;", "&")
    assert (
        f"project={demo.student.pk}" in link and "next=/notifications/student_activity_weekly_digest/test-send/" in link
    )

    form_page = client.get(link).content.decode()
    assert re.search(rf'<option value="{demo.student.pk}" selected>', form_page)
    assert 'name="next" value="/notifications/student_activity_weekly_digest/test-send/"' in form_page
    assert "Back to the test send" in form_page

    next_url = url("student_activity_weekly_digest")
    refused = client.post(reverse("catalog:proof_recipient_list"), {"project": demo.student.pk, "next": next_url})
    assert refused.status_code == 400 and f'name="next" value="{next_url}"' in refused.content.decode()

    added = client.post(
        reverse("catalog:proof_recipient_list"),
        {"project": demo.student.pk, "email": "nia@example.com", "next": next_url},
    )
    assert added.status_code == 302 and added["Location"] == next_url
    assert ProofRecipient.objects.get(owner=user).project == demo.student
    assert "nia@example.com" in client.get(next_url).content.decode()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_add_a_test_recipient_never_returns_to_another_site(demo, client, user_in_role, target):
    user = user_in_role("marketing", username="nia")
    client.force_login(user)
    added = client.post(
        reverse("catalog:proof_recipient_list"),
        {"project": demo.student.pk, "user_id": "qa-nia", "next": target},
    )
    assert added.status_code == 302 and added["Location"] == reverse("catalog:proof_recipient_list")
    assert "evil" not in client.get(reverse("catalog:proof_recipient_list") + f"?next={target}").content.decode()
