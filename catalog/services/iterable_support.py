"""What every service that talks to Iterable shares: the project's Iterable-side schema (cached briefly),
and one way to turn an IterableError into a sentence staff can act on."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.core.cache import cache

from catalog.iterable import IterableError, client_for_project
from catalog.models import IterableProject

SCHEMA_CACHE_SECONDS = 60


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


def iterable_schema_fetch(project: IterableProject) -> IterableSchema:
    """Read the schema from Iterable now (three concurrent calls) and cache it for the next lookups.

    Safe to call from a worker thread: it touches no database.
    """
    client = client_for_project(project)
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="schema") as pool:
        channels, message_types, lists = (
            pool.submit(client.get_channels),
            pool.submit(client.get_message_types),
            pool.submit(client.get_lists),
        )
        schema = IterableSchema(
            channels={c["id"]: c for c in channels.result()},
            message_types={m["id"]: m for m in message_types.result()},
            lists={lst["id"]: lst for lst in lists.result()},
        )
    cache.set(_cache_key(project), schema, SCHEMA_CACHE_SECONDS)
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
    if error.code in {"ReadTimeout", "ConnectTimeout", "OutcomeUnknown"}:
        return f"Iterable did not answer in time for {where}. It may be slow or down; try again shortly."
    if error.code in {"ConnectionFailed", "ConnectionDropped", "TransportError"}:
        return f"Could not reach Iterable for {where}: {error.msg}"
    if error.status and error.status >= 500:
        return f"Iterable had an error ({error.status} {error.code}) for {where}. Try again shortly."
    return f"Iterable answered {error.status or ''} {error.code} for {where}: {error.msg}".replace("  ", " ")
