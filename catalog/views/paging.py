"""Pages of long lists whose cost does not grow with the list.

CappedPaginator numbers pages but counts at most COUNT_CAP rows, so a page of a 100,000-row list never
counts them all; KeysetPage walks a list newest first by position (the audit trail, a million rows), where
an offset would read and skip every row before the page.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, cast

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Q, QuerySet

COUNT_CAP = 1000
# Past this an offset only overflows the database's integer (SQLite raises, it is not a client error).
MAX_OFFSET = 2**31 - 1
# Rows per page on every list page of the dashboard.
PAGE_SIZE = 50


class CappedPage(Page):
    def __init__(self, object_list, number, paginator, has_more: bool | None = None):
        super().__init__(object_list, number, paginator)
        self.has_more = has_more

    def has_next(self) -> bool:
        return super().has_next() if self.has_more is None else self.has_more

    @property
    def numbers(self) -> list:
        """Page numbers to link around this one, with Paginator.ELLIPSIS where some are left out: the first and
        last and two either side when the count is known; past the cap (no last page known) the first, the two
        before this one, and the next if there is one."""
        paginator = self.paginator
        if not getattr(paginator, "capped", False):
            return list(paginator.get_elided_page_range(self.number, on_each_side=2, on_ends=1))
        ellipsis = paginator.ELLIPSIS
        shown = sorted({1, *range(max(1, self.number - 2), self.number + 1)})
        if self.has_more:
            shown.append(self.number + 1)
        numbers: list = []
        for n in shown:
            if numbers and n - numbers[-1] > 1:
                numbers.append(ellipsis)
            numbers.append(n)
        return [*numbers, ellipsis] if self.has_more else numbers


class CappedPaginator(Paginator):
    """A Paginator that counts up to COUNT_CAP rows. Past that, `capped` is true, the pager says "more than
    COUNT_CAP", any page number is accepted and a page knows whether another follows by reading one row more.

    `counted`: the same rows to count, when object_list reads more than counting needs (values joined from
    related tables, whose joins would stay in the count)."""

    def __init__(self, object_list, per_page, cap: int = COUNT_CAP, *, counted=None):
        super().__init__(object_list, per_page)
        self.cap = cap
        self.counted = object_list if counted is None else counted

    @cached_property
    def count(self) -> int:
        # values("pk") leaves computed columns (the list's sends over 30 days) out of the counted rows.
        rows = cast("QuerySet[Any]", self.counted)
        return rows.order_by().values("pk")[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    def page(self, number):
        """The page's rows are read first, one more than a page: a page that is not full is the list's last, so
        its rows give the count and the count is never asked for (a search with a few matches costs one query).
        A full page counts, up to the cap, when the pager asks how many pages there are."""
        number = self._number(number)
        bottom = (number - 1) * self.per_page
        if bottom > MAX_OFFSET:
            raise EmptyPage("That page contains no results")
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        has_more = len(rows) > self.per_page
        if not rows and number > 1:
            if not self.capped:
                raise EmptyPage("That page contains no results")
        elif not has_more and "count" not in self.__dict__:
            self.__dict__["count"] = bottom + len(rows)  # the cached_property's own slot
        return CappedPage(rows[: self.per_page], number, self, has_more=has_more)

    def validate_number(self, number):
        # Past the cap any page may follow (the pager's next and previous numbers are checked here too): only
        # its form is checked, and a page past the end is read as empty.
        return self._number(number) if self.capped else super().validate_number(number)

    @staticmethod
    def _number(number) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def _get_page(self, *args, **kwargs):
        # Every page of a capped list is a CappedPage, so a pager can number its neighbours.
        return CappedPage(*args, **kwargs)

    def get_page(self, number):
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(1 if self.capped else self.num_pages)


@dataclass
class KeysetPage:
    """One page of a list ordered newest first by (created_at, id), with cursors to the older and newer pages."""

    object_list: list
    older: str | None
    newer: str | None


def _cursor(row) -> str:
    return f"{row.created_at.isoformat()}~{row.pk}"


def _parse_cursor(value: str | None) -> tuple[datetime, int] | None:
    if not value or "~" not in value:
        return None
    at, _, key = value.rpartition("~")
    try:
        parsed, pk = datetime.fromisoformat(at), int(key)
    except ValueError:
        return None
    return (parsed, pk) if parsed.tzinfo is not None else None


def keyset_page(queryset, *, before: str | None, after: str | None, size: int) -> KeysetPage:
    """Rows newest first: the first page, the page older than `before` or the page newer than `after` (an
    unreadable cursor is the first page). Reads size + 1 rows and never counts."""
    older_than, newer_than = _parse_cursor(before), _parse_cursor(after)
    if newer_than is not None:
        at, pk = newer_than
        newer = queryset.filter(Q(created_at__gt=at) | Q(pk__gt=pk), created_at__gte=at)
        rows = list(newer.order_by("created_at", "pk")[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        return KeysetPage(rows, _cursor(rows[-1]) if rows else None, _cursor(rows[0]) if rows and more_newer else None)
    if older_than is not None:
        at, pk = older_than
        # The plain bound on created_at lets the database walk its index from the cursor on.
        queryset = queryset.filter(Q(created_at__lt=at) | Q(pk__lt=pk), created_at__lte=at)
    rows = list(queryset.order_by("-created_at", "-pk")[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    older = _cursor(rows[-1]) if rows and more_older else None
    newer = _cursor(rows[0]) if rows and older_than is not None else None
    return KeysetPage(rows, older, newer)
