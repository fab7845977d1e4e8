"""The test-send preview shows the message as Iterable would render it: the recipient's profile and the send's
data fields merged into the template Iterable holds, the HTML in a sandboxed frame with its own strict policy."""

import re

import pytest
from django.urls import reverse

from catalog.models import ProofRecipient, ProofSend
from catalog.sends.services.checks import proof_preview

STUDENT = 2158
TOKEN = "0123456789abcdef0123456789abcdef"


def template_content(emulator, template_id, **content):
    """Give a template of the Student project's Iterable this content (as someone editing it in Iterable)."""
    with emulator.state.lock:
        emulator.state.projects[STUDENT].templates[template_id].update(content)


def profile_fields(emulator, email, **fields):
    with emulator.state.lock:
        emulator.state.projects[STUDENT].get_user(email)["dataFields"].update(fields)


def campaign_template_id(sends, notification):
    return sends.client.get_campaign(notification.campaign_id)["templateId"]


def test_email_preview_merges_the_profile_and_the_data_fields_into_what_iterable_holds(sends):
    template_id = campaign_template_id(sends, sends.digest)
    template_content(
        sends.emulator,
        template_id,
        subject="Your week, {{firstName}}",
        preheaderText="{{count}} new jobs in {{city}}",
        fromName="Jobs for {{firstName}}",
        fromEmail="jobs@example.com",
        html="<html><body><h1>Hi {{firstName}}</h1><p>{{count}} jobs</p><p>{{lastName}}</p></body></html>",
    )
    profile_fields(sends.emulator, "qa.student@example.com", firstName="Quinn", city="")

    preview = proof_preview(actor=sends.mia, notification=sends.digest, recipient=sends.own, data_fields={"count": 7})

    assert preview.verdict.allowed, preview.verdict.message
    [message] = preview.rendered
    assert message.medium == "Email" and not message.error
    assert message.subject == "Your week, Quinn"
    assert message.preheader == "7 new jobs in "
    assert message.sender == "Jobs for Quinn <jobs@example.com>"
    assert "<h1>Hi Quinn</h1><p>7 jobs</p>" in message.html
    assert message.missing == ["city", "lastName"]
    assert message.missing_sentences[0] == "city is empty for this recipient, so that part of the message is blank."
    assert ProofSend.objects.count() == 0 and sends.emulator.sends() == []


def test_push_preview_shows_title_and_text(sends):
    template_id = campaign_template_id(sends, sends.push)
    template_content(sends.emulator, template_id, title="{{sender}} wrote", message="Hi {{firstName}}: {{snippet}}")
    preview = proof_preview(
        actor=sends.mia, notification=sends.push, recipient=sends.by_id, data_fields={"sender": "Acme"}
    )
    [message] = preview.rendered
    assert (message.medium, message.title, message.body) == ("Push", "Acme wrote", "Hi QA: ")
    assert message.missing == ["snippet"]


def test_a_template_that_cannot_be_rendered_is_a_sentence(sends):
    template_content(sends.emulator, campaign_template_id(sends, sends.digest), subject="{{#if x}}never closed")
    preview = proof_preview(actor=sends.mia, notification=sends.digest, recipient=sends.own, data_fields={})
    [message] = preview.rendered
    assert message.error.startswith("Campaign '") and "cannot be rendered" in message.error
    assert "never closed" in message.error


def test_template_proof_renders_the_picked_template(sends):
    template = sends.digest.templates.first()
    template_content(sends.emulator, template.iterable_id, subject="Proof for {{email}}")
    preview = proof_preview(
        actor=sends.mia, notification=sends.digest, recipient=sends.own, mode="template_proof", template=template
    )
    [message] = preview.rendered
    assert message.label == f"Template '{template.name}'"
    assert message.subject == "Proof for qa.student@example.com"


def test_someone_not_on_the_allowlist_gets_no_rendered_profile(sends):
    preview = proof_preview(
        actor=sends.mia, notification=sends.digest, email="student.0001@example.com", data_fields={}
    )
    assert not preview.verdict.allowed and preview.rendered == []


def _form(recipient, **extra):
    return {"recipient": recipient.pk, "mode": "campaign", "submission_token": TOKEN, **extra}


@pytest.fixture
def mia_page(sends, client):
    client.force_login(sends.mia)
    return client


def test_preview_page_shows_subject_and_the_body_in_a_sandboxed_frame_with_its_own_policy(sends, mia_page):
    template_content(
        sends.emulator,
        campaign_template_id(sends, sends.digest),
        subject="Hello {{firstName}}",
        html='<html><body><p style="color:red">Body for {{firstName}}</p><script>alert(1)</script></body></html>',
    )
    url = reverse("catalog:proof_send", args=[sends.digest.key])
    page = mia_page.post(url, _form(sends.own, action="preview")).content.decode()

    assert "Hello QA" in page and 'data-testid="rendered-subject"' in page
    frame = re.search(r'<iframe class="email-frame" sandbox src="([^"]+)"', page)
    assert frame, page
    body = mia_page.get(frame.group(1))
    assert body.status_code == 200
    assert "Body for QA</p><script>alert(1)</script>" in body.content.decode()
    policy = body["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert "style-src 'unsafe-inline'" in policy and "script-src" not in policy
    assert body["X-Frame-Options"] == "SAMEORIGIN"
    # The rest of the site still refuses to be framed.
    assert "frame-ancestors 'none'" in mia_page.get(url)["Content-Security-Policy"]
    assert mia_page.get(url)["X-Frame-Options"] == "DENY"
    # The request stays on the page for engineers, folded away.
    assert "POST /api/email/target" in page and "<summary>The request that will go to Iterable" in page


def test_preview_frame_opened_as_a_page_is_still_sandboxed(sends, mia_page):
    url = reverse("catalog:proof_send", args=[sends.digest.key])
    page = mia_page.post(url, _form(sends.own, action="preview")).content.decode()
    frame_url = re.search(r'sandbox src="([^"]+)"', page).group(1)
    directives = [d.strip() for d in mia_page.get(frame_url)["Content-Security-Policy"].split(";")]
    assert "sandbox" in directives  # bare: no allow-* tokens
    assert "sandbox" not in mia_page.get(url)["Content-Security-Policy"]


def test_preview_frame_is_only_for_its_own_session_and_the_send_permission(sends, mia_page, client, user_in_role):
    template_content(sends.emulator, campaign_template_id(sends, sends.digest), html="<p>secret {{firstName}}</p>")
    url = reverse("catalog:proof_send", args=[sends.digest.key])
    page = mia_page.post(url, _form(sends.own, action="preview")).content.decode()
    frame_url = re.search(r'sandbox src="([^"]+)"', page).group(1)
    assert "secret QA" in mia_page.get(frame_url).content.decode()

    client.logout()
    client.force_login(user_in_role("marketing", username="other"))
    assert "secret" not in client.get(frame_url).content.decode()
    client.force_login(user_in_role("viewer", username="viewer"))
    assert client.get(frame_url).status_code == 403


def test_missing_fields_are_listed_in_words_on_the_page(sends, mia_page):
    template_content(sends.emulator, campaign_template_id(sends, sends.digest), subject="Hi {{nickname}}")
    url = reverse("catalog:proof_send", args=[sends.digest.key])
    page = mia_page.post(url, _form(sends.own, action="preview")).content.decode()
    assert "nickname is empty for this recipient" in page


def test_api_preview_returns_the_rendered_message(sends, client_for):
    api = client_for("marketing")
    ProofRecipient.objects.create(project=sends.student, owner=api.user, email="qa.student@example.com")
    template_content(sends.emulator, campaign_template_id(sends, sends.digest), subject="Hi {{firstName}} {{x}}")
    response = api.post(
        "/api/test-sends/preview/",
        {"notification": sends.digest.key, "email": "qa.student@example.com", "data_fields": {"x": "there"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    [message] = response.json()["rendered"]
    assert message["subject"] == "Hi QA there" and message["medium"] == "Email" and message["error"] == ""
    assert message["missing"] == []


def test_only_the_latest_previews_body_is_kept(sends, mia_page):
    template_content(sends.emulator, campaign_template_id(sends, sends.digest), html="<p>first {{firstName}}</p>")
    url = reverse("catalog:proof_send", args=[sends.digest.key])

    def frame_of_a_preview():
        page = mia_page.post(url, _form(sends.own, action="preview")).content.decode()
        return re.search(r'sandbox src="([^"]+)"', page)

    first = frame_of_a_preview()
    template_content(sends.emulator, campaign_template_id(sends, sends.digest), html="<p>second</p>")
    second = re.search(
        r'sandbox src="([^"]+)"', mia_page.post(url, _form(sends.own, action="preview")).content.decode()
    )
    assert "second" in mia_page.get(second.group(1)).content.decode()
    assert "This preview has expired" in mia_page.get(first.group(1)).content.decode()


def test_an_email_too_large_to_preview_says_so(sends):
    from catalog.sends.services.rendering import MAX_PREVIEW_HTML

    big = "<p>" + "x" * MAX_PREVIEW_HTML + "</p>"
    template_content(sends.emulator, campaign_template_id(sends, sends.digest), html=big, subject="Hi")
    [message] = proof_preview(actor=sends.mia, notification=sends.digest, recipient=sends.own).rendered
    assert message.html == "" and "too large to preview here" in message.error and message.subject == "Hi"
