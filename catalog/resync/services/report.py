"""A resync run's results in people's words: channel, message type and list NAMES instead of Iterable ids and
array names, outcomes as sentences, the changes counted per type and channel, and the full list of changes as a
CSV (streamed, formula cells escaped).

Reads only. What a run changed per contact is what its items recorded: a dry run keeps every contact's
difference; an apply of a dry run writes the contacts whose difference the dry run recorded (it reads them again
first, so a contact that came into step meanwhile is "already in step" and was not written); a run started
without a dry run keeps the difference of each contact it updated or created.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, QuerySet, Value

from catalog.io.services.export import csv_cell
from catalog.iterable import IterableError
from catalog.models import Channel, IterableProject, MessageType, ResyncItem, ResyncRun
from catalog.resync.services.conf import ARRAYS
from catalog.services.iterable_support import iterable_schema_cached, iterable_schema_fetch

logger = logging.getLogger(__name__)

CHANNELS = "unsubscribedChannelIds"
UNSUBSCRIBED_TYPES = "unsubscribedMessageTypeIds"
SUBSCRIBED_TYPES = "subscribedMessageTypeIds"
LISTS = "emailListIds"

# What each array is, in a person's words (the settings and the results say the same).
ARRAY_LABELS = {
    CHANNELS: "Channels the contact is unsubscribed from",
    UNSUBSCRIBED_TYPES: "Message types the contact is unsubscribed from",
    SUBSCRIBED_TYPES: "Opt-in message types the contact is subscribed to",
    LISTS: "Lists the contact is on",
}

# One change to one array, as a contact's page would say it.
CHANGE_WORDS = {
    (CHANNELS, "add"): "Unsubscribes from channel",
    (CHANNELS, "remove"): "Resubscribes to channel",
    (CHANNELS, "set"): "Unsubscribed channels become",
    (UNSUBSCRIBED_TYPES, "add"): "Unsubscribes from",
    (UNSUBSCRIBED_TYPES, "remove"): "Resubscribes to",
    (UNSUBSCRIBED_TYPES, "set"): "Unsubscribed message types become",
    (SUBSCRIBED_TYPES, "add"): "Subscribes to",
    (SUBSCRIBED_TYPES, "remove"): "No longer subscribed to",
    (SUBSCRIBED_TYPES, "set"): "Subscribed message types become",
    (LISTS, "add"): "Joins list",
    (LISTS, "remove"): "Leaves list",
    (LISTS, "set"): "Lists become",
}
DROPPED = "Kept off (its channel is unsubscribed)"
KEPT_MISALIGNED = "Left subscribed on an unsubscribed channel (outside the settings)"
DIRECTIONS = ("add", "remove", "set")

# A run item's outcome, in words, and the part of the picture it belongs to.
OUTCOME_WORDS = {
    "would_change": "Would change",
    "changed": "Updated",
    "created": "Created in Iterable and updated",
    "in_sync": "Already in step",
    "nothing_in_scope": "Nothing the settings let it write",
    "read_failed": "Failed: could not read the contact",
    "send_failed": "Failed: the update was not sent",
    "rejected": "Failed: Iterable refused the update",
    "cancelled": "Cancelled before it was reached",
}
CHANGED_OUTCOMES = ("would_change", "changed", "created")
IN_STEP_OUTCOMES = ("in_sync", "nothing_in_scope")
FAILURE_CODE_WORDS = {
    "invalidEmail": "Iterable says the address is invalid",
    "validEmailFailure": "Iterable refused the update",
}


@dataclass
class Names:
    """The project's channels, message types and lists by Iterable id, with what to say for an unknown id."""

    channels: dict[int, str] = field(default_factory=dict)
    types: dict[int, str] = field(default_factory=dict)
    type_channel: dict[int, str] = field(default_factory=dict)
    lists: dict[int, str] = field(default_factory=dict)
    lists_unavailable: bool = False

    def name(self, array: str, iterable_id: int) -> str:
        if array == CHANNELS:
            return self.channels.get(iterable_id) or f"Channel {iterable_id} (not in the catalog)"
        if array == LISTS:
            return self.lists.get(iterable_id) or f"List {iterable_id}"
        return self.types.get(iterable_id) or f"Message type {iterable_id} (not in the catalog)"

    def channel_of(self, array: str, iterable_id: int) -> str:
        """The channel a change belongs to: the channel itself, a message type's channel, nothing for a list."""
        if array == CHANNELS:
            return self.name(array, iterable_id)
        if array == LISTS:
            return ""
        return self.type_channel.get(iterable_id, "")


def resync_names(*, project: IterableProject, lists: bool = True, read_iterable: bool = True) -> Names:
    """Names for a project's ids: channels and message types from the catalog; lists from Iterable (the catalog
    has none), from the short-lived schema cache or one read within the request's budget (``read_iterable``
    False: the cache only). If Iterable does not answer, a list is called by its number and ``lists_unavailable``
    says why."""
    return resync_names_of([project], lists=lists, read_iterable=read_iterable)[project.pk]


def resync_names_of(
    projects: Iterable[IterableProject], *, lists: bool = True, read_iterable: bool = True
) -> dict[int, Names]:
    """resync_names of each project, by project id: the channels and message types of them all in one query,
    whatever the number of projects."""
    projects = list(projects)
    found = {project.pk: Names() for project in projects}
    # Channels and message types in one query: the same columns on both sides, told apart by ``kind``.
    columns = ("project_id", "iterable_id", "name", "kind", "channel_name")
    channels = Channel.objects.filter(project__in=list(found)).order_by()
    channels = channels.annotate(kind=Value("channel"), channel_name=Value("")).values_list(*columns)
    types = MessageType.objects.filter(project__in=list(found)).order_by()
    types = types.annotate(kind=Value("type"), channel_name=F("channel__name")).values_list(*columns)
    for project_id, iterable_id, name, kind, channel in channels.union(types, all=True):
        if kind == "channel":
            found[project_id].channels[iterable_id] = name
        else:
            found[project_id].types[iterable_id] = name
            found[project_id].type_channel[iterable_id] = channel
    for project in projects if lists else ():
        names = found[project.pk]
        schema = iterable_schema_cached(project)
        if schema is None and read_iterable:
            try:
                schema = iterable_schema_fetch(project)
            except IterableError as error:
                logger.info("List names of %s not read: %s", project, error)
                names.lists_unavailable = True
        if schema is not None:
            names.lists = {int(i): str(row.get("name") or f"List {i}") for i, row in schema.lists.items()}
    return found


SCOPE_SHORT = {
    CHANNELS: "Unsubscribed channels",
    UNSUBSCRIBED_TYPES: "Unsubscribed message types",
    SUBSCRIBED_TYPES: "Subscribed opt-in types",
    LISTS: "Lists",
}


def scope_words(scope: dict, names: Names) -> list[tuple[str, str]]:
    """A project's scope in words: [("Unsubscribed channels", "all"), ("Lists", "Beta, Webinar")]."""
    out = []
    for array in ARRAYS:
        value = (scope or {}).get(array)
        if value is None:
            continue
        shown = "all" if value == "all" else ", ".join(names.name(array, int(i)) for i in value) or "none"
        out.append((SCOPE_SHORT[array], shown))
    return out


CONTACT_FIELDS = {
    "unsubscribed_channel_ids": CHANNELS,
    "unsubscribed_message_type_ids": UNSUBSCRIBED_TYPES,
    "subscribed_message_type_ids": SUBSCRIBED_TYPES,
    "email_list_ids": LISTS,
}


def contact_arrays_in_words(contacts: Iterable[Any]) -> None:
    """Give each contact preference ``in_words``: its desired arrays by name (None: the truth says nothing), with
    the names of its own project (every project's read at once). Lists' names come from Iterable for a page of one
    project, and from the schema cache only when a page mixes projects (no call per project)."""
    contacts = list(contacts)
    projects = {contact.project_id: contact.project for contact in contacts}
    names = resync_names_of(projects.values(), read_iterable=len(projects) == 1)
    for contact in contacts:
        project_names = names[contact.project_id]
        contact.in_words = {
            name: None
            if getattr(contact, name) is None
            else [project_names.name(array, int(i)) for i in getattr(contact, name)]
            for name, array in CONTACT_FIELDS.items()
        }


def diff_arrays(diff: dict) -> Iterator[tuple[str, str, list[int]]]:
    """(array, direction, ids) for each change a stored difference holds, in the arrays' order."""
    arrays = diff.get("arrays") or {}
    for array in ARRAYS:
        change = arrays.get(array) or {}
        for direction in DIRECTIONS:
            if direction in change and (change[direction] or direction == "set"):
                yield array, direction, list(change[direction])


def diff_lines(diff: dict, names: Names) -> list[tuple[str, list[str]]]:
    """One contact's difference as (phrase, names): [("Subscribes to", ["Weekly digest", "Product news"])]."""
    lines = [
        (CHANGE_WORDS[(array, direction)], [names.name(array, i) for i in ids] or ["none"])
        for array, direction, ids in diff_arrays(diff)
    ]
    if diff.get("dropped"):
        lines.append((DROPPED, [names.name(SUBSCRIBED_TYPES, i) for i in diff["dropped"]]))
    if diff.get("kept_misaligned"):
        lines.append((KEPT_MISALIGNED, [names.name(SUBSCRIBED_TYPES, i) for i in diff["kept_misaligned"]]))
    return lines


def diff_needs_lists(diffs: Iterable[dict]) -> bool:
    return any((d.get("arrays") or {}).get(LISTS) for d in diffs)


def changed_items(run: ResyncRun) -> QuerySet[ResyncItem]:
    """The items whose stored difference says what the run changed (or would change), oldest first.

    A dry run: its contacts that would change. An apply: the dry run's differences of the contacts this run
    updated. A run without a dry run: the differences it kept for the contacts it updated or created."""
    if run.dry_run:
        return run.items.filter(outcome="would_change").order_by("id")
    if run.source_run_id:
        updated = run.items.filter(outcome__in=("changed", "created")).values("contact_id")
        return ResyncItem.objects.filter(run_id=run.source_run_id, contact_id__in=updated).order_by("id")
    return run.items.filter(outcome__in=("changed", "created")).exclude(diff={}).order_by("id")


def changes_shown(run: ResyncRun, summary: ChangeSummary) -> bool:
    """Whether the run's per-contact changes are known (see the module docstring); runs from before differences
    were kept for runs without a dry run have none, and say their counts instead."""
    return run.dry_run or run.source_run_id is not None or summary.contacts > 0


@dataclass
class ChangeRow:
    phrase: str
    name: str
    channel: str
    contacts: int


@dataclass
class ChangeSummary:
    """What a run changed (or would): contacts per change, per channel, and the first contacts' changes."""

    rows: list[ChangeRow]
    per_channel: list[tuple[str, int]]
    samples: list[dict[str, Any]]
    contacts: int
    names: Names

    @property
    def more(self) -> int:
        """Contacts changed beyond the first ones shown (they are in the download)."""
        return max(0, self.contacts - len(self.samples))


def resync_change_summary(*, run: ResyncRun, samples: int = 20) -> ChangeSummary:
    """Contacts per (change, name), contacts per channel touched, and the first ``samples`` contacts' changes."""
    per_change: Counter[tuple[str, str, int]] = Counter()
    contacts = 0
    first: list[tuple[dict, str]] = []
    # One pass, oldest first: the counts read every difference, and the samples are the first ones.
    for diff, email in changed_items(run).values_list("diff", "contact__email").iterator(chunk_size=2000):
        contacts += 1
        if len(first) < samples:
            first.append((diff, email))
        for array, direction, ids in diff_arrays(diff):
            for i in ids:
                per_change[(array, direction, i)] += 1
        for i in diff.get("dropped") or ():
            per_change[(SUBSCRIBED_TYPES, "dropped", i)] += 1
    wants_lists = any(array == LISTS for array, _, _ in per_change) or diff_needs_lists(d for d, _ in first)
    # Nothing changed: no names to give (a run without changes then reads its changes once and nothing else).
    names = resync_names(project=run.project, lists=wants_lists) if contacts else Names()
    order = {array: n for n, array in enumerate(ARRAYS)}
    rows = []
    per_channel: Counter[str] = Counter()

    def position(key: tuple[str, str, int]) -> tuple[int, int, str, str]:
        array, direction, i = key
        rank = DIRECTIONS.index(direction) if direction in DIRECTIONS else len(DIRECTIONS)
        return order[array], rank, names.channel_of(array, i), names.name(array, i)

    for (array, direction, i), count in sorted(per_change.items(), key=lambda kv: position(kv[0])):
        phrase = DROPPED if direction == "dropped" else CHANGE_WORDS[(array, direction)]
        channel = names.channel_of(array, i)
        rows.append(ChangeRow(phrase=phrase, name=names.name(array, i), channel=channel, contacts=count))
        per_channel[channel or "Lists"] += count
    sample_rows = [{"email": email, "lines": diff_lines(diff, names)} for diff, email in first]
    return ChangeSummary(
        rows=rows,
        per_channel=sorted(per_channel.items(), key=lambda kv: (-kv[1], kv[0])),
        samples=sample_rows,
        contacts=contacts,
        names=names,
    )


@dataclass
class Outcome:
    key: str
    label: str
    count: int
    part: str  # the picture's segment: changed, in-step, failed, cancelled, pending


def _part(outcome: str) -> str:
    if outcome in CHANGED_OUTCOMES:
        return "changed"
    if outcome in IN_STEP_OUTCOMES:
        return "in-step"
    if outcome == "cancelled":
        return "cancelled"
    return "failed"


def resync_outcomes(progress: dict[str, Any]) -> list[Outcome]:
    """The run's outcomes in words, largest first, plus the contacts still waiting."""
    rows = [
        Outcome(key, OUTCOME_WORDS.get(key, key.replace("_", " ").capitalize()), count, _part(key))
        for key, count in progress["outcomes"].items()
        if count
    ]
    rows.sort(key=lambda o: (-o.count, o.label))
    if progress["pending"]:
        rows.append(Outcome("pending", "Waiting to be checked", progress["pending"], "pending"))
    return rows


PARTS = [
    ("changed", "Changed"),
    ("in-step", "Already in step"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("pending", "Waiting"),
]


def resync_picture(progress: dict[str, Any]) -> list[dict[str, Any]]:
    """The stacked bar: each part's count, its share of the run (percent) and where it starts."""
    counts: Counter[str] = Counter()
    for outcome in resync_outcomes(progress):
        counts[outcome.part] += outcome.count
    total = max(sum(counts.values()), progress["total"], 1)
    segments, start = [], 0.0
    for part, label in PARTS:
        if not counts[part]:
            continue
        if part == "changed" and progress.get("dry_run"):
            label = "Would change"
        share = 100.0 * counts[part] / total
        segments.append(
            {"part": part, "label": label, "count": counts[part], "x": round(start, 3), "width": round(share, 3)}
        )
        start += share
    return segments


def resync_failure_reasons(*, run: ResyncRun, limit: int = 5) -> list[dict[str, Any]]:
    """Why contacts failed: the most common reasons first, each with how many contacts."""
    rows = (
        run.items.filter(status=ResyncItem.Status.FAILED)
        .values("error_code", "error_message")
        .annotate(n=Count("id"))
        .order_by("-n", "error_code")[:limit]
    )
    return [
        {"reason": failure_reason(r["error_code"], r["error_message"]), "code": r["error_code"], "count": r["n"]}
        for r in rows
    ]


def failure_reason(code: str, message: str) -> str:
    return message or FAILURE_CODE_WORDS.get(code, "") or "No reason was given"


# ---------------------------------------------------------------------------------------------- the CSV

CSV_COLUMNS = ["Contact", "Result", "Change", "Name", "Channel", "Iterable id"]


class _Echo:
    """A file-like target that hands back what csv.writer wrote, one line at a time (a streamed download)."""

    def write(self, text: str) -> str:
        return text


def resync_changes_csv_lines(*, run: ResyncRun, names: Names | None = None) -> Iterator[str]:
    """Every change of the run, one line per contact and name, then every failure with its reason; read 2,000
    items at a time. Cells a spreadsheet would evaluate as a formula are escaped (``csv_cell``)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    if names is None:
        names = resync_names(project=run.project)
    result = "Would change" if run.dry_run else "Changed"
    for item in changed_items(run).select_related("contact").iterator(chunk_size=2000):
        email = item.contact.email
        for array, direction, ids in diff_arrays(item.diff):
            phrase = CHANGE_WORDS[(array, direction)]
            if not ids:  # a whole array set to nothing
                yield writer.writerow([csv_cell(v) for v in [email, result, phrase, "none", "", ""]])
            for i in ids:
                row: list[Any] = [email, result, phrase, names.name(array, i), names.channel_of(array, i), i]
                yield writer.writerow([csv_cell(v) for v in row])
        for key, phrase in (("dropped", DROPPED), ("kept_misaligned", KEPT_MISALIGNED)):
            for i in item.diff.get(key) or ():
                channel = names.channel_of(SUBSCRIBED_TYPES, i)
                row = [email, result, phrase, names.name(SUBSCRIBED_TYPES, i), channel, i]
                yield writer.writerow([csv_cell(v) for v in row])
    failed = run.items.filter(status=ResyncItem.Status.FAILED).select_related("contact").order_by("id")
    for item in failed.iterator(chunk_size=2000):
        reason = failure_reason(item.error_code, item.error_message)
        yield writer.writerow([csv_cell(v) for v in [item.contact.email, "Failed", reason, "", "", ""]])


def resync_changes_filename(run: ResyncRun) -> str:
    kind = "dry-run" if run.dry_run else "resync"
    return f"{kind}-{run.pk}-changes.csv"
