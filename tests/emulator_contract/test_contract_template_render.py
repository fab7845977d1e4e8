"""Template preview (POST /api/templates/email/preview) and what a send would say, same standard as the rest:
spec shape, rate limit, faults."""

from __future__ import annotations

import pytest
import requests
from _contract_seed import EMAIL_CAMPAIGN, KEY, KNOWN, LOCALE_TEMPLATE, PROJECT_ID
from iterable.exceptions import InvalidParameters

TIMEOUT = 5
PREVIEW = "/api/templates/email/preview"


def _preview(emulator, template_id=LOCALE_TEMPLATE, body=None, **query):
    return requests.post(
        f"{emulator.us_url}{PREVIEW}",
        params={"templateId": template_id, **query},
        json=body,
        headers={"Api-Key": KEY},
        timeout=TIMEOUT,
    )


def test_preview_renders_merge_tags_through_their_client(emulator, theirs):
    answer = theirs.post(
        f"{PREVIEW}?templateId={LOCALE_TEMPLATE}", data={"dataFields": {"firstName": "<Bo>", "vip": 1}}
    )
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert answer.data == "<p>Hi &lt;Bo&gt;, your plan is . VIP!</p>"


def test_preview_locale_missing_fields_and_errors(emulator):
    french = _preview(emulator, body={"dataFields": {"firstName": "Zoé"}}, locale="fr")
    assert french.text == "<p>Salut Zoé</p>"
    assert _preview(emulator).text == "<p>Hi , your plan is .</p>"  # no body: every field empty
    assert _preview(emulator, locale="de").status_code == 404
    unknown = _preview(emulator, template_id=42)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NotFound")
    assert _preview(emulator, template_id="x").json()["code"] == "BadParams"
    bad_body = _preview(emulator, body={"dataFields": "Ada"})
    assert bad_body.status_code == 400 and bad_body.json()["code"] == "BadJsonBody"


def test_preview_has_its_documented_rate_limit_and_takes_faults(emulator, theirs):
    emulator.configure(rate_limits_enabled=True)
    answers = [_preview(emulator).status_code for _ in range(11)]
    assert answers.count(200) == 10 and answers[-1] == 429
    emulator.configure(rate_limits_enabled=False, faults=[{"endpoint": f"POST {PREVIEW}", "kind": "error500"}])
    assert _preview(emulator).status_code == 500
    assert _preview(emulator).status_code == 200


def test_sends_and_proofs_record_what_the_recipient_would_see(emulator, ours):
    ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN, data_fields={"plan": "pro"})
    ours.email_template_proof(LOCALE_TEMPLATE, recipient_email="qa@example.com", data_fields={"firstName": "QA"})
    [send, proof] = emulator.sends(project=PROJECT_ID)
    # The profile's firstName, the request's plan.
    assert send["rendered"]["subject"] == "Hello Ada"
    assert send["rendered"]["html"] == "<p>Hi Ada, your plan is pro.</p>"
    assert proof["rendered"]["subject"] == "Hello QA"


def test_render_helper_and_inspection_endpoint(emulator):
    push = emulator.render(PROJECT_ID, 3001, {"firstName": "Bo"})
    assert push == {
        "templateId": 3001,
        "messageMedium": "Push",
        "locale": "en",
        "rendered": {"title": "Hi", "message": "Push for Bo"},
    }
    resp = requests.post(
        f"{emulator.us_url}/_emulator/render",
        json={"project": PROJECT_ID, "templateId": LOCALE_TEMPLATE, "email": KNOWN, "locale": "fr"},
        timeout=TIMEOUT,
    )
    assert resp.json()["rendered"]["subject"] == "Bonjour Ada"
    bad = requests.post(
        f"{emulator.us_url}/_emulator/render", json={"project": PROJECT_ID, "templateId": 1}, timeout=TIMEOUT
    )
    assert bad.status_code == 400 and "no template 1" in bad.json()["error"]


def test_their_client_reads_a_refused_preview(emulator, theirs):
    with pytest.raises(InvalidParameters):
        theirs.post(f"{PREVIEW}?templateId=abc", data={})
