"""What capabilities add to the core's pages, without the core importing them (import rule 1).

A capability registers its parts from its own `panels.py` (`catalog/sends/panels.py`, `catalog/sync/panels.py`,
`catalog/health/panels.py`), which `CatalogConfig.ready()` imports; the core's pages and FilterSet ask this
registry what to show. Three kinds of parts:

- **Panels**: a part of a catalog object's page (`kinds`: the model names it is shown for, None for every
  kind): a section (`slot="section"`), a row of the notification's facts (`slot="fact"`) or the page's
  history (`slot="history"`). `context(obj, request)` reads what the panel shows and returns its template's
  context, or None to show nothing. Pages have a query budget (tests/perf: ten), so a panel reads in as
  few queries as it can, and it may leave what it read on the object for the verdict (the sync's guard
  findings: `catalog.guard.verdicts.GUARD_FINDINGS_ATTR`), which the page computes after the panels. A panel
  whose read is a few subqueries on the object's row gives `annotate(queryset, request)`: the page adds them to
  its own read of the object (`panels_annotate`), and the panel then reads nothing itself.
- **List columns**: a column of the notification list, its value annotated on the rows
  (`annotate(queryset)`), written by `cell(notification)` (escaped HTML), sortable by `?ordering=<sort>`.
- **List filters**: a django-filter `Filter` under its query parameter, on the list page, the CSV export
  and the API alike; `annotate` adds what the filter or the sort needs only when it is asked for (a column
  that costs a subquery per row is then not paid for by the API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.http import HttpRequest
    from django_filters import Filter

    from catalog.core.models import Notification


@dataclass(frozen=True)
class Panel:
    """A part of a catalog object's page provided by a capability."""

    name: str
    template: str
    context: Callable[[Any, HttpRequest], dict[str, Any] | None]
    slot: Literal["section", "fact", "history"] = "section"
    kinds: tuple[str, ...] | None = ("notification",)
    order: int = 100
    # What the panel reads, as annotations on the page's own read of the object; None: it reads on its own.
    annotate: Callable[[QuerySet, HttpRequest], QuerySet] | None = None


@dataclass(frozen=True)
class ListColumn:
    """A column of the notification list provided by a capability."""

    name: str
    label: str
    annotate: Callable[[QuerySet], QuerySet]
    cell: Callable[[Notification], str]
    # The ?ordering= value that sorts by it, and the annotation it sorts on; None: not sortable.
    sort: str | None = None
    sort_field: str | None = None
    order: int = 100


@dataclass(frozen=True)
class ListFilter:
    """A filter of the notification list (page, CSV and API) provided by a capability. `make()` builds a fresh
    django-filter Filter (a FilterSet copies its filters; one instance must not serve two classes)."""

    name: str
    make: Callable[[], Filter]
    # Whether the filter's value needs `annotate` on the queryset first (None: never).
    annotate: Callable[[QuerySet], QuerySet] | None = None
    order: int = 100


_panels: dict[str, Panel] = {}
_columns: dict[str, ListColumn] = {}
_filters: dict[str, ListFilter] = {}


def _register(registry: dict, item) -> None:
    # Registering the same part again (a module imported twice) replaces it; two parts under one name would
    # make the page depend on import order.
    registry[item.name] = item


def register_panel(panel: Panel) -> Panel:
    _register(_panels, panel)
    return panel


def register_column(column: ListColumn) -> ListColumn:
    _register(_columns, column)
    return column


def register_filter(list_filter: ListFilter) -> ListFilter:
    _register(_filters, list_filter)
    return list_filter


def panels(kind: str) -> list[Panel]:
    """The panels of a page of this kind of object (a model name), in their order."""
    found = [p for p in _panels.values() if p.kinds is None or kind in p.kinds]
    return sorted(found, key=lambda p: (p.order, p.name))


def panels_annotate(queryset: QuerySet, request) -> QuerySet:
    """The page's read of its object (`queryset`, of one kind) with what its panels read from the same row."""
    for panel in panels(queryset.model._meta.model_name or ""):
        if panel.annotate is not None:
            queryset = panel.annotate(queryset, request)
    return queryset


def panels_read(obj, request) -> dict[str, list[tuple[Panel, dict[str, Any]]]]:
    """Each panel of `obj`'s page with its context, by slot, read now (so a page's queries are counted where it
    is built, not while its template renders); a panel whose context is None is left out."""
    shown: dict[str, list[tuple[Panel, dict[str, Any]]]] = {"section": [], "fact": [], "history": []}
    for panel in panels(obj._meta.model_name):
        context = panel.context(obj, request)
        if context is not None:
            shown[panel.slot].append((panel, context))
    return shown


def columns() -> list[ListColumn]:
    return sorted(_columns.values(), key=lambda c: (c.order, c.name))


def filters() -> list[ListFilter]:
    return sorted(_filters.values(), key=lambda f: (f.order, f.name))


def sort_annotations() -> dict[str, Callable[[QuerySet], QuerySet]]:
    """For each registered ?ordering= value, what the rows need annotated to be sorted by it."""
    return {c.sort: c.annotate for c in columns() if c.sort}
