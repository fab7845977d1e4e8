"""What every service that talks to Iterable shares: one way to make independent Iterable calls at once
(``fan_out``), the project's Iterable-side schema (cached briefly), and one way to turn an IterableError into
a sentence staff can act on."""

import contextvars
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import cache

from catalog.iterable import IterableClient, IterableError, client_for_project
from catalog.models import IterableProject

SCHEMA_CACHE_SECONDS = 60
# A fan-out's threads at most; a caller with more calls than this queues the rest (a lookup of every project
# makes 3 to 6 calls per project).
FAN_OUT_MAX_THREADS = 32

K = TypeVar("K")
T = TypeVar("T")


def _in_context(pool: ThreadPoolExecutor, call: Callable[..., T], *args: Any) -> Future[T]:
    """``call`` in a thread of ``pool``, in a copy of the caller's context: the request's Iterable deadline (and
    its request id) follows it into the thread."""
    return pool.submit(contextvars.copy_context().run, call, *args)


def fan_out(calls: Mapping[K, Callable[[], T]], *, max_workers: int | None = None) -> dict[K, T | IterableError]:
    """Run independent Iterable calls at once; return each one's result, or the IterableError it raised, by key.

    Any other exception is a bug and is raised. The calls must not touch the database: each thread would open a
    connection of its own and never close it.
    """
    if not calls:
        return {}
    workers = max(1, min(len(calls), max_workers or FAN_OUT_MAX_THREADS))

    def guarded(call: Callable[[], T]) -> T | IterableError:
        try:
            return call()
        except IterableError as error:
            return error

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iterable")
    try:
        futures = {key: _in_context(pool, guarded, call) for key, call in calls.items()}
        results = {key: future.result() for key, future in futures.items()}
    except BaseException:
        # Stopped here (a task at its time limit): end now, and start none of the calls still queued.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def call_while(call: Callable[[], T], meanwhile: Callable[[], object]) -> T:
    """Make one Iterable ``call`` in a thread while this thread runs ``meanwhile`` (database work, on this
    thread's connection); return the call's result or raise its exception. As in ``fan_out``, the call must not
    touch the database."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iterable")
    try:
        future = _in_context(pool, call)
        meanwhile()
        return future.result()
    finally:
        # Not waiting for the call: a task stopped at its time limit (an exception raised in this thread) must
        # end now, not when Iterable answers; its rows are still pending and the resume sends them again.
        pool.shutdown(wait=False)


def first_error(results: Mapping[Any, Any]) -> IterableError | None:
    """The first IterableError among a fan-out's results, for callers that need every call to succeed."""
    return next((value for value in results.values() if isinstance(value, IterableError)), None)


@dataclass(frozen=True)
class IterableSchema:
    """A project's channels, message types and lists as Iterable holds them, by id."""

    channels: dict[int, dict]
    message_types: dict[int, dict]
    lists: dict[int, dict]


def _cache_key(project: IterableProject) -> str:
    return f"iterable-schema:{project.pk}:{project.api_key_env}:{project.api_base_url}"


def iterable_schema_cached(project: IterableProject) -> IterableSchema | None:
    return cache.get(_cache_key(project))


SCHEMA_READS = ("channels", "message_types", "lists")


def iterable_schema_calls(client: IterableClient) -> dict[str, Callable[[], list[dict]]]:
    """The three reads a schema is made of (named as in SCHEMA_READS), for a caller's fan-out."""
    return {"channels": client.get_channels, "message_types": client.get_message_types, "lists": client.get_lists}


def iterable_schema_store(project: IterableProject, results: Mapping[str, Any]) -> IterableSchema | IterableError:
    """The schema built from ``iterable_schema_calls``' results and cached for the next lookups, or the first
    error among them."""
    error = first_error(results)
    if error is not None:
        return error
    schema = IterableSchema(
        channels={c["id"]: c for c in results["channels"]},
        message_types={m["id"]: m for m in results["message_types"]},
        lists={lst["id"]: lst for lst in results["lists"]},
    )
    cache.set(_cache_key(project), schema, SCHEMA_CACHE_SECONDS)
    return schema


def iterable_schema_fetch(project: IterableProject) -> IterableSchema:
    """Read the schema from Iterable now (three calls at once) and cache it for the next lookups."""
    schema = iterable_schema_store(project, fan_out(iterable_schema_calls(client_for_project(project))))
    if isinstance(schema, IterableError):
        raise schema
    return schema


def explain_iterable_error(error: IterableError, project: IterableProject) -> str:
    """One sentence for staff: what went wrong with Iterable and what to do about it."""
    where = f"Iterable project '{project.name}'"
    if error.code == "MissingApiKey":
        return f"{where} has no API key on this server: set the environment variable {project.api_key_env}."
    if error.code in {"BadApiKey", "BadAuthorizationHeader", "Unauthorized", "Forbidden"} or error.status == 401:
        return (
            f"Iterable refused the API key of {where} ({error.code}). The key in {project.api_key_env} is wrong, "
            f"revoked, or belongs to the other data centre (this project is {project.data_center})."
        )
    if error.code == "RateLimitExceeded" or error.status == 429:
        return f"Iterable is rate limiting {where} right now. Try again in a few seconds."
    if error.code == "InvalidEmailAddressError":
        return f"Iterable says the email address is not valid: {error.msg}"
    if error.code == "DeadlineExceeded":
        budget = (error.params or {}).get("budget_seconds") if isinstance(error.params, dict) else None
        within = f"within the {budget:g} s a page may wait for it" if budget else "in the time a page may wait for it"
        return (
            f"Iterable did not answer {within} for {where}, so the page stopped waiting and nothing more was asked "
            "of it. Iterable may be slow right now; try again shortly."
        )
    if error.code in {"ReadTimeout", "ConnectTimeout", "OutcomeUnknown"}:
        return f"Iterable did not answer in time for {where}. It may be slow or down; try again shortly."
    if error.code in {"ConnectionFailed", "ConnectionDropped", "TransportError"}:
        return f"Could not reach Iterable for {where}: {error.msg}"
    if error.status and error.status >= 500:
        return f"Iterable had an error ({error.status} {error.code}) for {where}. Try again shortly."
    return f"Iterable answered {error.status or ''} {error.code} for {where}: {error.msg}".replace("  ", " ")
