"""The activity page numbers its pages (a count capped at COUNT_CAP): next and previous pages cover every event
once, newest first, even when many events share a timestamp (the order ends on the id)."""

import re
from html import unescape

from django.urls import reverse
from django.utils import timezone

from catalog.models import AuditEvent

AUDIT = reverse("catalog:audit_list")


def _events(total: int) -> list[int]:
    at = timezone.now()
    AuditEvent.objects.bulk_create(
        AuditEvent(actor_label="paging", action="update", object_type="owner", object_repr=f"event {i}")
        for i in range(total)
    )
    # Three timestamps for 120 events: the cursor must tell apart events of the same instant by id.
    for i, event in enumerate(AuditEvent.objects.filter(actor_label="paging").order_by("pk")):
        AuditEvent.objects.filter(pk=event.pk).update(created_at=at - timezone.timedelta(seconds=i // 40))
    return list(AuditEvent.objects.order_by("-created_at", "-pk").values_list("pk", flat=True))


def _shown(response) -> list[int]:
    return [event.pk for event in response.context["page"].object_list]


def _link(response, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', response.content.decode())
    return AUDIT + unescape(found.group(1)) if found else None


def test_older_and_newer_pages_cover_every_event_once(small_catalog, client_in_role):
    client = client_in_role("viewer")
    expected = _events(120)
    response = client.get(AUDIT)
    pages = [_shown(response)]
    assert _link(response, "prev") is None
    while (older := _link(response, "next")) is not None:
        response = client.get(older)
        pages.append(_shown(response))
    assert [pk for page in pages for pk in page] == expected
    assert [len(page) for page in pages] == [50, 50, len(expected) - 100]

    back = []
    while (newer := _link(response, "prev")) is not None:
        response = client.get(newer)
        back.append(_shown(response))
    assert back == pages[-2::-1]


def test_an_unreadable_page_number_is_the_first_page_and_one_out_of_range_the_last(small_catalog, client_in_role):
    client = client_in_role("viewer")
    expected = _events(60)
    for number in ["nonsense", "1.5", ""]:
        response = client.get(AUDIT, {"page": number})
        assert response.status_code == 200
        assert _shown(response) == expected[:50]
    for number in ["99", "0", "-1"]:
        assert _shown(client.get(AUDIT, {"page": number})) == expected[50:]
