"""The dashboard's numbered lists read a page before they count: a page that is not full is the list's last, so
its rows give the count and no count is run (a search with a few matches costs one query, not two); a full page
counts up to the cap. Whatever was or was not counted, the pager tells the truth."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import models
from catalog.views.paging import PAGE_SIZE, CappedPaginator


def _events(count: int, label: str = "paged") -> None:
    models.AuditEvent.objects.bulk_create(
        models.AuditEvent(actor_label=label, action="update", object_type="owner", object_repr=f"{label} {i}")
        for i in range(count)
    )


def _page(number, queryset=None, cap=1000):
    queryset = models.AuditEvent.objects.order_by("-id") if queryset is None else queryset
    with CaptureQueriesContext(connection) as queries:
        page = CappedPaginator(queryset, PAGE_SIZE, cap).get_page(number)
        shown = (list(page.object_list), page.paginator.count, page.has_next(), page.has_previous())
    counted = sum("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    return page, shown, counted, len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [0, 1, PAGE_SIZE - 1, PAGE_SIZE])
def test_a_list_that_fits_on_one_page_is_read_once_and_never_counted(rows):
    _events(rows)
    _, (listed, count, has_next, has_previous), counted, queries = _page(1)
    assert len(listed) == count == rows
    assert not has_next and not has_previous
    assert counted == 0 and queries == 1


@pytest.mark.django_db
def test_a_full_page_counts_and_the_last_page_is_told_by_its_rows():
    _events(2 * PAGE_SIZE + 7)
    _, (listed, count, has_next, _), counted, queries = _page(1)
    assert len(listed) == PAGE_SIZE and count == 2 * PAGE_SIZE + 7 and has_next
    assert counted == 1 and queries == 2
    page, (listed, count, has_next, has_previous), counted, queries = _page(3)
    assert len(listed) == 7 and count == 2 * PAGE_SIZE + 7 and not has_next and has_previous
    assert counted == 0 and queries == 1
    assert page.paginator.num_pages == 3 and list(page.numbers) == [1, 2, 3]
    assert page.start_index() == 2 * PAGE_SIZE + 1 and page.end_index() == 2 * PAGE_SIZE + 7


@pytest.mark.django_db
def test_an_exactly_full_last_page_and_pages_past_the_end():
    _events(2 * PAGE_SIZE)
    _, (listed, count, has_next, _), _, _ = _page(2)
    assert len(listed) == PAGE_SIZE and count == 2 * PAGE_SIZE and not has_next
    # Out of range (past the end, huge, below one): the last page, as Django's paginator answers; not a number: the
    # first.
    for number in (3, 99, 10**15, 0, -4):
        page, (listed, count, has_next, _), _, _ = _page(number)
        assert page.number == 2 and len(listed) == PAGE_SIZE and not has_next, number
    for number in ("x", "", None, "2.5"):
        page, (listed, _, _, _), _, _ = _page(number)
        assert page.number == 1 and len(listed) == PAGE_SIZE, number


@pytest.mark.django_db
def test_past_the_cap_a_page_still_knows_whether_another_follows():
    _events(3 * PAGE_SIZE)
    _, (listed, count, has_next, _), counted, _ = _page(2, cap=PAGE_SIZE)
    assert len(listed) == PAGE_SIZE and count == PAGE_SIZE + 1 and has_next and counted == 1
    page, (listed, _, has_next, _), _, _ = _page(3, cap=PAGE_SIZE)
    assert len(listed) == PAGE_SIZE and not has_next
    page, (listed, _, has_next, _), _, _ = _page(40, cap=PAGE_SIZE)
    assert listed == [] and not has_next and page.number == 40


@pytest.mark.django_db
def test_a_search_with_a_few_matches_on_the_list_page_runs_no_count(small_catalog, client_in_role):
    client = client_in_role("viewer")
    url = reverse("catalog:notification_list")
    client.get(url, {"q": "weekly"})  # the per-process caches (filter choices) filled first
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"q": "weekly"})
    assert response.status_code == 200
    assert "weekly_digest" in response.content.decode()
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "LIMIT 1001" in q["sql"]]
    assert "1 in all" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("number", [20, 21, 22, 23, 999])
def test_every_page_of_a_list_past_the_cap_draws_its_pager(small_catalog, client_in_role, number):
    """Past the cap the count stops at 1,001 (21 pages of 50), but the list goes on: its pager's next and previous
    links are numbered past that without an error, and a page past the end is empty with a way back."""
    _events(1130, label="capped")
    response = client_in_role("viewer").get(reverse("catalog:audit_list"), {"page": number})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Page {number}" in page
    assert (f"page={number - 1}" in page) and 'rel="prev"' in page
    has_next = number * PAGE_SIZE < models.AuditEvent.objects.count()
    assert (f"page={number + 1}" in page and 'rel="next"' in page) == has_next
