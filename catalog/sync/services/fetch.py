"""Read a project's catalog from Iterable: every page of every kind, nothing written while reading."""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field

from catalog.iterable import IterableError
from catalog.iterable.client import (
    CAMPAIGNS_MAX_PAGE_SIZE,
    JOURNEYS_MAX_PAGE_SIZE,
    TEMPLATES_MAX_PAGE_SIZE,
    counting_calls,
)
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


def fetch_catalog(client) -> Fetched:
    """Every channel, message type, template, campaign and journey (live and archived), at the maximum page
    sizes, with the logical calls it took."""
    fetched = Fetched()
    with counting_calls() as calls:
        try:
            fetched.items[MirrorKind.CHANNEL] = client.get_channels()
            fetched.items[MirrorKind.MESSAGE_TYPE] = client.get_message_types()
            fetched.items[MirrorKind.TEMPLATE] = list(client.iter_templates())
            fetched.items[MirrorKind.CAMPAIGN] = list(client.iter_campaigns())
            live = list(client.iter_journeys())
            archived = list(client.iter_journeys(state="Archived"))
            fetched.items[MirrorKind.JOURNEY] = live + [{**j, "isArchived": True} for j in archived]
        except IterableError as error:
            raise SyncFailed(error, Counter(calls)) from error
    fetched.calls = Counter(calls)
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
