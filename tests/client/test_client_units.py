"""Unit tests of the client's pure parts: pacing, pagination stop rule, normalisation, errors, factory."""

import pickle
import socket
import threading
from types import SimpleNamespace

import pytest
import requests

from catalog.iterable import IterableClient, IterableError, User, clear_client_cache, client_for_project
from catalog.iterable.client import EU_BASE_URL, US_BASE_URL, SubscriptionUpdate, _page
from catalog.iterable.pacing import Pacer, SlidingWindow


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


# -- pacing -------------------------------------------------------------------------------------------------


def test_sliding_window_allows_a_burst_then_waits_for_the_oldest_call_to_expire():
    clock = FakeClock()
    window = SlidingWindow(3, 1.0, clock=clock)
    assert [window.acquire() for _ in range(3)] == [0, 0, 0]
    assert window.acquire() == pytest.approx(1.0)  # reservations queue up one window later
    assert window.acquire() == pytest.approx(1.0)
    clock.now += 0.5
    assert window.acquire() == pytest.approx(0.5)
    clock.now += 10
    assert window.acquire() == 0


def test_pacer_never_exceeds_the_documented_limit_in_any_window():
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, margin=0)
    calls = []
    for _ in range(20):  # getSentMessages: 3/s
        pacer.wait("GET /api/users/getSentMessages")
        calls.append(clock.now)
    for i in range(len(calls) - 3):
        assert calls[i + 3] - calls[i] >= 1.0 - 1e-9
    assert calls[-1] - calls[0] == pytest.approx(6.0)
    before = clock.now
    for _ in range(100):  # a different endpoint has its own window
        pacer.wait("GET /api/channels")
    assert clock.now == before


def test_pacer_limits_can_be_overridden_or_disabled():
    clock = FakeClock()
    pacer = Pacer({"GET /x": 0, "GET /z": (2, 60.0)}, default=None, clock=clock, sleep=clock.sleep, margin=0)
    for _ in range(1000):
        pacer.wait("GET /x")
        pacer.wait("GET /y")
    assert clock.slept == []
    for _ in range(3):
        pacer.wait("GET /z")
    assert clock.slept == [60.0]


def test_pacer_is_thread_safe():
    clock = FakeClock()
    pacer = Pacer({"GET /t": 10}, clock=clock, sleep=lambda s: None, margin=0)
    waits = []
    threads = [threading.Thread(target=lambda: waits.append(pacer.wait("GET /t"))) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 50 calls at 10/s with a frozen clock: slots 0 (x10), 1 (x10) ... 4 (x10), one reservation each.
    assert sorted(waits) == sorted([float(i // 10) for i in range(50)])


# -- pagination ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "page", "has_next"),
    [
        ({"templates": [{}] * 10, "totalTemplatesCount": 25}, 1, True),
        ({"templates": [{}] * 10, "totalTemplatesCount": 20}, 2, False),
        ({"templates": [{}] * 5, "totalTemplatesCount": 25}, 3, False),
        ({"templates": [{}] * 10, "nextPageUrl": "https://x/api/templates?page=2"}, 1, True),
        ({"templates": [{}] * 10, "nextPageUrl": None}, 1, False),
        ({"templates": [{}] * 10}, 1, True),
        ({"templates": [{}] * 9}, 1, False),
        ({"templates": [], "totalTemplatesCount": 99}, 1, False),
    ],
)
def test_page_stop_rule(data, page, has_next):
    assert _page(data, "templates", "totalTemplatesCount", page, 10).has_next is has_next


# -- normalisation ---------------------------------------------------------------------------------------


def test_user_without_subscription_arrays_reads_them_as_empty():
    user = User.from_api({"email": "a@example.com", "dataFields": {"firstName": "A"}})
    assert user.email == "a@example.com"
    assert user.email_list_ids == []
    assert user.subscribed_message_type_ids == []
    assert user.unsubscribed_channel_ids == []
    assert user.unsubscribed_message_type_ids == []


def test_subscription_update_omits_none_and_keeps_empty_lists():
    body = SubscriptionUpdate(email="a@example.com", unsubscribed_channel_ids=[], email_list_ids=None).to_api()
    assert body == {"email": "a@example.com", "unsubscribedChannelIds": []}
    with pytest.raises(ValueError):
        SubscriptionUpdate().to_api()


# -- errors ----------------------------------------------------------------------------------------------


def test_error_fields_str_repr_and_pickle():
    err = IterableError(
        "Invalid API key", code="BadApiKey", status=401, endpoint="/api/lists", params={"ip": "1.2.3.4"}
    )
    assert err.code == "BadApiKey" and err.status == 401 and not err.retryable and not err.outcome_unknown
    assert "BadApiKey" in str(err) and "/api/lists" in str(err) and "401" in str(err)
    assert "BadApiKey" in repr(err)
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.code, clone.status, clone.endpoint, clone.params) == ("BadApiKey", 401, "/api/lists", err.params)


def test_client_repr_hides_the_key():
    client = IterableClient("sekrit-key-123")
    assert "sekrit-key-123" not in repr(client)
    assert client.base_url == US_BASE_URL
    assert IterableClient("k", data_center="eu").base_url == EU_BASE_URL
    assert IterableClient("k", base_url="http://127.0.0.1:9/").base_url == "http://127.0.0.1:9"


def test_client_rejects_empty_key_and_unknown_data_center():
    with pytest.raises(IterableError) as exc:
        IterableClient("")
    assert exc.value.code == "MissingApiKey"
    with pytest.raises(IterableError) as exc:
        IterableClient("k", data_center="APAC")
    assert exc.value.code == "BadConfiguration"


# -- client_for_project ----------------------------------------------------------------------------------


def _project(**kwargs):
    defaults = {"pk": 7, "name": "Students", "data_center": "US", "api_key_env": "ITERABLE_API_KEY_UNIT"}
    defaults["api_base_url"] = ""
    return SimpleNamespace(**{**defaults, **kwargs})


def test_client_for_project_reads_the_named_variable_and_caches(monkeypatch):
    clear_client_cache()
    monkeypatch.setenv("ITERABLE_API_KEY_UNIT", "key-one")
    client = client_for_project(_project())
    assert client.api_key == "key-one" and client.base_url == US_BASE_URL
    assert client_for_project(_project()) is client
    assert client_for_project(_project(data_center="EU")).base_url == EU_BASE_URL
    assert client_for_project(_project(api_base_url="http://127.0.0.1:8001/")).base_url == "http://127.0.0.1:8001"
    monkeypatch.setenv("ITERABLE_API_KEY_UNIT", "key-two")  # a rotated key gives a new client
    rotated = client_for_project(_project())
    assert rotated is not client and rotated.api_key == "key-two"
    clear_client_cache()


def test_client_for_project_missing_variable(monkeypatch):
    monkeypatch.delenv("ITERABLE_API_KEY_ABSENT", raising=False)
    with pytest.raises(IterableError) as exc:
        client_for_project(_project(api_key_env="ITERABLE_API_KEY_ABSENT"))
    assert exc.value.code == "MissingApiKey"
    assert "ITERABLE_API_KEY_ABSENT" in exc.value.msg
    with pytest.raises(IterableError) as exc:
        client_for_project(_project(api_key_env=""))
    assert exc.value.code == "MissingApiKey"


# -- transport failures that need no server ---------------------------------------------------------------


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_retried_even_for_a_send_then_reported():
    slept = []
    client = IterableClient("k", base_url=f"http://127.0.0.1:{_closed_port()}", sleep=slept.append, max_attempts=3)
    with pytest.raises(IterableError) as exc:
        client.email_target(1, recipient_email="a@example.com")
    err = exc.value
    assert err.code == "ConnectionFailed" and err.status is None
    assert err.retryable and not err.outcome_unknown
    assert len(slept) == 2  # three attempts: nothing left the client, so even a send is safe to repeat
    assert slept[1] > slept[0] / 2  # exponential (with jitter)


def test_errors_redact_a_key_echoed_by_the_server():
    client = IterableClient("sekrit-key-123")
    response = requests.Response()
    response.status_code = 400
    response.headers["Content-Type"] = "application/json"
    response._content = b'{"msg": "bad key sekrit-key-123", "code": "BadParams", "params": {"key": ["sekrit-key-123"]}}'
    err = client._http_error(response, "/api/lists", send=False)
    assert "sekrit-key-123" not in str(err) + repr(err) + str(err.params)
    assert err.code == "BadParams" and "[redacted]" in err.msg


def test_old_401_saying_success_is_still_an_error():
    client = IterableClient("k")
    response = requests.Response()
    response.status_code = 401
    response._content = b'{"msg": "", "code": "Success", "params": null}'
    err = client._http_error(response, "/api/lists", send=False)
    assert (err.status, err.code, err.retryable) == (401, "BadApiKey", False)


def test_transport_error_message_omits_the_url_and_its_email():
    client = IterableClient("k", base_url=f"http://127.0.0.1:{_closed_port()}", sleep=lambda s: None)
    with pytest.raises(IterableError) as exc:
        client.get_user_by_email("private.person@example.com")
    assert "private.person" not in str(exc.value) and "private.person" not in repr(exc.value)
