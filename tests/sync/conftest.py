"""Fixtures for the catalog sync tests: one emulator per session (our seed, rate limits off) and a catalog
whose project A drifts from it in every way the sync detects (see _sync_seed.py for the Iterable side)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from _sync_seed import A_KEY, B_KEY, WRONG_KEY, seed
from factories import (
    ChannelFactory,
    CustomEventFactory,
    JourneyFactory,
    MessageTypeFactory,
    NotificationFactory,
    ProjectFactory,
    TemplateFactory,
)

from catalog.iterable import clear_client_cache
from iterable_emulator.testing import EmulatorServer


@pytest.fixture(scope="session")
def sync_emulator_server():
    with EmulatorServer(seed(), rate_limits_enabled=False) as emu:
        yield emu


@pytest.fixture
def sync_emulator(sync_emulator_server, monkeypatch):
    """The session's emulator back at our seed, with the projects' key variables set."""
    sync_emulator_server.load_seed(seed())  # not reset(): a test may have loaded another seed
    sync_emulator_server.clear_requests()
    monkeypatch.setenv("ITERABLE_API_KEY_SYNC_A", A_KEY)
    monkeypatch.setenv("ITERABLE_API_KEY_SYNC_B", B_KEY)
    monkeypatch.setenv("ITERABLE_API_KEY_SYNC_C", WRONG_KEY)
    clear_client_cache()
    yield sync_emulator_server
    clear_client_cache()


def _notification(project, key, message_type, templates=(), **fields):
    fields.setdefault("campaign_id", None)
    return NotificationFactory(
        key=key, name=key.replace("_", " ").capitalize(), message_type=message_type, templates=list(templates), **fields
    )


@pytest.fixture
def sync_catalog(db, sync_emulator):
    """Projects A (drifting), B (clean) and C (a wrong API key), all pointing at the emulator."""
    url = sync_emulator.us_url
    a = ProjectFactory(name="Sync A", api_key_env="ITERABLE_API_KEY_SYNC_A", api_base_url=url)
    b = ProjectFactory(name="Sync B", api_key_env="ITERABLE_API_KEY_SYNC_B", api_base_url=url)
    c = ProjectFactory(name="Sync C broken", api_key_env="ITERABLE_API_KEY_SYNC_C", api_base_url=url)

    marketing = ChannelFactory(project=a, iterable_id=101, name="Marketing Channel")
    transactional = ChannelFactory(
        project=a, iterable_id=102, name="Transactional Channel", channel_type="Transactional"
    )
    types = {}
    for iid, name, channel, policy in [
        (201, "Product Marketing", marketing, "OptIn"),
        (202, "Marketing Message", marketing, "OptOut"),
        (203, "Transactional", transactional, "OptOut"),
        (204, "Product Updates", marketing, "OptIn"),
        (205, "Receipts", transactional, "OptOut"),
    ]:
        types[iid] = MessageTypeFactory(channel=channel, iterable_id=iid, name=name, policy=policy)
    templates = {}
    for iid, name, mt, extra in [
        (401, "Digest", 201, {"campaign_id": 501}),
        (402, "Welcome", 203, {"campaign_id": 502}),
        (499, "Gone welcome", 203, {}),
        (403, "Invoice", 201, {"campaign_id": 503}),
        (404, "Updates", 204, {"campaign_id": 504}),
        (405, "Receipt", 205, {"campaign_id": 505}),
        (406, "Stopped", 201, {"campaign_id": 506}),
        (407, "Blast", 201, {"campaign_id": 507}),
        (410, "Trial day 1", 201, {"client_template_id": "trial-1"}),
        (412, "Promo", 201, {}),
    ]:
        templates[iid] = TemplateFactory(message_type=types[mt], iterable_id=iid, name=name, **extra)
    events = {name: CustomEventFactory(project=a, name=name) for name in ["signedUp", "cartAbandoned", "trialStarted"]}
    journeys = {
        iid: JourneyFactory(project=a, iterable_id=iid, name=name, trigger_event_names=[event])
        for iid, name, event in [
            (601, "Onboarding", "signedUp"),
            (602, "Old onboarding", "signedUp"),
            (603, "Cart", "cartAbandoned"),
            (604, "Trial", "trialStarted"),
            (699, "Deleted journey", "signedUp"),
        ]
    }
    t, m = templates, types
    notifications = {
        n.key: n
        for n in [
            _notification(a, "clean_digest", m[201], [t[401]], campaign_id=501),
            _notification(a, "missing_template", m[203], [t[402], t[499]], campaign_id=502),
            _notification(a, "type_changed", m[201], [t[403]], campaign_id=503),
            _notification(a, "policy_changed", m[204], [t[404]], campaign_id=504),
            _notification(a, "channel_changed", m[205], [t[405]], campaign_id=505),
            _notification(a, "campaign_stopped", m[201], [t[406]], campaign_id=506),
            _notification(a, "campaign_blast", m[201], [t[407]], campaign_id=507),
            _notification(a, "campaign_gone", m[201], [], campaign_id=599),
            _notification(a, "campaign_copy", m[201], [t[412]], campaign_id=512),
            _notification(a, "old_thing", m[201], [], campaign_id=598, status="deprecated"),
        ]
        + [
            _notification(
                a, key, m[201], tmpl, trigger_type="custom_event", event=events[event], journey=journeys[journey]
            )
            for key, event, journey, tmpl in [
                ("journey_disabled", "signedUp", 601, []),
                ("journey_archived", "signedUp", 602, []),
                ("journey_wrong_event", "cartAbandoned", 603, []),
                ("journey_gone", "signedUp", 699, []),
                ("journey_copy", "trialStarted", 604, [t[410]]),
            ]
        ]
    }

    b_channel = ChannelFactory(project=b, iterable_id=111, name="Transactional Channel", channel_type="Transactional")
    b_type = MessageTypeFactory(channel=b_channel, iterable_id=211, name="Transactional", policy="OptOut")
    b_template = TemplateFactory(message_type=b_type, iterable_id=441, name="Reset", campaign_id=541)
    _notification(b, "password_reset", b_type, [b_template], campaign_id=541)
    return SimpleNamespace(a=a, b=b, c=c, types=types, templates=templates, notifications=notifications)
