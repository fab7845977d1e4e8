"""Each error class against the emulator: Iterable's own errors, rate limits, faults, and the key leak test."""

import logging
import time

import pytest
from _client_seed import EU_KEY, OFF_KEY, US_KEY, wait_for_requests

from catalog.iterable import IterableClient, IterableError

# -- Iterable's answers ----------------------------------------------------------------------------------


def test_bad_key_is_401_bad_api_key_and_not_retried(make_client, emulator, fake_sleep):
    client = make_client("not-a-key-at-all")
    with pytest.raises(IterableError) as exc:
        client.get_channels()
    err = exc.value
    assert (err.status, err.code, err.retryable, err.outcome_unknown) == (401, "BadApiKey", False, False)
    assert err.endpoint == "/api/channels"
    assert len(emulator.requests(path="/api/channels")) == 1 and fake_sleep.calls == []


def test_wrong_data_centre_is_bad_api_key(make_client):
    with pytest.raises(IterableError) as exc:
        make_client(US_KEY, data_center="EU").get_user_by_email("opted.in@example.com")
    assert (exc.value.status, exc.value.code) == (401, "BadApiKey")
    with pytest.raises(IterableError) as exc:
        make_client(EU_KEY, data_center="US").get_channels()
    assert exc.value.code == "BadApiKey"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_user_by_email("foo@"),
        lambda c: c.update_subscriptions(email="foo@", unsubscribed_channel_ids=[101]),
        lambda c: c.email_target(501, recipient_email="foo@"),
    ],
    ids=["getByEmail", "updateSubscriptions", "email_target"],
)
def test_invalid_email(client, call):
    with pytest.raises(IterableError) as exc:
        call(client)
    assert (exc.value.status, exc.value.code, exc.value.retryable) == (400, "InvalidEmailAddressError", False)
    assert not exc.value.outcome_unknown  # a 400 on a send is a definite "not sent"
    assert "foo@" in exc.value.msg


@pytest.mark.parametrize("call", [lambda c: c.get_email_template(999), lambda c: c.get_push_template(999)])
def test_unknown_template_is_bad_params(client, call):
    with pytest.raises(IterableError) as exc:
        call(client)
    assert (exc.value.status, exc.value.code) == (400, "BadParams")
    assert "999" in exc.value.msg


def test_unknown_campaign_on_send_is_bad_params(client, emulator):
    with pytest.raises(IterableError) as exc:
        client.email_target(999999, recipient_email="opted.in@example.com")
    assert (exc.value.code, exc.value.msg, exc.value.outcome_unknown) == ("BadParams", "Invalid campaignId", False)
    assert emulator.sends() == []


def test_html_404_from_a_wrong_base_url_is_a_clear_error(make_client, emulator):
    client = make_client(base_url=emulator.us_url + "/not-iterable")
    with pytest.raises(IterableError) as exc:
        client.get_channels()
    assert (exc.value.status, exc.value.code, exc.value.retryable) == (404, "NotFound", False)
    assert "HTML" in exc.value.msg and "wrong path or host" in exc.value.msg


# -- rate limits and overload: retried where safe ----------------------------------------------------------


def test_rate_limited_is_retried_then_succeeds(client, emulator, fake_sleep):
    emulator.configure(faults=[{"endpoint": "GET /api/channels", "kind": "error429", "count": 2}])
    assert len(client.get_channels()) == 3
    assert [r["status"] for r in emulator.requests(path="GET /api/channels")] == [429, 429, 200]
    assert len(fake_sleep.calls) == 2
    assert fake_sleep.calls[1] > fake_sleep.calls[0] * 0.99  # exponential growth (jitter within a band)


def test_persistent_429_gives_a_retryable_error_after_bounded_attempts(make_client, emulator, fake_sleep):
    client = make_client(max_attempts=4)
    emulator.configure(faults=[{"endpoint": "GET /api/lists", "kind": "error429", "count": 50}])
    with pytest.raises(IterableError) as exc:
        client.get_lists()
    err = exc.value
    assert (err.status, err.code, err.retryable, err.outcome_unknown) == (429, "RateLimitExceeded", True, False)
    assert "Exceeded rate limit" in err.msg
    assert len(emulator.requests(path="GET /api/lists")) == 4 and len(fake_sleep.calls) == 3
    assert all(0 < pause <= 8.0 for pause in fake_sleep.calls)


def test_backoff_grows_exponentially_and_is_capped(make_client, emulator, fake_sleep):
    client = make_client(max_attempts=7, backoff_base=0.5, backoff_max=4.0)
    emulator.configure(faults=[{"endpoint": "GET /api/channels", "kind": "error503", "count": 50}])
    with pytest.raises(IterableError):
        client.get_channels()
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(fake_sleep.calls) == len(ceilings)
    for pause, ceiling in zip(fake_sleep.calls, ceilings, strict=True):
        assert ceiling / 2 <= pause <= ceiling


def test_429_on_a_send_is_retried_because_it_was_not_sent(client, emulator):
    emulator.configure(faults=[{"endpoint": "POST /api/email/target", "kind": "error429", "count": 1}])
    client.email_target(501, recipient_email="opted.in@example.com")
    assert [r["status"] for r in emulator.requests(path="POST /api/email/target")] == [429, 200]
    assert len(emulator.sends()) == 1


def test_500_try_again_later_burst_is_retried(client, emulator):
    emulator.configure(faults=[{"endpoint": "GET /api/users/getByEmail", "kind": "error500", "count": 2}])
    assert client.get_user_by_email("bare@example.com").user_id == "u-2"
    assert [r["status"] for r in emulator.requests(path="GET /api/users/getByEmail")] == [500, 500, 200]


def test_503_html_is_retried_for_an_idempotent_overwrite(client, emulator):
    emulator.configure(faults=[{"endpoint": "POST /api/users/updateSubscriptions", "kind": "error503", "count": 1}])
    client.update_subscriptions(email="bare@example.com", unsubscribed_channel_ids=[101])
    assert [r["status"] for r in emulator.requests(path="POST /api/users/updateSubscriptions")] == [503, 200]
    assert client.get_user_by_email("bare@example.com").unsubscribed_channel_ids == [101]


def test_500_on_a_send_is_not_retried_and_outcome_unknown(client, emulator, fake_sleep):
    emulator.configure(faults=[{"endpoint": "POST /api/push/target", "kind": "error500", "count": 1}])
    with pytest.raises(IterableError) as exc:
        client.push_target(503, recipient_email="opted.in@example.com")
    err = exc.value
    assert (err.status, err.code, err.retryable, err.outcome_unknown) == (500, "GenericError", False, True)
    assert len(emulator.requests(path="POST /api/push/target")) == 1 and fake_sleep.calls == []


def test_retry_after_header_is_honoured_and_capped(client, fake_sleep):
    class Response:
        def __init__(self, value):
            self.headers = {"Retry-After": value}

    assert client._retry_after(Response("2")) == 2.0
    assert client._retry_after(Response("3600")) == client.retry_after_max
    assert client._retry_after(Response("Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0  # in the past
    assert client._retry_after(Response("soon")) is None


def test_client_pacing_keeps_under_the_emulators_rate_limit(make_client, emulator):
    """With pacing on, a burst over the limit is spread out and Iterable never answers 429.

    The client is told a window 30 % longer than the emulator's: the emulator answers in the test's own
    process, so on a machine whose two cores are busy with other work a call can be counted a few hundred
    milliseconds after it was sent, more than the pacer's 5 % margin, which is sized for a network's jitter.
    The burst still needs three windows, so the pacing, not the margin, is what keeps it under the limit."""
    emulator.configure(rate_limits_enabled=True, rate_limits={"GET /api/channels": {"limit": 5, "period": 1.0}})
    unpaced = make_client(max_attempts=1)
    with pytest.raises(IterableError) as exc:  # control: the emulator does enforce the limit
        for _ in range(6):
            unpaced.get_channels()
    assert exc.value.code == "RateLimitExceeded"
    time.sleep(1.1)
    emulator.clear_requests()
    paced = make_client(pacing=True, sleep=time.sleep, max_attempts=1, rate_limits={"GET /api/channels": (5, 1.3)})
    started = time.monotonic()
    for _ in range(15):
        paced.get_channels()
    assert time.monotonic() - started >= 2 * 1.3  # three windows
    assert {r["status"] for r in emulator.requests(path="GET /api/channels")} == {200}


# -- transport faults: timeouts and dropped connections ---------------------------------------------------


def test_read_timeout_on_a_get_is_retried_then_succeeds(make_client, emulator, fake_sleep):
    client = make_client(timeout=(1.0, 0.15))
    emulator.configure(faults=[{"endpoint": "GET /api/messageTypes", "kind": "slow", "seconds": 0.4, "count": 1}])
    assert len(client.get_message_types()) == 4
    assert len(fake_sleep.calls) == 1


def test_read_timeout_on_a_get_gives_up_with_a_retryable_error(make_client, emulator, fake_sleep):
    client = make_client(timeout=(1.0, 0.1), max_attempts=2)
    emulator.configure(faults=[{"endpoint": "GET /api/lists", "kind": "slow", "seconds": 0.3, "count": 5}])
    with pytest.raises(IterableError) as exc:
        client.get_lists()
    err = exc.value
    assert (err.status, err.code, err.retryable, err.outcome_unknown) == (None, "ReadTimeout", True, False)
    assert len(wait_for_requests(emulator, "GET /api/lists", 2)) == 2 and len(fake_sleep.calls) == 1


def test_read_timeout_on_a_send_is_outcome_unknown_and_sent_once(make_client, emulator, fake_sleep):
    client = make_client(timeout=(1.0, 0.15))
    emulator.configure(faults=[{"endpoint": "POST /api/email/target", "kind": "slow", "seconds": 0.4, "count": 1}])
    with pytest.raises(IterableError) as exc:
        client.email_target(501, recipient_email="opted.in@example.com")
    err = exc.value
    assert (err.code, err.status, err.outcome_unknown, err.retryable) == ("OutcomeUnknown", None, True, False)
    assert fake_sleep.calls == []
    recorded = wait_for_requests(emulator, "POST /api/email/target", 1)
    time.sleep(0.1)  # nothing else arrives later either
    assert len(emulator.requests(path="POST /api/email/target")) == len(recorded) == 1
    assert len(emulator.sends()) == 1  # it was in fact sent: exactly why a resend would be wrong


@pytest.mark.parametrize("processed", [False, True])
def test_dropped_connection_on_a_send_is_outcome_unknown(client, emulator, fake_sleep, processed):
    emulator.configure(
        faults=[{"endpoint": "POST /api/templates/email/proof", "kind": "drop", "process": processed, "count": 1}]
    )
    with pytest.raises(IterableError) as exc:
        client.email_template_proof(401, recipient_email="bare@example.com")
    err = exc.value
    assert (err.code, err.outcome_unknown, err.retryable) == ("OutcomeUnknown", True, False)
    assert fake_sleep.calls == []
    assert len(wait_for_requests(emulator, "POST /api/templates/email/proof", 1)) == 1


def test_dropped_connection_on_track_is_outcome_unknown(client, emulator):
    emulator.configure(faults=[{"endpoint": "POST /api/events/track", "kind": "drop", "count": 1}])
    with pytest.raises(IterableError) as exc:
        client.track("trialStarted", email="bare@example.com")
    assert exc.value.code == "OutcomeUnknown"
    assert len(wait_for_requests(emulator, "POST /api/events/track", 1)) == 1


def test_dropped_connection_on_a_get_is_retried(client, emulator, fake_sleep):
    emulator.configure(faults=[{"endpoint": "GET /api/channels", "kind": "drop", "count": 1}])
    assert len(client.get_channels()) == 3
    assert len(fake_sleep.calls) == 1


# -- the API key never leaks ---------------------------------------------------------------------------


def test_api_key_never_appears_in_errors_logs_or_repr(make_client, emulator, caplog):
    """Provoke every error class the client has and look for the key everywhere it could surface."""
    secret = US_KEY
    caplog.set_level(logging.DEBUG)  # includes urllib3's connection logs
    client = make_client(secret, timeout=(1.0, 0.15), max_attempts=2)
    emulator.configure(
        faults=[
            {"endpoint": "GET /api/channels", "kind": "error429", "count": 2},
            {"endpoint": "GET /api/lists", "kind": "error503", "count": 2},
            {"endpoint": "GET /api/users/getByEmail", "kind": "error500", "count": 2},
            {"endpoint": "GET /api/messageTypes", "kind": "slow", "seconds": 0.3, "count": 2},
            {"endpoint": "GET /api/journeys", "kind": "drop", "count": 2},
            {"endpoint": "POST /api/email/target", "kind": "slow", "seconds": 0.3, "count": 1},
            {"endpoint": "POST /api/push/target", "kind": "drop", "count": 1},
            {"endpoint": "POST /api/templates/push/proof", "kind": "error500", "count": 1},
        ]
    )
    wrong_dc = make_client(secret, data_center="EU", max_attempts=1)
    wrong_path = make_client(secret, base_url=emulator.us_url + "/nope")
    refused = IterableClient(secret, base_url="http://127.0.0.1:9", sleep=lambda s: None, max_attempts=2)
    provocations = {
        "RateLimitExceeded": client.get_channels,
        "ServerError": client.get_lists,
        "GenericError": lambda: client.get_user_by_email("bare@example.com"),
        "ReadTimeout": client.get_message_types,
        "ConnectionDropped": client.get_journeys_page,
        "OutcomeUnknown-timeout": lambda: client.email_target(501, recipient_email="opted.in@example.com"),
        "OutcomeUnknown-drop": lambda: client.push_target(503, recipient_email="opted.in@example.com"),
        "GenericError-send": lambda: client.push_template_proof(404, recipient_email="bare@example.com"),
        "BadApiKey": wrong_dc.get_channels,
        "InvalidEmailAddressError": lambda: client.get_user_by_email("foo@"),
        "BadParams": lambda: client.get_email_template(999),
        "NotFound": wrong_path.get_channels,
        "NotFound-group": lambda: make_client(OFF_KEY).subscribe_user("emailList", 1, email="x@example.com"),
        "ConnectionFailed": refused.get_channels,
    }
    errors = {}
    for name, provoke in provocations.items():
        with pytest.raises(IterableError) as exc:
            provoke()
        errors[name] = exc.value
    assert {e.code for e in errors.values()} >= {
        "RateLimitExceeded",
        "ServerError",
        "GenericError",
        "ReadTimeout",
        "ConnectionDropped",
        "OutcomeUnknown",
        "BadApiKey",
        "InvalidEmailAddressError",
        "BadParams",
        "NotFound",
        "ConnectionFailed",
    }
    for name, err in errors.items():
        for text in (str(err), repr(err), err.msg, str(err.params), str(err.args), str(err.endpoint)):
            assert secret not in text, name
            assert OFF_KEY not in text, name
    assert any(r.levelno == logging.WARNING for r in caplog.records)  # retries are logged…
    assert secret not in caplog.text and OFF_KEY not in caplog.text  # …without the key
    for c in (client, wrong_dc, wrong_path, refused):
        assert secret not in repr(c) and secret not in str(c)
    with pytest.raises(IterableError) as exc:
        IterableClient("")
    assert exc.value.code == "MissingApiKey"


def test_a_wrong_base_url_is_an_error_not_an_unknown_contact(make_client, emulator):
    client = make_client(base_url=emulator.us_url + "/not-iterable")
    with pytest.raises(IterableError) as exc:
        client.get_user_by_email("nobody@example.com")
    assert exc.value.status == 404
    with pytest.raises(IterableError):
        client.get_user_by_id("nobody")
