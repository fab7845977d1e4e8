"""The merge, pure: the arrays to send so that nothing the source of truth does not speak about is wiped."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from catalog.iterable.client import SUBSCRIPTION_ARRAYS
from catalog.models import (
    SUBSCRIPTION_ARRAY_FIELDS,
)
from catalog.resync.services.conf import ALL, SUBSCRIBED, UNSUB_CHANNELS
from catalog.resync.services.rules import Rules

logger = logging.getLogger(__name__)


def desired_arrays(contact: Any, rules: Rules) -> dict[str, list[int] | None]:
    """The arrays the resync may write for this contact (``None``: leave it alone), filtered to scope.
    ``contact``: anything with ContactPreference's array fields (a resync batch reads them as plain rows)."""
    out: dict[str, list[int] | None] = {}
    for field_name, array in SUBSCRIPTION_ARRAY_FIELDS.items():
        value = getattr(contact, field_name)
        scope = rules.scope.get(array)
        if value is None or scope is None or (array == SUBSCRIBED and not rules.opt_in_enabled):
            out[array] = None
        else:
            out[array] = sorted({int(v) for v in value if scope is ALL or int(v) in scope})
    return out


def needs_read(desired: dict[str, list[int] | None], rules: Rules) -> bool:
    """True when the new value of some array depends on ids outside the scope (so on the current state)."""
    return any(ids is not None and rules.scope.get(a) is not ALL for a, ids in desired.items())


@dataclass
class Merge:
    send: dict[str, list[int]]  # arrays to put in the update row (only those that change, when read)
    diff: dict[str, dict[str, list[int]]]  # array -> {"add": [...], "remove": [...]} (or {"set": [...]})
    dropped: list[int]  # desired opt-in types left out because their channel is unsubscribed
    kept_misaligned: list[int] = field(default_factory=list)  # not owned, kept on an unsubscribed channel

    def row(self, email: str) -> dict[str, Any]:
        """The ``bulkUpdateSubscriptions`` row for this merge."""
        extra = {"validateChannelAlignment": False} if self.kept_misaligned else {}
        return {"email": email, **self.send, **extra}


def merge_subscriptions(
    *, desired: dict[str, list[int] | None], current: dict[str, list[int]] | None, rules: Rules
) -> Merge:
    """The new arrays for one contact. ``current`` is Iterable's state, or ``None`` when it was not read
    (allowed only for arrays whose scope is ``"all"``: callers read first when ``needs_read``)."""
    target: dict[str, list[int]] = {}
    for array, ids in desired.items():
        if ids is None:
            continue
        scope = rules.scope.get(array)
        if scope is ALL:
            target[array] = list(ids)
        else:
            if current is None:
                raise ValueError(f"{array} has a partial scope: read the current state first")
            owned = scope if isinstance(scope, frozenset) else frozenset()
            kept = [i for i in current.get(array, []) if i not in owned]
            target[array] = kept + sorted(set(ids) - set(kept))
    dropped: list[int] = []
    unsubscribed_channels = target.get(UNSUB_CHANNELS)
    if unsubscribed_channels is None and current is not None:
        unsubscribed_channels = current.get(UNSUB_CHANNELS, [])
    channels = set(unsubscribed_channels or ())
    if SUBSCRIBED in target:
        wanted = set(desired[SUBSCRIBED] or ())
        dropped = sorted(i for i in target[SUBSCRIBED] if i in wanted and rules.type_channel.get(i) in channels)
        if dropped:
            target[SUBSCRIBED] = [i for i in target[SUBSCRIBED] if i not in dropped]
    subscribed = target.get(SUBSCRIBED)
    if subscribed is None and current is not None:
        subscribed = current.get(SUBSCRIBED, [])
    # Opt-ins the truth does not own, on a channel that is (now) unsubscribed: kept as they are (never wiped);
    # Iterable would refuse the row, so it goes with validateChannelAlignment=false. The channel still blocks.
    misaligned = sorted(i for i in subscribed or () if rules.type_channel.get(i) in channels)
    if current is None:
        diff = {a: {"set": sorted(v)} for a, v in target.items()}
        return Merge(send=target, diff=diff, dropped=dropped, kept_misaligned=misaligned)
    send, diff = {}, {}
    for array, new in target.items():
        old = current.get(array, [])
        add, remove = sorted(set(new) - set(old)), sorted(set(old) - set(new))
        if add or remove:
            send[array] = new
            diff[array] = {"add": add, "remove": remove}
    return Merge(send=send, diff=diff, dropped=dropped, kept_misaligned=misaligned if send else [])


def current_of(user) -> dict[str, list[int]]:
    return {array: [int(i) for i in getattr(user, attr)] for array, attr in SUBSCRIPTION_ARRAYS.items()}
