"""A contact lookup costs as many SQL queries in four projects as in one, at every door (the page, the API, a
recorded lookup opened again by its address), and at most 10 for the lookup itself and for the API. Iterable is the
demo emulator over loopback; every project here is its Student project under another name (each with its own
catalog rows), so the contact, their sends and their events are the same in each. Counted on a warm second
request: the first caches each project's schema.

The page's own reads come on top of the lookup's (session, permissions, live health's reported events, the form's
project and notification pickers drawn again), so it is held here to not growing; it is over 10 until those are
read with the lookup's rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from factories import ChannelFactory, MessageTypeFactory, NotificationFactory, ProjectFactory, TemplateFactory
from rest_framework.test import APIClient

from catalog import models
from catalog.contacts.services import contact_lookup_run
from catalog.tokens.services import api_token_create

LIMIT = 10
CONTACT = "lookup.queries@example.com"
STUDENT_KEY = ("ITERABLE_API_KEY_STUDENT_US", "test-student-key")


def add_projects(emulator, upto: int) -> None:
    """Projects "Lookup 0".."Lookup upto-1" (those not made yet), each with the Student project's marketing and
    transactional channels and types, the digest's two templates, three notifications (one deprecated, which a
    lookup leaves out) and a succeeded sync."""
    made = models.IterableProject.objects.filter(name__startswith="Lookup ").count()
    for i in range(made, upto):
        project = ProjectFactory(name=f"Lookup {i}", api_key_env=STUDENT_KEY[0], api_base_url=emulator.us_url)
        marketing = ChannelFactory(project=project, iterable_id=1, name="Marketing Channel")
        transactional = ChannelFactory(
            project=project, iterable_id=2, name="Transactional Channel", channel_type="Transactional"
        )
        opt_in = MessageTypeFactory(channel=marketing, iterable_id=11, name="GitLab Marketing")
        receipts = MessageTypeFactory(channel=transactional, iterable_id=13, name="Transactional", policy="OptOut")
        digest_a = TemplateFactory(message_type=opt_in, iterable_id=510001, name=f"Digest A {i}")
        digest_b = TemplateFactory(message_type=opt_in, iterable_id=510002, name=f"Digest B {i}")
        NotificationFactory(
            key=f"lookup_{i}_digest", name=f"Digest {i}", message_type=opt_in, campaign_id=410001,
            templates=[digest_a, digest_b],
        )  # fmt: skip
        NotificationFactory(key=f"lookup_{i}_receipt", name=f"Receipt {i}", message_type=receipts, campaign_id=410002)
        NotificationFactory(
            key=f"lookup_{i}_old", name=f"Old {i}", message_type=opt_in, campaign_id=410099, status="deprecated"
        )
        now = timezone.now()
        models.SyncRun.objects.create(
            project=project, started_at=now - timedelta(minutes=1), finished_at=now, status="succeeded"
        )


@pytest.fixture
def lookups(db, demo_emulator, monkeypatch, user_in_role):
    """The page's and the API's clients of someone who may look contacts up, and the contact in Iterable: opted
    in to the digest's type, sent the digest, with an event."""
    from django.core.cache import cache

    from catalog.iterable import IterableClient, clear_client_cache

    monkeypatch.setenv(*STUDENT_KEY)
    demo_emulator.reset()
    clear_client_cache()
    cache.clear()
    iterable = IterableClient(api_key=STUDENT_KEY[1], base_url=demo_emulator.us_url)
    iterable.update_subscriptions(email=CONTACT, subscribed_message_type_ids=[11])
    iterable.email_target(410001, recipient_email=CONTACT)
    iterable.track("SaaS Free Registration", email=CONTACT, data_fields={"company": "Acme"})

    user = user_in_role("marketing")
    page = Client()
    page.force_login(user)
    page.user = user
    api = APIClient()
    _, token = api_token_create(actor=user, user=user, name="lookup queries")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    yield page, api
    clear_client_cache()


def counted(send) -> tuple[int, object]:
    """The queries of a warm request (the first caches the schema of every project looked in)."""
    assert send().status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = send()
    assert response.status_code == 200, response.content[:500]
    return len(queries), response


def lookup_counts(page: Client, api: APIClient) -> tuple[dict[str, int], list]:
    """Each door's queries for an every-project lookup, a one-project lookup, and a recorded one opened again;
    with the API's answer to the every-project lookup (to check it explains every project)."""
    one = models.IterableProject.objects.get(name="Lookup 0")
    found: dict[str, int] = {}
    url, api_url = reverse("catalog:contact_lookup"), "/api/contacts/lookup/"
    found["page, every project"], _ = counted(lambda: page.post(url, {"email": CONTACT}))
    found["page, one project"], _ = counted(lambda: page.post(url, {"email": CONTACT, "project": one.pk}))
    found["API, every project"], everywhere = counted(lambda: api.post(api_url, {"email": CONTACT}, format="json"))
    found["API, one project"], _ = counted(
        lambda: api.post(api_url, {"email": CONTACT, "project": one.pk}, format="json")
    )
    recorded = models.AuditEvent.objects.filter(action="contact_lookup", changes__scope="every project").latest("pk")
    shared = reverse("catalog:contact_lookup_shared", args=[recorded.pk])
    found["page, opened again"], _ = counted(lambda: page.get(shared))
    found["API, opened again"], _ = counted(lambda: api.get(f"{api_url}{recorded.pk}/"))
    with CaptureQueriesContext(connection) as queries:
        contact_lookup_run(actor=page.user, email=CONTACT)
    found["service, every project"] = len(queries)
    return found, everywhere.json()


def explained(answer: list) -> dict[str, tuple]:
    """What a lookup said of each project: reach per notification, and its history's catalog names."""
    return {
        lookup["project"]: (
            lookup["found"],
            sorted((r["notification"], r["allowed"], r["rule"]) for r in lookup["reach"]),
            sorted((h["kind"], h["label"], h["notification"]) for h in lookup["history"]),
        )
        for lookup in answer
    }


def test_a_lookup_costs_as_many_queries_in_four_projects_as_in_one(lookups, demo_emulator):
    page, api = lookups
    add_projects(demo_emulator, 1)
    few, answer = lookup_counts(page, api)
    assert explained(answer) == {
        "Lookup 0": (
            True,
            [("lookup_0_digest", True, "opted-in"), ("lookup_0_receipt", True, "opt-out-default")],
            [
                ("event", "Digest 0", "lookup_0_digest"),  # Iterable's emailSend event of the digest
                ("event", "SaaS Free Registration", None),
                ("sent", "Digest 0", "lookup_0_digest"),
            ],
        )
    }

    add_projects(demo_emulator, 4)
    many, answer = lookup_counts(page, api)
    # Each project's history names its own notification, though all four share the campaign's id.
    assert explained(answer)["Lookup 3"][2] == [
        ("event", "Digest 3", "lookup_3_digest"),
        ("event", "SaaS Free Registration", None),
        ("sent", "Digest 3", "lookup_3_digest"),
    ]
    assert len(answer) == 4 and all(lookup["found"] and len(lookup["reach"]) == 2 for lookup in answer)

    grows = {door: (few[door], many[door]) for door in few if few[door] != many[door]}
    over = {door: n for door, n in many.items() if n > LIMIT and not door.startswith("page")}
    assert not over, f"more than {LIMIT} queries: {over}"
    assert not grows, f"queries grow with the projects (1 project, 4 projects): {grows}"
