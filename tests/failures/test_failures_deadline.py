"""Iterable calls made inside a web request share one time budget: a slow Iterable gives the page a sentence
within the budget (not a 500, not a worker held until the web server kills it), and a send cut short is
"unknown", never sent twice. Workers and tasks have no budget."""

import time

import pytest
from django.test import override_settings

from catalog.iterable import IterableError, client_for_project
from catalog.iterable.client import call_deadline, deadline_left
from catalog.models import Notification, ProofOutcome, ProofRecipient
from catalog.observability import run_with_request_id
from catalog.sends.services.dispatch import proof_send
from catalog.services.iterable_support import explain_iterable_error, fan_out

BUDGET = 1.0
SLOW_MS = 3000  # far past the budget, well below one attempt's own read timeout (15 s)


def recorded(emulator, path: str) -> int:
    """Requests the emulator recorded on `path`, once the slow ones still inside it have finished."""
    time.sleep(SLOW_MS / 1000 + 0.5)
    return len(emulator.requests(path=path))


def test_a_read_past_the_deadline_stops_at_the_deadline_and_says_so(demo):
    demo.emulator.configure(latency_ms={"GET /api/users/getByEmail": SLOW_MS})
    client = client_for_project(demo.student)
    started = time.monotonic()
    with call_deadline(BUDGET), pytest.raises(IterableError) as caught:
        client.get_user_by_email("qa.student@example.com")
    assert time.monotonic() - started < BUDGET + 0.5
    error = caught.value
    assert (error.code, error.retryable, error.outcome_unknown) == ("DeadlineExceeded", True, False)
    assert error.params == {"budget_seconds": BUDGET}
    sentence = explain_iterable_error(error, demo.student)
    assert "within the 1 s a page may wait" in sentence and "Student - US" in sentence


def test_retry_pauses_end_at_the_deadline_naming_the_last_answer(demo):
    demo.emulator.configure(faults=[{"endpoint": "GET /api/channels", "kind": "error503", "count": 50}])
    client = client_for_project(demo.student)
    with call_deadline(BUDGET), pytest.raises(IterableError) as caught:
        client.get_channels()
    assert caught.value.code == "DeadlineExceeded"
    assert "last answer: ServerError" in caught.value.msg or "last answer: HTTPError" in caught.value.msg
    # Without a deadline the same faults are retried to the client's limit (4 attempts) and reported as such.
    demo.emulator.clear_requests()
    with pytest.raises(IterableError) as caught:
        client.get_channels()
    assert caught.value.status == 503 and len(demo.emulator.requests(path="/api/channels")) == 4


def test_a_send_cut_short_by_the_deadline_is_unknown_and_sent_once(demo):
    demo.emulator.configure(latency_ms={"POST /api/email/target": SLOW_MS})
    digest = Notification.objects.get(key="student_activity_weekly_digest")
    client = client_for_project(demo.student)
    demo.emulator.clear_requests()
    with call_deadline(BUDGET), pytest.raises(IterableError) as caught:
        client.email_target(digest.campaign_id, recipient_email="qa.student@example.com")
    assert caught.value.outcome_unknown and not caught.value.retryable
    assert recorded(demo.emulator, "/api/email/target") == 1


def test_the_deadline_follows_a_fan_out_into_its_threads():
    with call_deadline(5):
        left = fan_out({"a": deadline_left, "b": deadline_left})
    assert all(0 < value <= 5 for value in left.values())
    assert fan_out({"a": deadline_left}) == {"a": None}


def test_a_task_run_inline_has_no_deadline():
    with call_deadline(5):
        assert run_with_request_id("r1", "catalog.iterable.client.deadline_left") is None


@override_settings(ITERABLE_REQUEST_BUDGET_SECONDS=BUDGET)
def test_the_lookup_page_answers_within_the_budget_with_a_sentence(demo, client, user_in_role):
    client.force_login(user_in_role("marketing"))
    demo.emulator.configure(latency_ms={"*": SLOW_MS})
    started = time.monotonic()
    response = client.post(
        "/contacts/", {"email": "qa.student@example.com", "project": demo.student.pk}, HTTP_HOST="localhost"
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < BUDGET + 1.5, elapsed
    assert "within the 1 s a page may wait" in response.content.decode()


def test_a_test_send_whose_guard_reads_are_slow_is_refused_in_time_and_sends_nothing(demo, user_in_role):
    mia = user_in_role("marketing", username="mia")
    own = ProofRecipient.objects.create(project=demo.student, owner=mia, email="qa.student@example.com")
    digest = Notification.objects.get(key="student_activity_weekly_digest")
    demo.emulator.configure(latency_ms={"GET /api/messageTypes": SLOW_MS})
    started = time.monotonic()
    with call_deadline(BUDGET):
        attempt = proof_send(actor=mia, notification=digest, recipient=own)
    assert time.monotonic() - started < BUDGET + 1.0
    assert attempt.outcome == ProofOutcome.REFUSED_GUARD, attempt.outcome
    assert "within the 1 s a page may wait" in attempt.message
    assert demo.emulator.sends() == []


def test_a_test_send_cut_short_by_the_budget_is_unknown_and_never_resent(demo, user_in_role):
    mia = user_in_role("marketing", username="mia")
    own = ProofRecipient.objects.create(project=demo.student, owner=mia, email="qa.student@example.com")
    digest = Notification.objects.get(key="student_activity_weekly_digest")
    demo.emulator.configure(latency_ms={"POST /api/email/target": SLOW_MS})
    demo.emulator.clear_requests()
    with call_deadline(BUDGET + 1):  # the guard's reads fit; the send itself outlasts what is left
        attempt = proof_send(actor=mia, notification=digest, recipient=own)
    assert attempt.outcome == ProofOutcome.UNKNOWN
    assert "not resent" in attempt.message
    assert recorded(demo.emulator, "/api/email/target") == 1
