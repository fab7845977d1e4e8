"""A large API page (the notifications, the audit trail) is sent a chunk of rows at a time: the body arrives in
several pieces, each written as it is sent, and together they are exactly the page DRF would have rendered whole
(the same keys in the same order, the same bytes). What can be refused is refused before the first byte."""

import json

import pytest
from rest_framework.renderers import JSONRenderer
from testkit.catalogs import bulk_notifications

from catalog import models
from catalog.api import streaming
from catalog.api.pagination import CappedCountPagination
from catalog.core.serializers import NotificationSerializer

ROWS = 2 * streaming.CHUNK_ROWS + 17  # three chunks, the last one short


def _grow(c, count: int) -> None:
    bulk_notifications(c, count, key="streamed", tags=["z", "a"], description="Line “one”\nline two\u2028")


def _pieces(response) -> list[bytes]:
    assert response.status_code == 200
    assert response.streaming, "the page was rendered whole"
    assert response["Content-Type"] == "application/json"
    return list(response.streaming_content)


def test_a_large_notification_page_streams_exactly_what_the_serializer_writes(small_catalog, viewer):
    _grow(small_catalog, ROWS)
    response = viewer.get("/api/notifications/", {"limit": 1000, "ordering": "-updated"})
    pieces = _pieces(response)
    # The head, a piece per chunk of rows, the tail: never the whole page in one piece.
    assert len(pieces) >= 2 + 3
    assert max(len(piece) for piece in pieces) < sum(len(piece) for piece in pieces) / 2
    body = b"".join(pieces)
    queryset = models.Notification.objects.order_by("-updated_at", "key").prefetch_related("templates", "owners")
    whole = {
        "count": queryset.count(),
        "next": None,
        "previous": None,
        "results": NotificationSerializer(queryset, many=True).data,
        "count_capped": False,
    }
    assert body == JSONRenderer().render(whole)  # byte for byte, key order included
    assert (
        len(json.loads(body)["results"])
        == queryset.count()
        == ROWS + models.Notification.objects.exclude(key__startswith="streamed_").count()
    )


def test_pages_follow_on_without_gaps_or_repeats(small_catalog, viewer):
    _grow(small_catalog, ROWS)
    seen, url, pages = [], "/api/notifications/?limit=150&ordering=key", 0
    while url:
        body = viewer.get(url).json()
        seen += [row["key"] for row in body["results"]]
        url, pages = body["next"], pages + 1
        assert body["count"] == models.Notification.objects.count()
    assert pages == -(-models.Notification.objects.count() // 150)
    assert seen == sorted(seen) == list(models.Notification.objects.order_by("key").values_list("key", flat=True))


def test_a_filtered_search_streams_only_its_rows(small_catalog, viewer):
    _grow(small_catalog, ROWS)
    body = viewer.get("/api/notifications/", {"q": "streamed_0001", "limit": 1000}).json()
    keys = sorted(row["key"] for row in body["results"])
    assert keys == [f"streamed_{i:05d}" for i in range(10, 20)]
    assert body["count"] == len(keys)


def test_past_the_end_is_an_empty_page_with_a_way_back(small_catalog, viewer):
    _grow(small_catalog, 30)
    body = viewer.get("/api/notifications/", {"limit": 10, "offset": 5000}).json()
    assert body["results"] == [] and body["next"] is None
    assert "offset=4990" in body["previous"]


def test_an_empty_list_is_valid_json(viewer):
    body = viewer.get("/api/notifications/", {"limit": 1000}).json()
    assert body == {"count": 0, "next": None, "previous": None, "results": [], "count_capped": False}


def test_a_bad_filter_is_refused_before_anything_is_streamed(small_catalog, viewer):
    response = viewer.get("/api/notifications/", {"status": "no-such-status", "limit": 1000})
    assert response.status_code == 400
    assert not response.streaming
    assert response.json()["errors"][0]["field"] == "status"


def test_past_the_count_cap_next_is_read_from_the_rows(small_catalog, viewer, monkeypatch):
    monkeypatch.setattr(CappedCountPagination, "count_cap", 20)
    _grow(small_catalog, 45)
    total = models.Notification.objects.count()
    body = viewer.get("/api/notifications/", {"limit": 10, "offset": 20, "ordering": "key"}).json()
    assert body["count"] == 20 and body["count_capped"] is True
    assert body["next"] is not None and len(body["results"]) == 10
    last = viewer.get("/api/notifications/", {"limit": 10, "offset": total - 5, "ordering": "key"}).json()
    assert last["next"] is None and len(last["results"]) == 5
    exact_end = viewer.get("/api/notifications/", {"limit": 5, "offset": total - 5, "ordering": "key"}).json()
    assert exact_end["next"] is None and len(exact_end["results"]) == 5


def test_the_audit_trail_streams_its_events_masked_for_the_reader(small_catalog, viewer):
    models.AuditEvent.objects.bulk_create(
        models.AuditEvent(
            actor_label="someone",
            action="update",
            object_type="notification",
            object_id=str(i),
            object_repr=f"n{i}",
            changes={"note": f"wrote to person{i}@example.com"},
        )
        for i in range(ROWS)
    )
    response = viewer.get("/api/audit-events/", {"limit": 1000})
    pieces = _pieces(response)
    assert len(pieces) >= 5
    body = json.loads(b"".join(pieces))
    assert body["count"] == models.AuditEvent.objects.count() and len(body["results"]) == body["count"]
    ids = [row["id"] for row in body["results"]]
    assert ids == list(models.AuditEvent.objects.values_list("id", flat=True))  # newest first, as the model orders
    # The viewer may not look contacts up: the addresses stay hidden in every chunk, not only the first.
    assert not any("@example.com" in json.dumps(row["changes"]) for row in body["results"]), body["results"][-1]


@pytest.mark.parametrize("path", ["/api/notifications/", "/api/audit-events/"])
def test_the_test_clients_read_a_streamed_page_whole_more_than_once(small_catalog, viewer, path):
    response = viewer.get(path)
    first = response.json()
    assert response.json() == first == response.data
    assert json.loads(response.content) == first and json.loads(response.text) == first
    assert b"".join(response.streaming_content) == response.content


@pytest.mark.parametrize("path", ["/api/notifications/", "/api/audit-events/"])
def test_a_database_lost_while_the_page_is_read_is_an_error_answer_not_a_page_cut_short(
    small_catalog, viewer, monkeypatch, path
):
    from django.db import OperationalError

    def lost(rows, size=streaming.CHUNK_ROWS):
        raise OperationalError("server closed the connection unexpectedly")
        yield  # a generator, like chunked: it fails when its first chunk is read, not when it is made

    # The first chunk is read in the view: its failure is answered as the API answers a lost database.
    monkeypatch.setattr(streaming, "chunked", lost)
    monkeypatch.setattr("catalog.core.api.chunked", lost)
    viewer.raise_request_exception = False
    response = viewer.get(path, {"limit": 1000})
    assert response.status_code == 503, response.status_code
    assert not response.streaming


def test_streamed_pages_nobody_reads_hold_nothing_of_the_database(small_catalog, viewer):
    """A client that drops a large page unread (a test that checks only the status) leaves no cursor behind: on
    PostgreSQL a server-side cursor closed later by the garbage collector, in the middle of the connection's
    next query, hung the process."""
    import gc

    from testkit.timing import linear_in_the_text

    _grow(small_catalog, ROWS)
    with linear_in_the_text("requests after unread streamed pages", "a cursor of an unread page hung the connection"):
        for path in ("/api/notifications/", "/api/audit-events/") * 3:
            assert viewer.get(path, {"limit": 1000}).status_code == 200  # never read
        gc.collect()
        body = viewer.get("/api/notifications/", {"limit": 1000}).json()
        gc.collect()
    assert len(body["results"]) == models.Notification.objects.count()
