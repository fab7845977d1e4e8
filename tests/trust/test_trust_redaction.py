"""The API key is taken out of everything the client hands back, whatever the other side echoes: so it is in
no sync error, audit event, test-send record or log line."""

import json
import logging
from urllib.parse import quote

import pytest

from catalog.iterable import IterableClient, IterableError, clear_client_cache
from catalog.models import AuditEvent, IterableProject, SyncRun
from catalog.sync.services.runs import catalog_sync_project

KEY = "Key/With+Symbols-0123456789abcdef"
ECHOES = {
    "a 2xx that is not JSON": (200, "text/plain", f"proxy says hello to {KEY}"),
    "a 2xx HTML page": (200, "text/html", f"<html><title>{KEY}</title></html>"),
    "a JSON error": (
        400,
        "application/json",
        json.dumps({"code": "BadParams", "msg": f"bad {KEY}", "params": {"apiKey": KEY}}),
    ),
    "a 500 in capitals": (500, "text/plain", f"failed for {KEY.upper()}"),
    "a percent-encoded echo": (502, "text/plain", f"upstream /x?api_key={quote(KEY, safe='')}"),
    "a JSON success": (200, "application/json", json.dumps({"channels": [{"id": 1, "name": KEY}]})),
}


def _everything_stored() -> str:
    runs = list(SyncRun.objects.values())
    events = list(AuditEvent.objects.values())
    return json.dumps([runs, events], default=str)


@pytest.mark.parametrize("echo", list(ECHOES))
def test_the_key_never_leaves_the_client(listener, monkeypatch, caplog, echo):
    monkeypatch.setenv("ITERABLE_ALLOWED_HOSTS", listener.url)
    listener.respond = lambda request: ECHOES[echo]
    caplog.set_level(logging.DEBUG)
    with IterableClient(KEY, base_url=listener.url, max_attempts=1) as client:
        try:
            answer = client.get_channels()
        except IterableError as error:
            seen = [str(error), repr(error), error.msg, json.dumps(error.params)]
        else:
            seen = [json.dumps(answer)]
    assert listener.received[0]["headers"]["Api-Key"] == KEY  # it was sent, to the allowed host only
    text = " ".join(seen) + caplog.text
    for form in (KEY, KEY.upper(), quote(KEY, safe="")):
        assert form not in text
    assert "[redacted]" in " ".join(seen)


def test_a_sync_against_an_echoing_proxy_stores_no_key(db, listener, monkeypatch, caplog):
    monkeypatch.setenv("ITERABLE_ALLOWED_HOSTS", listener.url)
    monkeypatch.setenv("ITERABLE_API_KEY_ECHO", KEY)
    clear_client_cache()
    listener.respond = lambda request: (200, "text/plain", f"Welcome! Your key {KEY} is valid.")
    project = IterableProject.objects.create(
        name="Echo", api_key_env="ITERABLE_API_KEY_ECHO", api_base_url=listener.url
    )
    caplog.set_level(logging.DEBUG)
    run = catalog_sync_project(project=project, actor="test")
    assert run.status == "failed"
    stored = _everything_stored()
    assert "[redacted]" in stored  # the error was kept, without the key
    assert KEY not in stored
    assert KEY not in caplog.text
    clear_client_cache()


def test_a_test_send_against_an_echoing_proxy_stores_no_key(small_catalog, listener, monkeypatch, user_in_role):
    from catalog.models import ProofRecipient, ProofSend
    from catalog.sends.services.dispatch import proof_send

    monkeypatch.setenv("ITERABLE_ALLOWED_HOSTS", listener.url)
    monkeypatch.setenv("ITERABLE_API_KEY_TEST", KEY)
    clear_client_cache()
    IterableProject.objects.filter(pk=small_catalog.project.pk).update(api_base_url=listener.url)
    listener.respond = lambda request: (200, "text/html", f"<html><title>Hello {KEY}</title></html>")
    marketer = user_in_role("marketing")
    recipient = ProofRecipient.objects.create(project=small_catalog.project, owner=marketer, email="qa@example.com")
    digest = small_catalog.digest.__class__.objects.get(pk=small_catalog.digest.pk)
    attempt = proof_send(actor=marketer, notification=digest, recipient=recipient)
    assert listener.received  # Iterable's stand-in was asked (the guard's live check)
    stored = json.dumps([list(ProofSend.objects.values()), list(AuditEvent.objects.values())], default=str)
    assert attempt.outcome in {"refused_guard", "refused_iterable"} and "[redacted]" in attempt.message
    assert KEY not in stored
    clear_client_cache()
