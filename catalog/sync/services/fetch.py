"""Read a project's catalog from Iterable: every page of every kind, nothing written while reading."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catalog.iterable import IterableError
from catalog.iterable.client import CAMPAIGNS_MAX_PAGE_SIZE, JOURNEYS_MAX_PAGE_SIZE, TEMPLATES_MAX_PAGE_SIZE
from catalog.models import (
    MirrorKind,
)

logger = logging.getLogger(__name__)


@dataclass
class Fetched:
    items: dict[str, list[dict]] = field(default_factory=dict)
    calls: Counter = field(default_factory=Counter)


class SyncFailed(Exception):
    def __init__(self, error: IterableError, calls: Counter):
        super().__init__(str(error))
        self.error = error
        self.calls = calls




def _pages(fetch: Callable[..., Any], calls: Counter, endpoint: str, page_size: int, **kwargs) -> list[dict]:
    """Every item of a paginated listing, at ``page_size``, counting the calls (our own walk, to count them)."""
    items: list[dict] = []
    number = 1
    while True:
        calls[endpoint] += 1
        page = fetch(page=number, page_size=page_size, **kwargs)
        items += page.items
        if not page.has_next:
            return items
        number += 1


def fetch_catalog(client) -> Fetched:
    fetched = Fetched()
    calls = fetched.calls
    try:
        calls["GET /api/channels"] += 1
        fetched.items[MirrorKind.CHANNEL] = client.get_channels()
        calls["GET /api/messageTypes"] += 1
        fetched.items[MirrorKind.MESSAGE_TYPE] = client.get_message_types()
        fetched.items[MirrorKind.TEMPLATE] = _pages(
            client.get_templates_page, calls, "GET /api/templates", TEMPLATES_MAX_PAGE_SIZE
        )
        fetched.items[MirrorKind.CAMPAIGN] = _pages(
            client.get_campaigns_page, calls, "GET /api/campaigns", CAMPAIGNS_MAX_PAGE_SIZE
        )
        live = _pages(client.get_journeys_page, calls, "GET /api/journeys", JOURNEYS_MAX_PAGE_SIZE)
        archived = _pages(
            client.get_journeys_page, calls, "GET /api/journeys", JOURNEYS_MAX_PAGE_SIZE, state="Archived"
        )
        fetched.items[MirrorKind.JOURNEY] = live + [{**j, "isArchived": True} for j in archived]
    except IterableError as error:
        raise SyncFailed(error, calls) from error
    return fetched


def minimum_calls(*, templates: int, campaigns: int, journeys: int = 0, archived_journeys: int = 0) -> int:
    """The fewest calls a sync can make: one per listing page at the maximum page size (at least one each)."""
    return (
        2
        + max(1, math.ceil(templates / TEMPLATES_MAX_PAGE_SIZE))
        + max(1, math.ceil(campaigns / CAMPAIGNS_MAX_PAGE_SIZE))
        + max(1, math.ceil(journeys / JOURNEYS_MAX_PAGE_SIZE))
        + max(1, math.ceil(archived_journeys / JOURNEYS_MAX_PAGE_SIZE))
    )
