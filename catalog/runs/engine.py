"""The engine's shared pieces: lease, pacing, the slice loop and the supervisor's resume-or-fail.

Every function takes the run's model class, so the resync and the seed jobs use the same code (see
``catalog/runs/__init__.py``). The run model needs ``status``, ``lease_owner``, ``lease_until``,
``batches_done``, ``batch_size``, ``enqueued_at``, ``resumes``, ``resumed_at_batch``, ``finished_at`` and
``last_error``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, Model, Q
from django.utils import timezone

from catalog.iterable.pacing import DEFAULT_MARGIN, SlidingWindow, SpacedWindow
from catalog.services.bulk import rows_update
from catalog.workers import shutdown_requested

logger = logging.getLogger(__name__)

_pacers: dict[tuple[Any, ...], SlidingWindow] = {}
_call_pacers: dict[tuple[Any, ...], SpacedWindow] = {}
# A SpacedWindow counts a window from a call's answer, which comes after the server counted the call: no
# allowance for network or scheduling jitter is needed, only for the two clocks' rates.
CALL_MARGIN = 0.01
_pacers_lock = threading.Lock()


def pacer(key: tuple[Any, ...], rate: float) -> SlidingWindow | None:
    """One write pacer per ``key`` (kind, project…) and rate in this process, shared by successive slices.
    ``rate`` is calls per second; 0 means unpaced (the client still paces to Iterable's documented limits)."""
    if rate <= 0:
        return None
    full_key = (*key, rate)
    with _pacers_lock:
        if full_key not in _pacers:
            # Whole calls per window: a fractional rate (0.5/s) becomes 1 call per 2 s.
            count, period = (rate, 1.0) if rate >= 1 else (1, 1.0 / rate)
            _pacers[full_key] = SlidingWindow(count, period * (1 + DEFAULT_MARGIN), clock=time.monotonic)
        return _pacers[full_key]


def pace(window: SlidingWindow | None) -> None:
    """Wait for the next slot of ``window`` (outside its lock)."""
    if window is not None:
        delay = window.acquire()
        if delay > 0:
            time.sleep(delay)


def call_pacer(key: tuple[Any, ...], rate: float) -> SpacedWindow | None:
    """One pacer per ``key`` and rate in this process for calls made one per row by many threads (a job's
    deletes, its reads): started in order, evenly spaced, a window after the calls before them ended."""
    if rate <= 0:
        return None
    full_key = (*key, rate)
    with _pacers_lock:
        if full_key not in _call_pacers:
            count, period = (rate, 1.0) if rate >= 1 else (1, 1.0 / rate)
            _call_pacers[full_key] = SpacedWindow(count, period * (1 + CALL_MARGIN), clock=time.monotonic)
        return _call_pacers[full_key]


@contextmanager
def paced_call(window: SpacedWindow | None) -> Iterator[None]:
    """Wait for the call's place in ``window``, make the call inside the block, and free the place after."""
    if window is None:
        yield
        return
    call, delay = window.acquire()
    try:
        if delay > 0:
            time.sleep(delay)
        yield
    finally:
        window.release(call)


def lease_acquire(model: type[Model], run_id: int, token: str, *, active: Sequence[str], seconds: float) -> bool:
    """Take (or extend) the run's lease if it is active and nobody else holds an unexpired one."""
    now = timezone.now()
    return bool(
        model._default_manager.filter(pk=run_id, status__in=active)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=token))
        .update(lease_owner=token, lease_until=now + timedelta(seconds=seconds))
    )


def lease_release(model: type[Model], run_id: int, token: str, **fields: Any) -> None:
    model._default_manager.filter(pk=run_id, lease_owner=token).update(lease_owner="", lease_until=None, **fields)


def lease_held(run: Any, now: datetime | None = None) -> bool:
    return bool(run.lease_until and run.lease_until > (now or timezone.now()))


class ReadAhead:
    """The batch after the current one, read while the current one's Iterable call is in flight.

    A batch's call waits on the network and the next batch's read on the database, so doing both at once hides
    the read (see ``catalog.services.iterable_support.call_while``). Read only after the current batch's rows are
    all taken: pending rows after its last id, which are what the loop would read once the batch is checkpointed.
    The loop uses it only if nobody else checkpointed the run meanwhile, and never to decide the run is done."""

    def __init__(self, read: Callable[[], list], batches_done: int) -> None:
        self._read = read
        self.items: list | None = None
        # The run's batch count once the current batch is checkpointed: any other count means another worker
        # (a resume after a lapsed lease) or a retry of failed rows moved the run, and this read is stale.
        self.batches_done = batches_done

    def __call__(self) -> None:
        if self.items is not None:
            return
        try:
            self.items = self._read()
        except Exception:
            # The batch's write is in flight and must still be checkpointed: the loop reads again instead.
            logger.exception("Reading the next batch ahead failed; it is read again after the checkpoint")

    def usable(self, run: Any) -> bool:
        """Read, not empty (the loop's own read decides a run is done), and the run moved by this batch alone."""
        return bool(self.items) and run.batches_done == self.batches_done


@dataclass
class Slice:
    """What one kind of run plugs into the slice loop."""

    model: type[Model]
    active: Sequence[str]
    lease_seconds: float
    done_status: str
    failed_status: str
    # (run, after) -> the run's next batch of pending items with ids above ``after`` ([] when none is left)
    next_items: Callable[[Any, int], list]
    # (run, items, read_ahead) -> "ok", "retry" (items still pending) or "stop"; the batch may call
    # read_ahead() while its Iterable call is in flight (call_while), and the loop then takes that batch next
    process_batch: Callable[[Any, list, ReadAhead], str]
    enqueue: Callable[[int], None]  # queue the run's continuation
    refresh_fields: Sequence[str] = ("batch_size", "batches_done", "status")


def slice_run(spec: Slice, run: Any, token: str, deadline: float) -> str:
    """Process ``run`` batch by batch while holding its lease, until it is done (``"done"``), the slice's
    ``deadline`` (monotonic) passes or the worker is stopping (``"continue"``: a continuation is enqueued), the
    lease is lost or the run cancelled (``"stopped"``), or a batch asks to stop the run (``"stopped"``, failed)."""
    ahead: ReadAhead | None = None
    while True:
        if not lease_acquire(spec.model, run.pk, token, active=spec.active, seconds=spec.lease_seconds):
            return "stopped"
        run.refresh_from_db(fields=list(spec.refresh_fields))
        items = ahead.items if ahead is not None and ahead.usable(run) else spec.next_items(run, 0)
        if not items:
            spec.model._default_manager.filter(pk=run.pk, status__in=spec.active).update(
                status=spec.done_status, finished_at=timezone.now()
            )
            lease_release(spec.model, run.pk, token)
            return "done"
        last = items[-1].pk
        ahead = ReadAhead(partial(spec.next_items, run, last), run.batches_done + 1)
        outcome = spec.process_batch(run, items, ahead)
        if outcome != "ok":
            ahead = None  # the batch's rows are still pending: the next read starts again from the first
        if outcome == "stop":
            lease_release(spec.model, run.pk, token, status=spec.failed_status, finished_at=timezone.now())
            return "stopped"
        if time.monotonic() >= deadline or shutdown_requested():  # a stopping worker ends at the checkpoint
            lease_release(spec.model, run.pk, token)
            with transaction.atomic():
                spec.enqueue(run.pk)
            return "continue"


def stalled(run: Any, *, active: Sequence[str], stall_seconds: float, now: datetime | None = None) -> bool:
    """Active, yet nobody has held its lease nor queued its task for ``stall_seconds``."""
    now = now or timezone.now()
    if run.status not in active:
        return False
    quiet_since = now - timedelta(seconds=stall_seconds)
    if run.lease_until and run.lease_until > quiet_since:
        return False
    return not (run.enqueued_at and run.enqueued_at > quiet_since)


def last_task_failure(task_name: str, since: datetime | None) -> str:
    """What django-q recorded about the named task's last failure since ``since``, in one line."""
    from django_q.models import Task

    failures = Task.objects.filter(name=task_name, success=False)
    if since:
        failures = failures.filter(stopped__gte=since)
    task = failures.order_by("-stopped").first()
    if task is None:
        return ""
    return str(task.result or "").split(" : ", 1)[0].strip()[:300]


@dataclass
class Supervised:
    """What the supervisor needs to know about one kind of run."""

    model: type[Model]
    active: Sequence[str]
    failed_status: str
    max_resumes: int
    enqueue: Callable[[int], None]
    on_failed: Callable[[Any, str], object]  # (run, reason): the audit event of a run given up on
    failed_message: Callable[[int, str], str]  # (resumes, reason) -> the run's last_error
    kind: str = "run"


def resume_or_fail(spec: Supervised, run: Any, *, reason: str, overran: bool = False, token: str = "") -> str:
    """Resume a stalled run from its checkpoint, halving its batches when its task overran (a batch must fit
    in the task's time), or fail it with ``reason`` after ``max_resumes`` resumes in a row that did not get it
    further. Returns ``"resumed"``, ``"failed"`` or ``"skipped"`` (no longer active, or someone else's)."""
    run.refresh_from_db()
    if run.status not in spec.active:
        return "skipped"
    resumes = 1 if run.batches_done > run.resumed_at_batch else run.resumes + 1
    lease = Q(lease_owner=token) if token else Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    manager = spec.model._default_manager
    with transaction.atomic():
        if resumes > spec.max_resumes:
            updated = manager.filter(lease, pk=run.pk, status__in=spec.active).update(
                status=spec.failed_status,
                finished_at=timezone.now(),
                last_error=spec.failed_message(resumes - 1, reason)[:2000],
                lease_owner="",
                lease_until=None,
            )
            if updated:
                spec.on_failed(run, reason)
            return "failed" if updated else "skipped"
        batch_size = max(1, run.batch_size // 2) if overran else run.batch_size
        updated = manager.filter(lease, pk=run.pk, status__in=spec.active).update(
            resumes=resumes,
            resumed_at_batch=run.batches_done,
            batch_size=batch_size,
            last_error=f"Resumed from its checkpoint after batch {run.batches_done}: {reason}."[:2000],
            lease_owner="",
            lease_until=None,
        )
        if updated:
            logger.warning("%s %s resumed (%s); batches of %d", spec.kind, run.pk, reason, batch_size)
            spec.enqueue(run.pk)
    return "resumed" if updated else "skipped"


def stopped_message(resumes: int, reason: str, *, rows: str) -> str:
    """The last error of a run given up on (``rows``: what its pending items are, "rows", "contacts")."""
    return (
        f"Stopped: its task was resumed {resumes} times without getting further. Last reason: {reason}. "
        f"Its pending {rows} were not sent; fix the cause, then use 'retry failed'."
    )


def overran(spec: Supervised, *, run_id: int, token: str, timeout_seconds: float) -> str:
    """The run's task hit its timeout mid-slice: resume from the checkpoint with smaller batches now, rather
    than wait for the supervisor (django-q acknowledges a timed-out task and never delivers it again)."""
    run = spec.model._default_manager.filter(pk=run_id).first()
    if run is None:
        return "skipped"
    reason = f"its task overran its {timeout_seconds} s time limit (Iterable slow to answer?)"
    return resume_or_fail(spec, run, reason=reason, overran=True, token=token)


def supervise(
    spec: Supervised,
    *,
    queued_names: set[str] | None,
    task_name: Callable[[int], str],
    stall_seconds: float,
    now: datetime | None = None,
) -> dict[str, int]:
    """Resume (or fail) every stalled run whose task is not waiting in the queue. ``queued_names``: the task
    names in the broker's queue, ``None`` when they cannot be known (then nothing is resumed on a guess)."""
    now = now or timezone.now()
    counts = {"resumed": 0, "failed": 0}
    run: Any
    for run in spec.model._default_manager.filter(status__in=spec.active).order_by("pk"):
        if not stalled(run, active=spec.active, stall_seconds=stall_seconds, now=now):
            continue
        if queued_names is None or task_name(run.pk) in queued_names:
            continue  # the broker still holds its task and will deliver it (again)
        failure = last_task_failure(task_name(run.pk), run.enqueued_at)
        overran = "timeout" in failure.lower()
        reason = failure or "its task was lost (the worker stopped, or the queue dropped it)"
        outcome = resume_or_fail(spec, run, reason=reason, overran=overran)
        if outcome in counts:
            counts[outcome] += 1
    return counts


@dataclass
class Result:
    """What a batch did with one of its rows."""

    status: str
    outcome: str
    diff: dict = field(default_factory=dict)
    error_code: str = ""
    error_message: str = ""


ITEM_FIELDS = ["status", "outcome", "diff", "error_code", "error_message", "attempts", "batch_no", "processed_at"]


def items_write(
    model: type[Model],
    groups: dict[tuple[str, str], list[int]],
    detailed: Sequence[tuple[int, int, Result]],
    *,
    batch_no: int,
    now: datetime,
) -> None:
    """Write a batch's rows: plain outcomes in one UPDATE per (status, outcome) group, rows with a detail
    (a difference or a failure: ``(pk, attempts so far, result)``) by one set-based UPDATE of ``ITEM_FIELDS``.
    Called inside the batch's transaction."""
    for (status, outcome), ids in groups.items():
        model._default_manager.filter(pk__in=ids).update(
            status=status,
            outcome=outcome,
            attempts=F("attempts") + 1,
            batch_no=batch_no,
            processed_at=now,
            diff={},  # a retried row's earlier failure or difference is no longer its outcome
            error_code="",
            error_message="",
        )
    rows = (
        [pk, r.status, r.outcome, r.diff, r.error_code, r.error_message, attempts + 1, batch_no, now]
        for pk, attempts, r in detailed
    )
    rows_update(model, rows, ITEM_FIELDS)
