"""The WSGI application: Iterable's ``/api/...`` endpoints plus the ``/_emulator/...`` inspection API.

``make_app(state, data_center="US")`` returns a WSGI callable bound to one data centre. Serve one
per data centre on its own port, sharing one ``State`` (see ``server.py``).
"""

from __future__ import annotations

import copy
import json
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, cast, overload
from urllib.parse import parse_qs, quote, unquote, urlencode

from catalog.iterable.merge_tags import RENDERED_FIELDS, RenderError, render

from .ratelimit import CHOSEN_LIMITS, DOCUMENTED_LIMITS, describe_period
from .state import (
    SUBSCRIPTION_ARRAYS,
    Project,
    SeedError,
    State,
    is_valid_email,
    iterable_time,
    now_ms,
)

JSON_TYPE = "application/json; charset=utf-8"
# The title and opening of Iterable's recorded page for an unknown route (a Play "Action not found").
NOT_FOUND_HTML = (
    '<!doctype html><html><head><meta charset="utf-8"><title>Action not found</title></head>\n'
    "<body><h1>Action not found</h1><p>For request to an unknown path.</p></body></html>\n"
)
JSON_CONTENT_TYPES = ("application/json", "text/json")
SERVICE_UNAVAILABLE_HTML = (
    "<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    "<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n"
)
MEDIUM_BY_SEGMENT = {"email": "Email", "push": "Push", "sms": "SMS", "inapp": "InApp", "inApp": "InApp"}
EVENT_PREFIX = {"Email": "email", "Push": "push", "SMS": "sms", "InApp": "inApp"}
TEMPLATE_TYPES = ("Base", "Blast", "Triggered", "Workflow")
TEMPLATE_MEDIA = ("Email", "Push", "InApp", "SMS")
DEACTIVATED_STATES = ("Draft", "Aborted", "Archived", "Finished")
PROTECTED_FIELDS = {"email", "userId", "signupDate", "signupSource", "profileUpdatedAt", "itblInternal"}
GROUPS = {"emaillist": "emailList", "messagetype": "messageType", "messagechannel": "messageChannel"}


# ------------------------------------------------------------------------------------------------
# Responses and errors
# ------------------------------------------------------------------------------------------------
class Response:
    def __init__(self, status: int, body: bytes, content_type: str, payload: Any = None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.payload = payload  # what the request log records


def json_response(status: int, obj: Any) -> Response:
    return Response(status, json.dumps(obj).encode("utf-8"), JSON_TYPE, obj)


def envelope(status: int, code: str, msg: str = "", params: Any = None) -> Response:
    return json_response(status, {"msg": msg, "code": code, "params": params})


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, text.encode("utf-8"), content_type, text)


class ApiError(Exception):
    """Raised by a handler; becomes an Iterable envelope."""

    def __init__(self, status: int, code: str, msg: str, params: Any = None):
        super().__init__(msg)
        self.status, self.code, self.msg, self.params = status, code, msg, params


class DropConnection(Exception):
    """Close the client's socket without writing a response (fault injection)."""


def invalid_email(value: Any) -> ApiError:
    return ApiError(400, "InvalidEmailAddressError", f"Invalid email: {value}")


def bad_params(msg: str, params: Any = None) -> ApiError:
    return ApiError(400, "BadParams", msg, params)


def forgotten(ident: str) -> ApiError:
    return ApiError(400, "ForgottenUserError", f"User {ident} has been forgotten and cannot be written to")


def unknown_user_id(user_id: str) -> ApiError:
    return ApiError(400, "UnknownUserIdError", f"No user exists with userId: {user_id}")


# ------------------------------------------------------------------------------------------------
# JSON body validation with Play-style JSON-path errors: {"obj.events[1].eventName": [...]}
# ------------------------------------------------------------------------------------------------
class Req:
    """Marks a field as required."""

    def __init__(self, spec: Any):
        self.spec = spec


PLAY_ERRORS = {
    "string": "error.expected.jsstring",
    "int": "error.expected.jsnumber",
    "number": "error.expected.jsnumber",
    "bool": "error.expected.jsboolean",
    "object": "error.expected.jsobject",
    "array": "error.expected.jsarray",
}


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind in ("int", "epoch"):
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    raise AssertionError(kind)


def _check(value: Any, spec: Any, path: str, errors: dict[str, Any]) -> None:
    def fail(msg: str) -> None:
        errors.setdefault(path, [])
        errors[path].append({"msg": msg, "args": []})

    if isinstance(spec, dict):
        if not isinstance(value, dict):
            fail("error.expected.jsobject")
            return
        for key, sub in spec.items():
            required = isinstance(sub, Req)
            sub = sub.spec if required else sub
            blank_required = required and sub == "string" and isinstance(value.get(key), str) and not value[key].strip()
            if value.get(key) is None or blank_required:
                if required:
                    errors[f"{path}.{key}"] = [{"msg": "error.path.missing", "args": []}]
                continue
            _check(value[key], sub, f"{path}.{key}", errors)
    elif isinstance(spec, tuple):  # ("array", item_spec)
        if not isinstance(value, list):
            fail("error.expected.jsarray")
            return
        for i, item in enumerate(value):
            _check(item, spec[1], f"{path}[{i}]", errors)
    elif not _type_ok(value, spec):
        if spec == "epoch":
            # Seen in real traffic for events[n].createdAt: a plain string, not Play's list form.
            errors[path] = "Number value expected"
        else:
            fail(PLAY_ERRORS[spec])


# Epoch values from 1e11 on are read as milliseconds: as seconds they would be past the year 5000.
MS_THRESHOLD = 100_000_000_000
MAX_EVENT_SECONDS = 253402300799  # 9999-12-31 23:59:59 UTC, the last instant a date can print


def event_seconds(config: dict[str, Any], value: Any, path: str) -> float:
    """An event's ``createdAt`` (epoch seconds or milliseconds, per ``created_at_unit``) as seconds."""
    unit = config["created_at_unit"]
    number = float(value)
    if unit == "milliseconds" or (unit == "auto" and abs(number) >= MS_THRESHOLD):
        number /= 1000
    if not 0 <= number <= MAX_EVENT_SECONDS:
        raise bad_params(
            f"Invalid createdAt: {value}; expected epoch seconds or milliseconds between 1970 and 9999",
            {path: "Timestamp out of range"},
        )
    return number


SEND_AT_RE = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d{1,6})?)\s*(Z|[+-]\d\d:?\d\d)?$")


def parse_send_at(value: str) -> datetime:
    """``sendAt`` as Iterable accepts it: ``2022-08-04 08:04:46``, with an optional ``+0000``/``+00:00``/``Z``."""
    m = SEND_AT_RE.match(value.strip())
    if m:
        date, clock, offset = m.groups()
        if offset in (None, "Z"):
            offset = "+00:00"
        elif ":" not in offset:
            offset = f"{offset[:3]}:{offset[3:]}"
        try:
            return datetime.fromisoformat(f"{date}T{clock}{offset}")
        except ValueError:
            pass
    raise bad_params(
        f"Invalid sendAt: {value}; expected yyyy-MM-dd HH:mm:ss with an optional offset such as +0000",
        {"sendAt": value},
    )


DATE_PARAM_RE = re.compile(r"^(\d{4}-\d\d-\d\d)(?:[ T](\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?))?\s*(Z|[+-]\d\d:?\d\d)?$")


def date_param_ms(req: Request, name: str) -> int | None:
    """A query date (``yyyy-MM-dd HH:mm:ss ZZ``, or just a date; UTC without an offset) as epoch ms."""
    raw = req.arg(name)
    if raw is None or not raw.strip():
        return None
    m = DATE_PARAM_RE.match(raw.strip())
    if m:
        date, clock, offset = m.groups()
        clock = clock or "00:00:00"
        if len(clock) == 5:
            clock += ":00"
        if offset in (None, "Z"):
            offset = "+00:00"
        elif ":" not in offset:
            offset = f"{offset[:3]}:{offset[3:]}"
        try:
            return int(datetime.fromisoformat(f"{date}T{clock}{offset}").timestamp() * 1000)
        except ValueError:
            pass
    raise bad_params(f"Invalid {name}: {raw}; expected yyyy-MM-dd HH:mm:ss ZZ", {name: raw})


def bad_json(params: dict[str, Any]) -> ApiError:
    first = next(iter(params.items()))
    detail = first[1] if isinstance(first[1], str) else first[1][0]["msg"]
    return ApiError(400, "BadJsonBody", f"Invalid JSON body: {first[0]}: {detail}", params)


USER_SPEC = {
    "email": "string",
    "userId": "string",
    "dataFields": "object",
    "preferUserId": "bool",
    "mergeNestedObjects": "bool",
    "createNewFields": "bool",
}
SUBS_SPEC = {
    "email": "string",
    "userId": "string",
    "emailListIds": ("array", "int"),
    "subscribedMessageTypeIds": ("array", "int"),
    "unsubscribedChannelIds": ("array", "int"),
    "unsubscribedMessageTypeIds": ("array", "int"),
    "campaignId": "int",
    "templateId": "int",
    "validateChannelAlignment": "bool",
}
TRACK_SPEC = {
    "eventName": Req("string"),
    "email": "string",
    "userId": "string",
    "dataFields": "object",
    "createdAt": "int",
    "campaignId": "int",
    "templateId": "int",
    "id": "string",
    "createNewFields": "bool",
}
BULK_TRACK_ITEM = {**TRACK_SPEC, "createdAt": "epoch"}


# ------------------------------------------------------------------------------------------------
# Requests and routing
# ------------------------------------------------------------------------------------------------
class Request:
    def __init__(self, environ: dict[str, Any]):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        raw = environ.get("emulator.raw_path")
        if raw is None:
            path_info = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
            raw = quote(path_info, safe="/@+:,;=!$&'()*~")
        self.raw_path = raw
        self.path = unquote(raw)
        self.query_string = environ.get("QUERY_STRING", "")
        self.query = parse_qs(self.query_string, keep_blank_values=True)
        self.headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                self.headers[key[5:].replace("_", "-").title()] = value
        if environ.get("CONTENT_TYPE"):
            self.headers["Content-Type"] = environ["CONTENT_TYPE"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            self.body = _read_chunked(environ["wsgi.input"])
        else:
            self.body = environ["wsgi.input"].read(length) if length > 0 else b""
        self.remote_addr = environ.get("REMOTE_ADDR", "")
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT')}"
        self.base_url = f"{environ.get('wsgi.url_scheme', 'http')}://{host}"

    @property
    def api_key(self) -> str | None:
        # The header, or the api_key query parameter that Iterable also accepts.
        return self.environ.get("HTTP_API_KEY") or self.arg("api_key")

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        if not self.body.strip():
            raise bad_json({"obj": [{"msg": "error.expected.jsobject", "args": []}]})
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad_json({"obj": [{"msg": "error.json.parsing", "args": [str(exc)]}]}) from None

    def body_for_log(self) -> Any:
        if not self.body:
            return None
        if len(self.body) > 1024 * 1024:
            return {"_truncated": True, "size": len(self.body)}
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self.body.decode("utf-8", "replace")


MAX_CHUNKED_BODY = 64 * 1024 * 1024


def _read_chunked(stream: Any) -> bytes:
    """A ``Transfer-Encoding: chunked`` body (wsgiref hands the raw stream over without decoding it)."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = stream.readline(1024)
        if not line:
            break  # the client went away mid-body: what arrived is what there is
        try:
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            break
        if size == 0:
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            break
        total += size
        if total > MAX_CHUNKED_BODY:
            parts.append(b" " * (MAX_CHUNKED_BODY + 1))  # only the size matters from here: a 413 follows
            break
        parts.append(stream.read(size))
        stream.readline(1024)  # the CRLF after each chunk
    return b"".join(parts)


class Route:
    def __init__(
        self,
        method: str,
        pattern: str,
        handler: str,
        *,
        mutating: bool = False,
        endpoint: str | None = None,
        **extra: Any,
    ):
        self.method = method
        self.pattern = pattern
        self.handler = handler
        self.mutating = mutating
        self.endpoint = endpoint or f"{method} {pattern}"
        self.extra = extra
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern))
        self.regex = re.compile(f"^{regex}$")


def _routes() -> list[Route]:
    r = [
        Route("GET", "/api/users/getByEmail", "users_get_by_email"),
        Route("GET", "/api/users/byUserId", "users_get_by_user_id_query"),
        Route("GET", "/api/users/byUserId/{userId}", "users_get_by_user_id"),
        Route("DELETE", "/api/users/byUserId/{userId}", "users_delete_by_user_id", mutating=True),
        Route("GET", "/api/users/getSentMessages", "users_get_sent_messages"),
        Route("GET", "/api/users/getFields", "users_get_fields"),
        Route("POST", "/api/users/update", "users_update", mutating=True),
        Route("POST", "/api/users/forget", "users_forget", mutating=True, forget=True),
        Route("POST", "/api/users/unforget", "users_forget", mutating=True, forget=False),
        Route("POST", "/api/users/bulkUpdate", "users_bulk_update", mutating=True),
        Route("POST", "/api/users/updateSubscriptions", "users_update_subscriptions", mutating=True),
        Route("POST", "/api/users/bulkUpdateSubscriptions", "users_bulk_update_subscriptions", mutating=True),
        Route("GET", "/api/users/{email}", "users_get_by_email_path"),
        Route("DELETE", "/api/users/{email}", "users_delete", mutating=True),
        Route(
            "PATCH",
            "/api/subscriptions/{subscriptionGroup}/{subscriptionGroupId}/user/{userEmail}",
            "subscription_single",
            mutating=True,
            subscribe=True,
        ),
        Route(
            "DELETE",
            "/api/subscriptions/{subscriptionGroup}/{subscriptionGroupId}/user/{userEmail}",
            "subscription_single",
            mutating=True,
            subscribe=False,
        ),
        Route(
            "PATCH",
            "/api/subscriptions/{subscriptionGroup}/{subscriptionGroupId}/byUserId/{userId}",
            "subscription_single",
            mutating=True,
            subscribe=True,
        ),
        Route(
            "DELETE",
            "/api/subscriptions/{subscriptionGroup}/{subscriptionGroupId}/byUserId/{userId}",
            "subscription_single",
            mutating=True,
            subscribe=False,
        ),
        Route(
            "PUT",
            "/api/subscriptions/{subscriptionGroup}/{subscriptionGroupId}",
            "subscription_bulk",
            mutating=True,
        ),
        Route("GET", "/api/lists", "lists_get"),
        Route("POST", "/api/lists/subscribe", "lists_subscribe", mutating=True),
        Route("POST", "/api/lists/unsubscribe", "lists_unsubscribe", mutating=True),
        Route("GET", "/api/channels", "channels_get"),
        Route("GET", "/api/messageTypes", "message_types_get"),
        Route("GET", "/api/templates", "templates_get"),
        Route("GET", "/api/campaigns", "campaigns_get"),
        Route("GET", "/api/campaigns/metrics", "campaign_metrics"),  # before {id}, which would match "metrics"
        Route("GET", "/api/campaigns/{id}", "campaign_get"),
        Route("GET", "/api/journeys", "journeys_get"),
        Route("GET", "/api/webhooks", "webhooks_get"),
        Route("POST", "/api/webhooks", "webhook_update", mutating=True),
        Route("POST", "/api/events/track", "events_track", mutating=True),
        Route("POST", "/api/events/trackBulk", "events_track_bulk", mutating=True),
        Route("GET", "/api/events/byUserId/{userId}", "events_get_by_user_id"),
        Route("GET", "/api/events/{email}", "events_get"),
    ]
    for segment in ("email", "push", "sms", "inapp"):
        medium = MEDIUM_BY_SEGMENT[segment]
        r.append(Route("GET", f"/api/templates/{segment}/get", "template_get", medium=medium))
        r.append(Route("POST", f"/api/templates/{segment}/proof", "template_proof", mutating=True, medium=medium))
        if segment in ("email", "inapp"):  # the spec has no preview for push or SMS
            r.append(Route("POST", f"/api/templates/{segment}/preview", "template_preview", medium=medium))
    for segment in ("email", "push", "sms", "inApp"):
        r.append(Route("POST", f"/api/{segment}/target", "target", mutating=True, medium=MEDIUM_BY_SEGMENT[segment]))
        r.append(Route("POST", f"/api/{segment}/cancel", "cancel", mutating=True, medium=MEDIUM_BY_SEGMENT[segment]))
    return r


ROUTES = _routes()
ENDPOINTS = sorted({route.endpoint for route in ROUTES})


def match_route(method: str, raw_path: str) -> tuple[Route, dict[str, Any]] | None:
    for route in ROUTES:
        if route.method != method:
            continue
        m = route.regex.match(raw_path)
        if m:
            return route, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def rate_limit_for(config: dict[str, Any], endpoint: str) -> tuple[float, float, str]:
    _, _, scope = DOCUMENTED_LIMITS.get(endpoint) or CHOSEN_LIMITS.get(endpoint) or (0, 0, "project")
    override = config["rate_limits"].get(endpoint)
    if override:
        return override["limit"], override["period"], scope
    if endpoint in DOCUMENTED_LIMITS:
        return DOCUMENTED_LIMITS[endpoint]
    if endpoint in CHOSEN_LIMITS:
        return CHOSEN_LIMITS[endpoint]
    default = config["default_rate_limit"]
    return default["limit"], default["period"], scope


def rate_limited(limit: float, period: float, path: str, project_id: int) -> Response:
    msg = (
        f"Exceeded rate limit of {float(limit)} per {describe_period(period)} for endpoint: {path}, "
        f"project: {project_id} "
    )
    return envelope(429, "RateLimitExceeded", msg, {})


# ------------------------------------------------------------------------------------------------
# Small helpers on users
# ------------------------------------------------------------------------------------------------
def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        v = int(v)
        if v not in out:
            out.append(v)
    return out


def _user_body(user: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"email": user["email"]}
    if user.get("userId"):
        out["userId"] = user["userId"]
    out["dataFields"] = copy.deepcopy(user["dataFields"])
    return {"user": out}


def _subscription_fields_problem(project: Project, fields: dict[str, Any]) -> str | None:
    """Rules for writing the managed arrays through users/update and users/bulkUpdate dataFields."""
    opt_in = project.features["opt_in_message_types"]
    for key in SUBSCRIPTION_ARRAYS:
        if key not in fields:
            continue
        value = fields[key]
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            return f"{key} must be an array of integer ids"
        if key == "emailListIds" and value:
            dynamic = _dynamic_lists(project, value)
            if dynamic:
                return f"emailListIds may name static lists only; {dynamic} are not static"
        if key == "subscribedMessageTypeIds" and not opt_in:
            return "subscribedMessageTypeIds can only be set in projects with the opt-in message types feature enabled"
        if key in ("unsubscribedChannelIds", "unsubscribedMessageTypeIds") and opt_in:
            return (
                f"{key} cannot be set through this endpoint when opt-in message types are enabled; "
                "use updateSubscriptions"
            )
    return None


def _dynamic_lists(project: Project, ids: list[Any]) -> list[Any]:
    """Ids of existing lists that are not static: membership of those is computed, never written."""
    return [i for i in ids if int(i) in project.lists and project.lists[int(i)]["listType"] != "Standard"]


def _merge_fields(project: Project, user: dict[str, Any], fields: dict[str, Any], merge_nested: bool) -> None:
    project.journal(user)
    data = user["dataFields"]
    for key, value in fields.items():
        if key in PROTECTED_FIELDS:
            continue
        if value is None:
            data.pop(key, None)
        elif merge_nested and isinstance(value, dict) and isinstance(data.get(key), dict):
            merged = dict(data[key])
            merged.update(copy.deepcopy(value))
            data[key] = merged
        else:
            data[key] = copy.deepcopy(value)
    Project.touch(user)


def _opt_in_check(project: Project, rows: list[dict[str, Any]]) -> None:
    if project.features["opt_in_message_types"]:
        return
    if any(row.get("subscribedMessageTypeIds") is not None for row in rows):
        raise bad_params(
            "subscribedMessageTypeIds can only be set in projects with the opt-in message types feature enabled",
            {"field": "subscribedMessageTypeIds"},
        )


def _subscriptions_problem(project: Project, user: dict[str, Any] | None, row: dict[str, Any]) -> str | None:
    problems = []
    lists = row.get("emailListIds")
    if lists is not None:
        bad = [i for i in lists if int(i) not in project.lists]
        if bad:
            problems.append(f"Invalid emailListIds: {bad}")
        dynamic = _dynamic_lists(project, lists)
        if dynamic:
            problems.append(f"emailListIds may name static lists only; {dynamic} are not static")
    for key in ("subscribedMessageTypeIds", "unsubscribedMessageTypeIds"):
        ids = row.get(key)
        if ids is not None:
            bad = [i for i in ids if int(i) not in project.message_types]
            if bad:
                problems.append(f"Invalid {key}: {bad}")
    channels = row.get("unsubscribedChannelIds")
    if channels is not None:
        bad = [i for i in channels if int(i) not in project.channels]
        if bad:
            problems.append(f"Invalid unsubscribedChannelIds: {bad}")
    subscribed = row.get("subscribedMessageTypeIds")
    if not problems and subscribed and row.get("validateChannelAlignment") is not False:
        current = (user or {}).get("dataFields", {}).get("unsubscribedChannelIds") or []
        unsubscribed = row["unsubscribedChannelIds"] if channels is not None else current
        misaligned = [i for i in subscribed if project.message_types[int(i)]["channelId"] in unsubscribed]
        if misaligned:
            problems.append(f"Message types {misaligned} belong to unsubscribed channels")
    return "; ".join(problems) or None


def _subscription_arrays(user: dict[str, Any]) -> dict[str, Any]:
    data = user.get("dataFields") or {}
    return {key: list(data.get(key) or []) for key in SUBSCRIPTION_ARRAYS}


def _apply_subscriptions(project: Project, user: dict[str, Any], row: dict[str, Any]) -> None:
    project.journal(user)
    for key in SUBSCRIPTION_ARRAYS:
        if row.get(key) is not None:
            user["dataFields"][key] = _dedupe(row[key])
    Project.touch(user)


def _add(data: dict[str, Any], key: str, value: int) -> None:
    current = list(data.get(key) or [])
    if value not in current:
        current.append(value)
    data[key] = current


def _remove(data: dict[str, Any], key: str, value: int) -> None:
    if key in data:
        data[key] = [v for v in data[key] if v != value]


def eligibility(project: Project, user: dict[str, Any] | None, message_type_id: int | None) -> str | None:
    """The emulator's send rule; returns a skip reason or None when the user may receive the message."""
    data = (user or {}).get("dataFields", {})
    mt = project.message_types.get(message_type_id) if message_type_id is not None else None
    if mt is None:
        return None  # nothing to check against; Iterable would use the project's default type
    if mt["channelId"] in (data.get("unsubscribedChannelIds") or []):
        return "ChannelUnsubscribe"
    policy = mt.get("subscriptionPolicy") or "OptOut"
    if policy == "OptIn":
        if message_type_id not in (data.get("subscribedMessageTypeIds") or []):
            return "MessageTypeNotOptedIn"
    elif message_type_id in (data.get("unsubscribedMessageTypeIds") or []):
        return "MessageTypeUnsubscribe"
    return None


@overload
def _int_arg(req: Request, name: str, default: int) -> int: ...
@overload
def _int_arg(req: Request, name: str, default: None) -> int | None: ...
def _int_arg(req: Request, name: str, default: int | None) -> int | None:
    raw = req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_params(f"Invalid value for {name}: {raw}") from None


def _sort(items: list[dict[str, Any]], req: Request, id_key: str, allowed: tuple[str, ...]) -> list[dict[str, Any]]:
    raw = req.arg("sort") or "id"
    desc = raw.startswith("-")
    field = raw.lstrip("+-")
    if field not in allowed:
        raise bad_params(f"Invalid sort field: {field}. Valid fields: {', '.join(allowed)}")
    key = id_key if field == "id" else field
    return sorted(items, key=lambda x: (x.get(key) is None, x.get(key)), reverse=desc)


def _paginate(
    req: Request, items: list[Any], default: int, maximum: int, *, unpaginated: bool = False
) -> tuple[list[Any], dict[str, Any]]:
    """One page and its links; ``unpaginated``: without page and pageSize the whole list (the spec's old form)."""
    if unpaginated and req.arg("page") is None and req.arg("pageSize") is None:
        return items, {}
    page = _int_arg(req, "page", 1)
    size = _int_arg(req, "pageSize", default)
    if page < 1:
        raise bad_params(f"page must be at least 1, got {page}")
    if size < 1 or size > maximum:
        raise bad_params(f"pageSize must be between 1 and {maximum}, got {size}")
    start = (page - 1) * size
    chunk = items[start : start + size]
    links: dict[str, str] = {}

    def url(p: int) -> str:
        params = [(k, v) for k, vs in req.query.items() for v in vs if k not in ("page", "pageSize", "api_key")]
        params += [("page", str(p)), ("pageSize", str(size))]
        return f"{req.base_url}{req.path}?{urlencode(params)}"

    if start + size < len(items):
        links["nextPageUrl"] = url(page + 1)
    if page > 1:
        links["previousPageUrl"] = url(page - 1)
    return chunk, links


def _pick(obj: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: copy.deepcopy(obj[k]) for k in keys if obj.get(k) is not None}


def _field_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", value):
        return "date"
    return "string"


# ------------------------------------------------------------------------------------------------
# The application
# ------------------------------------------------------------------------------------------------
class Ctx:
    def __init__(self, app: EmulatorApp, req: Request, project: Project, api_key: str):
        self.app = app
        self.state = app.state
        self.req = req
        self.project = project
        self.api_key = api_key
        self.refused_sends: list[dict[str, Any]] = []  # kept for /_emulator/sends even though the request fails

    def body(self, spec: dict[str, Any]) -> dict[str, Any]:
        ctype = self.req.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if (
            self.req.body.strip()
            and self.state.config["content_type_check"] == "strict"
            and ctype not in JSON_CONTENT_TYPES
            and not ctype.endswith("+json")
        ):
            # What Play's JSON body parser answers (Iterable runs on Play); the body is not read.
            raise ApiError(415, "BadJsonBody", "Expecting text/json or application/json body")
        data = self.req.json()
        errors: dict[str, Any] = {}
        _check(data, spec, "obj", errors)
        if errors:
            raise bad_json(errors)
        return cast(dict[str, Any], data)  # _check refused anything but an object

    def batch_check(self, endpoint: str, rows: list[Any]) -> None:
        limit = self.state.config["batch_limits"].get(endpoint)
        if limit and len(rows) > limit:
            raise ApiError(
                self.state.config["batch_too_large_status"],
                "BatchTooLarge",
                f"Batch size {len(rows)} exceeds the limit of {limit}",
            )


class EmulatorApp:
    """WSGI callable for one data centre."""

    def __init__(self, state: State, data_center: str = "US"):
        if data_center not in ("US", "EU"):
            raise ValueError("data_center must be US or EU")
        self.state = state
        self.data_center = data_center

    # -- WSGI --------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        # Iterable's gateway counts a call against its rate limit when the call arrives, before any work on it:
        # counted after the body was read and logged, a large body's handling moved the count later, and a call
        # sent a full window after it could be refused.
        arrived = time.monotonic()
        req = Request(environ)
        if req.path == "/_emulator" or req.path.startswith("/_emulator/"):
            try:
                inspected = self.inspection(req)
            except SeedError as exc:
                inspected = json_response(400, {"error": str(exc)})
            return self._send(start_response, inspected)
        started = time.time()
        entry: dict[str, Any] = {
            "timestamp": iterable_time(started),
            "time": started,
            "data_center": self.data_center,
            "method": req.method,
            "path": req.path,
            "query": {k: list(v) for k, v in req.query.items() if k != "api_key"},
            "headers": {k: v for k, v in req.headers.items() if k.lower() != "api-key"},
            "api_key_present": bool(req.api_key),
            "project_id": None,
            "endpoint": None,
            "body": req.body_for_log(),
        }
        resp: Response | None = None
        try:
            resp = self.handle_api(req, entry, arrived)
        finally:
            entry["status"] = resp.status if resp else None  # None: connection dropped
            entry["response"] = resp.payload if resp else None
            entry["duration_ms"] = round((time.time() - started) * 1000, 1)
            self.state.record_request(entry)
        return self._send(start_response, resp)

    @staticmethod
    def _send(start_response: Callable[..., Any], resp: Response) -> list[bytes]:
        status_text = {
            200: "OK",
            202: "Accepted",
            400: "Bad Request",
            401: "Unauthorized",
            404: "Not Found",
            409: "Conflict",
            413: "Payload Too Large",
            415: "Unsupported Media Type",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }.get(resp.status, "Unknown")
        headers = [("Content-Type", resp.content_type), ("Content-Length", str(len(resp.body)))]
        start_response(f"{resp.status} {status_text}", headers)
        return [resp.body]

    def handle_api(self, req: Request, entry: dict[str, Any], arrived: float) -> Response:
        found = match_route(req.method, req.raw_path)
        if found is None:
            return text_response(404, NOT_FOUND_HTML, "text/html; charset=utf-8")
        route, params = found
        entry["endpoint"] = route.endpoint
        key = req.api_key
        project = self.state.project_for_key(key)
        if key is None or project is None or project.data_center != self.data_center:
            return envelope(401, "BadApiKey", "Invalid API key", {"ip": req.remote_addr, "endpoint": req.path})
        entry["project_id"] = project.id
        config = self.state.config
        latency = config["latency_ms"].get(route.endpoint, config["latency_ms"].get("*", 0))
        if latency:
            time.sleep(latency / 1000)
        if config["rate_limits_enabled"]:
            limit, period, scope = rate_limit_for(config, route.endpoint)
            bucket = (project.id, route.endpoint) if scope == "project" else ("key", key, route.endpoint)
            if not self.state.limiter.allow(bucket, limit, period, now=arrived):
                return rate_limited(limit, period, req.path, project.id)
        fault = self.state.take_fault(route.endpoint, project.id)
        if fault:
            kind = fault["kind"]
            if kind == "error500":
                return envelope(500, "GenericError", "Internal server error, please try again later")
            if kind == "error503":
                return text_response(503, SERVICE_UNAVAILABLE_HTML, "text/html; charset=utf-8")
            if kind == "error429":
                limit, period, _ = rate_limit_for(config, route.endpoint)
                return rate_limited(limit, period, req.path, project.id)
            if not fault["process"]:
                if kind == "drop":
                    raise DropConnection
                time.sleep(fault["seconds"])
        resp = self.dispatch(route, req, project, key, params)
        if fault and fault["process"]:
            if fault["kind"] == "slow":
                time.sleep(fault["seconds"])
            elif fault["kind"] == "drop":
                raise DropConnection
        return resp

    def dispatch(self, route: Route, req: Request, project: Project, key: str, params: dict[str, Any]) -> Response:
        ctx = Ctx(self, req, project, key)
        if route.mutating and len(req.body) > self.state.config["max_body_bytes"]:
            return envelope(
                self.state.config["batch_too_large_status"],
                "BatchTooLarge",
                f"Request body exceeds {self.state.config['max_body_bytes']} bytes",
            )
        with self.state.lock:
            state = self.state
            saved = (list(state.sends), list(state.events), list(state.webhook_deliveries)) if route.mutating else None
            if route.mutating:
                project.begin()
            try:
                resp: Response = getattr(self, route.handler)(ctx, **params, **route.extra)
            except ApiError as exc:
                resp = envelope(exc.status, exc.code, exc.msg, exc.params)
            except Exception:  # a bug in the emulator: answer like Iterable's generic error, keep the trace
                traceback.print_exc(file=sys.stderr)
                resp = envelope(500, "GenericError", "Internal emulator error")
            if route.mutating:
                # Atomic writes: whatever a failing request had applied (rows of a bulk call, a created
                # profile, a recorded send) is undone; only the inspection records of refused sends stay.
                if resp.status >= 400:
                    project.rollback()
                    assert saved is not None  # taken above for every mutating route
                    state.sends[:], state.events[:], state.webhook_deliveries[:] = saved
                else:
                    project.commit()
                self.state.sends.extend(ctx.refused_sends)
                self.state.save()
            return resp

    # -- identification ----------------------------------------------------------------------------
    @overload
    @staticmethod
    def _user_by_email(project: Project, email: str | None, *, create: Literal[True]) -> dict[str, Any]: ...
    @overload
    @staticmethod
    def _user_by_email(project: Project, email: str | None, *, create: bool) -> dict[str, Any] | None: ...
    @staticmethod
    def _user_by_email(project: Project, email: str | None, *, create: bool) -> dict[str, Any] | None:
        if not is_valid_email(email):
            raise invalid_email(email)
        user = project.get_user(email)
        if user is None and create:
            if project.is_forgotten(email=email):
                raise forgotten(email)
            user = project.create_user(email)
        return user

    @overload
    def _recipient(
        self, project: Project, email: Any, user_id: Any, *, create: Literal[True], names: tuple[str, str] = ...
    ) -> dict[str, Any]: ...
    @overload
    def _recipient(
        self, project: Project, email: Any, user_id: Any, *, create: bool, names: tuple[str, str] = ...
    ) -> dict[str, Any] | None: ...
    def _recipient(
        self,
        project: Project,
        email: Any,
        user_id: Any,
        *,
        create: bool,
        names: tuple[str, str] = ("email", "userId"),
    ) -> dict[str, Any] | None:
        if email is not None:
            return self._user_by_email(project, email, create=create)
        if user_id is not None:
            user = project.get_user_by_id(user_id)
            if user is None:
                raise unknown_user_id(user_id)
            return user
        raise bad_params(f"Either {names[0]} or {names[1]} must be provided")

    # -- users -------------------------------------------------------------------------------------
    def users_get_by_email(self, ctx: Ctx) -> Response:
        email = ctx.req.arg("email")
        if email is None:
            raise bad_params("email is required")
        return self._get_user(ctx, email)

    def users_get_by_email_path(self, ctx: Ctx, email: str) -> Response:
        return self._get_user(ctx, email)

    def _get_user(self, ctx: Ctx, email: str) -> Response:
        user = self._user_by_email(ctx.project, email, create=False)
        return json_response(200, _user_body(user) if user else {})

    def users_get_by_user_id_query(self, ctx: Ctx) -> Response:
        user_id = ctx.req.arg("userId")
        if not user_id:
            raise bad_params("userId is required")
        return self.users_get_by_user_id(ctx, user_id)

    def users_get_by_user_id(self, ctx: Ctx, userId: str) -> Response:
        user = ctx.project.get_user_by_id(userId)
        if user:
            return json_response(200, _user_body(user))
        if ctx.state.config["unknown_user_id"] == "empty":
            return json_response(200, {})
        return text_response(400, "No user with that id exists!")

    def users_delete(self, ctx: Ctx, email: str) -> Response:
        user = self._user_by_email(ctx.project, email, create=False)
        if user is not None:
            ctx.project.delete_user(user)
        elif ctx.state.config["delete_unknown_user"] == "strict":
            raise ApiError(400, "UnknownEmailError", f"No user exists with email: {email}")
        # Recorded: the delete is asynchronous, so an unknown (or already deleted) address is a plain success.
        return envelope(200, "Success", "")

    def users_delete_by_user_id(self, ctx: Ctx, userId: str) -> Response:
        user = ctx.project.get_user_by_id(userId)
        if user is None:
            if ctx.state.config["delete_unknown_user"] == "strict":
                raise unknown_user_id(userId)
            raise bad_params(f"No users with userId {userId} exist")
        ctx.project.delete_user(user)
        return envelope(200, "Success", f"All users associated with {userId} were successfully deleted")

    def users_forget(self, ctx: Ctx, forget: bool) -> Response:
        """GDPR forget: delete the profile and refuse to create it again; ``unforget`` lifts the refusal."""
        body = ctx.body({"email": "string", "userId": "string"})
        email, user_id = body.get("email"), body.get("userId")
        project = ctx.project
        if email is not None:
            if not is_valid_email(email):
                raise invalid_email(email)
            user = project.get_user(email)
        elif user_id is not None:
            user = project.get_user_by_id(user_id)
        else:
            raise bad_params("Either email or userId must be set")
        keys = {"email": (email or (user or {}).get("email")), "userId": (user_id or (user or {}).get("userId"))}
        if forget:
            if user is not None:
                project.delete_user(user)
            if keys["email"]:
                project.forgotten_emails.add(keys["email"].lower())
            if keys["userId"]:
                project.forgotten_user_ids.add(keys["userId"])
        else:
            if email is not None:
                project.forgotten_emails.discard(email.lower())
            if user_id is not None:
                project.forgotten_user_ids.discard(user_id)
        return envelope(200, "Success", "")

    def users_update(self, ctx: Ctx) -> Response:
        body = ctx.body(USER_SPEC)
        project = ctx.project
        email, user_id = body.get("email"), body.get("userId")
        fields = body.get("dataFields") or {}
        problem = _subscription_fields_problem(project, fields)
        if problem:
            raise bad_params(problem)
        user = self._upsert_user(project, email, user_id, bool(body.get("preferUserId")))
        _merge_fields(project, user, fields, bool(body.get("mergeNestedObjects")))
        return envelope(200, "Success", "")

    def _upsert_user(self, project: Project, email: Any, user_id: Any, prefer_user_id: bool) -> dict[str, Any]:
        if email is not None:
            if not is_valid_email(email):
                raise invalid_email(email)
            user = project.get_user(email)
            if user_id:
                other = project.get_user_by_id(user_id)
                if other is not None and other is not user:
                    raise ApiError(409, "ExternalKeyConflict", f"userId {user_id} already belongs to another user")
            if user is None:
                if project.is_forgotten(email=email, user_id=user_id):
                    raise forgotten(email)
                return project.create_user(email, user_id)
            if user_id and user.get("userId") != user_id:
                project.set_user_id(user, user_id)
            return user
        if user_id is not None:
            user = project.get_user_by_id(user_id)
            if user is None:
                if not prefer_user_id:
                    raise unknown_user_id(user_id)
                if project.is_forgotten(user_id=user_id):
                    raise forgotten(user_id)
                user = project.create_user(f"{user_id}@placeholder.email", user_id)
            return user
        raise bad_params("Either email or userId must be set")

    def users_bulk_update(self, ctx: Ctx) -> Response:
        body = ctx.body({"users": Req(("array", USER_SPEC)), "createNewFields": "bool"})
        rows = body["users"]
        if not rows:
            # Recorded answer to {"users": []}; the code names e-mails even for a userId-keyed project.
            raise ApiError(400, "InvalidEmailAddressError", "Emails invalid: ")
        ctx.batch_check("POST /api/users/bulkUpdate", rows)
        failed: dict[str, list[Any]] = {
            k: []
            for k in (
                "conflictEmails",
                "conflictUserIds",
                "forgottenEmails",
                "forgottenUserIds",
                "invalidDataEmails",
                "invalidDataUserIds",
                "invalidEmails",
                "invalidUserIds",
                "notFoundEmails",
                "notFoundUserIds",
            )
        }
        result: dict[str, Any] = {
            "successCount": 0,
            "failCount": 0,
            "invalidEmails": [],
            "invalidUserIds": [],
        }
        for row in rows:
            email, user_id = row.get("email"), row.get("userId")
            fields = row.get("dataFields") or {}
            ident_key = "Emails" if email is not None else "UserIds"
            ident = email if email is not None else user_id
            if email is not None and not is_valid_email(email):
                result["invalidEmails"].append(email)
                failed["invalidEmails"].append(email)
            elif email is None and user_id is None:
                pass
            elif _subscription_fields_problem(ctx.project, fields):
                failed[f"invalidData{ident_key}"].append(ident)
            else:
                try:
                    user = self._upsert_user(ctx.project, email, user_id, bool(row.get("preferUserId")))
                except ApiError as exc:
                    if exc.code == "ExternalKeyConflict":
                        failed[f"conflict{ident_key}"].append(ident)
                    elif exc.code == "ForgottenUserError":
                        failed[f"forgotten{ident_key}"].append(ident)
                    else:
                        result["invalidUserIds"].append(user_id)
                        failed["notFoundUserIds"].append(user_id)
                else:
                    _merge_fields(ctx.project, user, fields, bool(row.get("mergeNestedObjects")))
                    result["successCount"] += 1
                    continue
            result["failCount"] += 1
        result["failedUpdates"] = failed
        result["createdFields"] = []
        result["filteredOutFields"] = []
        return json_response(200, result)

    def users_update_subscriptions(self, ctx: Ctx) -> Response:
        body = ctx.body(SUBS_SPEC)
        _opt_in_check(ctx.project, [body])
        user = self._recipient(ctx.project, body.get("email"), body.get("userId"), create=True)
        problem = _subscriptions_problem(ctx.project, user, body)
        if problem:
            raise bad_params(problem)
        before = _subscription_arrays(user)
        _apply_subscriptions(ctx.project, user, body)
        self._deliver_unsubscribes(ctx, user, before, body)
        return envelope(200, "Success", "")

    def users_bulk_update_subscriptions(self, ctx: Ctx) -> Response:
        body = ctx.body({"updateSubscriptionsRequests": Req(("array", SUBS_SPEC))})
        rows = body["updateSubscriptionsRequests"]
        ctx.batch_check("POST /api/users/bulkUpdateSubscriptions", rows)
        _opt_in_check(ctx.project, rows)
        result: dict[str, Any] = {
            "successCount": 0,
            "failCount": 0,
            "invalidEmails": [],
            "invalidUserIds": [],
            "validEmailFailures": [],
            "validUserIdFailures": [],
        }
        for row in rows:
            email, user_id = row.get("email"), row.get("userId")
            if email is not None:
                if not is_valid_email(email):
                    result["invalidEmails"].append(email)
                    result["failCount"] += 1
                    continue
                user = ctx.project.get_user(email)
                failure_list = "validEmailFailures"
                ident = email
            elif user_id is not None:
                user = ctx.project.get_user_by_id(user_id)
                if user is None:
                    result["invalidUserIds"].append(user_id)
                    result["failCount"] += 1
                    continue
                failure_list = "validUserIdFailures"
                ident = user_id
            else:
                result["failCount"] += 1
                continue
            if _subscriptions_problem(ctx.project, user, row):
                result[failure_list].append(ident)
                result["failCount"] += 1
                continue
            if user is None:
                if ctx.project.is_forgotten(email=email):
                    result[failure_list].append(ident)
                    result["failCount"] += 1
                    continue
                user = ctx.project.create_user(email)
            before = _subscription_arrays(user)
            _apply_subscriptions(ctx.project, user, row)
            self._deliver_unsubscribes(ctx, user, before, row)
            result["successCount"] += 1
        return json_response(200, result)

    def users_get_sent_messages(self, ctx: Ctx) -> Response:  # noqa: C901 (the endpoint's filters, one after another)
        req = ctx.req
        email, user_id = req.arg("email"), req.arg("userId")
        limit = _int_arg(req, "limit", 10)
        if limit < 1 or limit > 1000:
            raise bad_params(f"limit must be between 1 and 1000, got {limit}")
        target_email: str | None
        if email is not None:
            self._user_by_email(ctx.project, email, create=False)  # validates the address
            target_email = email
        elif user_id is not None:
            user = ctx.project.get_user_by_id(user_id)
            target_email = user["email"] if user else None
        else:
            raise bad_params("Either email or userId must be provided")
        campaign_ids = set()
        for raw in req.query.get("campaignIds", []):
            try:
                campaign_ids.add(int(raw))
            except ValueError:
                raise bad_params(f"Invalid campaignIds: {raw}") from None
        medium = req.arg("messageMedium")
        start_ms, end_ms = date_param_ms(req, "startDateTime"), date_param_ms(req, "endDateTime")
        # The spec: excludeBlastCampaigns is ignored when campaign ids are given.
        exclude_blast = (req.arg("excludeBlastCampaigns") or "").lower() == "true" and not campaign_ids
        client_fields = ctx.state.config["sent_message_fields"] == "clients"
        messages = []
        if target_email is not None:
            for send in reversed(ctx.state.sends):
                if send["projectId"] != ctx.project.id or send["kind"] != "target" or send["status"] != "sent":
                    continue
                if (send.get("email") or "").lower() != target_email.lower():
                    continue
                if campaign_ids and send["campaignId"] not in campaign_ids:
                    continue
                if medium and send["messageMedium"] != medium:
                    continue
                if (start_ms is not None and send["createdAtMs"] < start_ms) or (
                    end_ms is not None and send["createdAtMs"] >= end_ms
                ):
                    continue
                campaign = ctx.project.campaigns.get(send["campaignId"]) or {}
                if exclude_blast and campaign.get("type") == "Blast":
                    continue
                message = {
                    "messageId": send["messageId"],
                    "campaignId": send["campaignId"],
                    "templateId": send.get("templateId") or 0,
                    "createdAt": send["createdAt"],
                    "messageMedium": send["messageMedium"],
                }
                if client_fields:
                    # Not in the spec nor in the 2017 recording, but Iterable's published client requires them.
                    message.update({"status": "Sent", "sentAt": send["createdAt"]})
                    if campaign.get("name"):
                        message["campaignName"] = campaign["name"]
                messages.append(message)
                if len(messages) >= limit:
                    break
        return json_response(200, {"messages": messages})

    def users_get_fields(self, ctx: Ctx) -> Response:
        fields: dict[str, str] = {}
        for user in ctx.project.users.values():
            for key, value in user["dataFields"].items():
                fields.setdefault(key, _field_type(value))
        return json_response(200, {"fields": dict(sorted(fields.items()))})

    # -- subscriptions API -------------------------------------------------------------------------
    def _group(self, ctx: Ctx, group: str, group_id: str) -> tuple[str, int]:
        if not ctx.project.features["subscriptions_api"]:
            raise ApiError(404, "NotFound", "Endpoint not found")
        name = GROUPS.get(group.lower())
        if name is None:
            raise bad_params(f"Invalid subscription group: {group}. Use emailList, messageType or messageChannel")
        try:
            gid = int(group_id)
        except ValueError:
            raise bad_params(f"Invalid subscriptionGroupId: {group_id}") from None
        pool = {
            "emailList": ctx.project.lists,
            "messageType": ctx.project.message_types,
            "messageChannel": ctx.project.channels,
        }[name]
        if gid not in pool:
            raise bad_params(f"{name} {gid} does not exist in this project")
        if name == "emailList" and pool[gid]["listType"] != "Standard":
            raise bad_params(f"List {gid} is a {pool[gid]['listType']} list; only static lists can be changed")
        if (
            name == "messageType"
            and ctx.project.message_types[gid].get("subscriptionPolicy") == "OptIn"
            and not ctx.project.features["opt_in_message_types"]
        ):
            raise bad_params("Opt-in message types are not enabled for this project")
        return name, gid

    @staticmethod
    def _apply_group(project: Project, user: dict[str, Any], group: str, gid: int, subscribe: bool) -> None:
        project.journal(user)
        data = user["dataFields"]
        if group == "emailList":
            (_add if subscribe else _remove)(data, "emailListIds", gid)
        elif group == "messageChannel":
            (_remove if subscribe else _add)(data, "unsubscribedChannelIds", gid)
        else:
            opt_in = project.message_types[gid].get("subscriptionPolicy") == "OptIn"
            if subscribe:
                _remove(data, "unsubscribedMessageTypeIds", gid)
                if opt_in:
                    _add(data, "subscribedMessageTypeIds", gid)
            else:
                _add(data, "unsubscribedMessageTypeIds", gid)
                _remove(data, "subscribedMessageTypeIds", gid)
        Project.touch(user)

    def subscription_single(
        self,
        ctx: Ctx,
        subscriptionGroup: str,
        subscriptionGroupId: str,
        subscribe: bool,
        userEmail: str | None = None,
        userId: str | None = None,
    ) -> Response:
        group, gid = self._group(ctx, subscriptionGroup, subscriptionGroupId)
        user = self._recipient(ctx.project, userEmail, userId, create=True)
        self._apply_group(ctx.project, user, group, gid, subscribe)
        return envelope(200, "Success", "")

    def subscription_bulk(self, ctx: Ctx, subscriptionGroup: str, subscriptionGroupId: str) -> Response:
        group, gid = self._group(ctx, subscriptionGroup, subscriptionGroupId)
        action = ctx.req.arg("action") or "subscribe"
        if action not in ("subscribe", "unsubscribe"):
            raise bad_params(f"Invalid action: {action}. Use subscribe or unsubscribe")
        body = ctx.body({"users": ("array", "string"), "usersByUserId": ("array", "string")})
        emails = body.get("users") or []
        user_ids = body.get("usersByUserId") or []
        ctx.batch_check("PUT /api/subscriptions/{subscriptionGroup}/{subscriptionGroupId}", emails + user_ids)
        for email in emails:
            if not is_valid_email(email):
                raise invalid_email(email)
        not_found = []
        users = [self._user_by_email(ctx.project, e, create=True) for e in emails]
        for user_id in user_ids:
            user = ctx.project.get_user_by_id(user_id)
            if user is None:
                not_found.append(user_id)
            else:
                users.append(user)
        for user in users:
            self._apply_group(ctx.project, user, group, gid, action == "subscribe")
        return envelope(202, "Success", "", {"notFoundUserIds": not_found} if not_found else None)

    # -- lists -------------------------------------------------------------------------------------
    def lists_get(self, ctx: Ctx) -> Response:
        keys = ("id", "name", "createdAt", "listType", "description", "isGlobalSuppressionEnabled")
        return json_response(200, {"lists": [_pick(lst, keys) for lst in ctx.project.lists.values()]})

    def _list_for_write(self, ctx: Ctx, list_id: int) -> dict[str, Any]:
        lst = ctx.project.lists.get(int(list_id))
        if lst is None:
            raise bad_params(f"List {list_id} does not exist in this project")
        if lst["listType"] != "Standard":
            raise bad_params(f"List {list_id} is a {lst['listType']} list; only static lists can be changed")
        return lst

    @staticmethod
    def _list_result() -> tuple[dict[str, Any], dict[str, Any]]:
        failed: dict[str, list[Any]] = {
            k: []
            for k in (
                "invalidEmails",
                "invalidUserIds",
                "notFoundEmails",
                "notFoundUserIds",
                "conflictEmails",
                "conflictUserIds",
                "forgottenEmails",
                "forgottenUserIds",
                "invalidDataEmails",
                "invalidDataUserIds",
            )
        }
        result = {
            "successCount": 0,
            "failCount": 0,
            "invalidEmails": [],
            "invalidUserIds": [],
            "failedUpdates": failed,
            "createdFields": [],
            "filteredOutFields": [],
        }
        return result, failed

    def lists_subscribe(self, ctx: Ctx) -> Response:
        body = ctx.body(
            {
                "listId": Req("int"),
                "subscribers": Req(("array", USER_SPEC)),
                "updateExistingUsersOnly": "bool",
            }
        )
        lst = self._list_for_write(ctx, body["listId"])
        ctx.batch_check("POST /api/lists/subscribe", body["subscribers"])
        existing_only = bool(body.get("updateExistingUsersOnly"))
        result, failed = self._list_result()
        for row in body["subscribers"]:
            email, user_id = row.get("email"), row.get("userId")
            user = None
            if email is not None:
                if not is_valid_email(email):
                    result["invalidEmails"].append(email)
                    failed["invalidEmails"].append(email)
                else:
                    user = ctx.project.get_user(email)
                    if user is None and existing_only:
                        failed["notFoundEmails"].append(email)
                    elif user is None and ctx.project.is_forgotten(email=email, user_id=user_id):
                        failed["forgottenEmails"].append(email)
                    elif user is None:
                        user = ctx.project.create_user(email, user_id)
            elif user_id is not None:
                user = ctx.project.get_user_by_id(user_id)
                if user is None:
                    result["invalidUserIds"].append(user_id)
                    failed["notFoundUserIds"].append(user_id)
            if user is None:
                result["failCount"] += 1
                continue
            _merge_fields(ctx.project, user, row.get("dataFields") or {}, bool(row.get("mergeNestedObjects")))
            _add(user["dataFields"], "emailListIds", lst["id"])
            result["successCount"] += 1
        return json_response(200, result)

    def lists_unsubscribe(self, ctx: Ctx) -> Response:
        body = ctx.body(
            {
                "listId": Req("int"),
                "subscribers": Req(("array", {"email": "string", "userId": "string"})),
                "campaignId": "int",
                "channelUnsubscribe": "bool",
            }
        )
        lst = self._list_for_write(ctx, body["listId"])
        ctx.batch_check("POST /api/lists/unsubscribe", body["subscribers"])
        channel_id = lst.get("channelId") or ctx.project.default_marketing_email_channel()
        result, failed = self._list_result()
        for row in body["subscribers"]:
            email, user_id = row.get("email"), row.get("userId")
            user = None
            if email is not None:
                if not is_valid_email(email):
                    result["invalidEmails"].append(email)
                    failed["invalidEmails"].append(email)
                else:
                    user = ctx.project.get_user(email)
                    if user is None:
                        failed["notFoundEmails"].append(email)
            elif user_id is not None:
                user = ctx.project.get_user_by_id(user_id)
                if user is None:
                    result["invalidUserIds"].append(user_id)
                    failed["notFoundUserIds"].append(user_id)
            if user is None:
                result["failCount"] += 1
                continue
            ctx.project.journal(user)
            _remove(user["dataFields"], "emailListIds", lst["id"])
            if body.get("channelUnsubscribe") and channel_id is not None:
                _add(user["dataFields"], "unsubscribedChannelIds", channel_id)
            Project.touch(user)
            result["successCount"] += 1
        return json_response(200, result)

    # -- catalog -----------------------------------------------------------------------------------
    def channels_get(self, ctx: Ctx) -> Response:
        keys = ("id", "name", "channelType", "messageMedium")
        return json_response(200, {"channels": [_pick(c, keys) for c in ctx.project.channels.values()]})

    def message_types_get(self, ctx: Ctx) -> Response:
        keys = (
            "id",
            "name",
            "channelId",
            "subscriptionPolicy",
            "createdAt",
            "updatedAt",
            "frequencyCap",
            "rateLimitPerMinute",
        )
        return json_response(200, {"messageTypes": [_pick(m, keys) for m in ctx.project.message_types.values()]})

    TEMPLATE_KEYS = (
        "templateId",
        "name",
        "messageTypeId",
        "campaignId",
        "clientTemplateId",
        "createdAt",
        "updatedAt",
        "creatorUserId",
    )

    def templates_get(self, ctx: Ctx) -> Response:
        req = ctx.req
        template_type, medium = req.arg("templateType"), req.arg("messageMedium")
        if template_type and template_type not in TEMPLATE_TYPES:
            raise bad_params(f"Invalid templateType: {template_type}")
        if medium and medium not in TEMPLATE_MEDIA:
            raise bad_params(f"Invalid messageMedium: {medium}")
        start_ms, end_ms = date_param_ms(req, "startDateTime"), date_param_ms(req, "endDateTime")
        items = [
            t
            for t in ctx.project.templates.values()
            if (not template_type or t["templateType"] == template_type)
            and (not medium or t["messageMedium"] == medium)
            and (start_ms is None or t["createdAt"] >= start_ms)
            and (end_ms is None or t["createdAt"] < end_ms)
        ]
        items = _sort(items, req, "templateId", ("id", "name", "createdAt", "updatedAt"))
        page, links = _paginate(req, items, 20, 1000, unpaginated=ctx.state.config["unpaginated_lists"] == "all")
        body = {"templates": [_pick(t, self.TEMPLATE_KEYS) for t in page], "totalTemplatesCount": len(items)}
        body.update(links)
        return json_response(200, body)

    def _template(self, ctx: Ctx, template_id: Any, medium: str) -> dict[str, Any]:
        try:
            tid = int(template_id)
        except (TypeError, ValueError):
            raise bad_params(f"Invalid templateId: {template_id}") from None
        template = ctx.project.templates.get(tid)
        if template is None or template["messageMedium"] != medium:
            raise bad_params(f"Template ID: {tid} does not exist for this project")
        return template

    @staticmethod
    def _localised(template: dict[str, Any], locale: str | None) -> dict[str, Any]:
        """The template's content in ``locale`` (seed: ``locale`` default "en", other ones in ``locales``)."""
        default = template.get("locale", "en")
        if not locale or locale == default:
            return template
        content = (template.get("locales") or {}).get(locale)
        if content is None:
            raise ApiError(404, "NotFound", f"Content does not exist for specified locale: {locale}")
        return {**template, **content, "locale": locale, "isDefaultLocale": False}

    def template_get(self, ctx: Ctx, medium: str) -> Response:
        raw = ctx.req.arg("templateId")
        if raw is None:
            raise bad_params("templateId is required")
        t = self._localised(self._template(ctx, raw, medium), ctx.req.arg("locale"))
        return json_response(200, self._template_view(t, medium))

    def _template_view(self, t: dict[str, Any], medium: str) -> dict[str, Any]:
        """A template as ``templates/*/get`` shows it, with the emulator's defaults for missing content."""
        name = t["name"]
        base = _pick(t, ("templateId", "name", "messageTypeId", "clientTemplateId"))
        if medium == "Email":
            base.update(
                {
                    "subject": t.get("subject", name),
                    "html": t.get("html", f"<html><body><p>{name}</p></body></html>"),
                    "plainText": t.get("plainText", name),
                    "fromName": t.get("fromName", "Iterable emulator"),
                    "fromEmail": t.get("fromEmail", "noreply@example.com"),
                    "preheaderText": t.get("preheaderText", ""),
                    "creatorUserId": t["creatorUserId"],
                    "locale": t.get("locale", "en"),
                    "isDefaultLocale": t.get("isDefaultLocale", True),
                    "metadata": _pick(t, self.TEMPLATE_KEYS),
                }
            )
        elif medium == "Push":
            base.update(
                {
                    "title": t.get("title", name),
                    "message": t.get("message", name),
                    "badge": t.get("badge", ""),
                    "sound": t.get("sound", ""),
                    "payload": copy.deepcopy(t.get("payload", {})),
                    "deeplink": copy.deepcopy(t.get("deeplink", {})),
                    "isSilentPush": bool(t.get("isSilentPush", False)),
                    "locale": t.get("locale", "en"),
                    "isDefaultLocale": t.get("isDefaultLocale", True),
                }
            )
        elif medium == "SMS":
            base.update({"message": t.get("message", name), "locale": t.get("locale", "en")})
        else:
            base.update({"html": t.get("html", f"<p>{name}</p>"), "locale": t.get("locale", "en")})
        return base

    def rendered(
        self, template: dict[str, Any], medium: str, data: dict[str, Any], feed: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """What a recipient would see: each visible field of the template with ``data`` merged in."""
        view = self._template_view(template, medium)
        if template.get("mergeDataFeedContext") and feed:
            data = {**feed, **data}
        return {key: render(view.get(key), data, feed) for key in RENDERED_FIELDS[medium] if key in view}

    def _merge_data(self, user: dict[str, Any] | None, fields: dict[str, Any] | None) -> dict[str, Any]:
        """Merge context of a send: the profile's fields, then the request's dataFields on top."""
        data = copy.deepcopy((user or {}).get("dataFields") or {})
        if user:
            data.setdefault("email", user["email"])
        data.update(copy.deepcopy(fields or {}))
        return data

    def _send_rendering(
        self,
        template: dict[str, Any] | None,
        medium: str,
        user: dict[str, Any] | None,
        fields: dict[str, Any] | None,
        locale: str | None = None,
        email: str | None = None,
    ) -> dict[str, Any] | None:
        """For ``/_emulator/sends``: what the message would have said; a send never fails over it."""
        if template is None:
            return None
        data = self._merge_data(user, fields)
        if email:
            data.setdefault("email", email)
        try:
            return self.rendered(self._localised(template, locale), medium, data)
        except (ApiError, RenderError) as exc:
            return {"error": str(exc)}

    def template_preview(self, ctx: Ctx, medium: str) -> Response:
        raw = ctx.req.arg("templateId")
        if raw is None:
            raise bad_params("templateId is required")
        try:
            tid = int(raw)
        except ValueError:
            raise bad_params(f"Invalid templateId: {raw}") from None
        template = ctx.project.templates.get(tid)
        if template is None or template["messageMedium"] != medium:
            raise ApiError(404, "NotFound", f"Template {tid} not found")
        template = self._localised(template, ctx.req.arg("locale"))
        spec = {"dataFields": "object", "dataFeed": "object", "fetchDataFeeds": "bool"}
        body = ctx.body(spec) if ctx.req.body.strip() else {}
        try:
            out = self.rendered(template, medium, copy.deepcopy(body.get("dataFields") or {}), body.get("dataFeed"))
        except RenderError as exc:
            raise bad_params(f"Template {tid} cannot be rendered: {exc}") from None
        return text_response(200, out["html"], "text/html; charset=utf-8")

    CAMPAIGN_KEYS = (
        "id",
        "name",
        "type",
        "campaignState",
        "messageMedium",
        "templateId",
        "workflowId",
        "createdAt",
        "updatedAt",
        "createdByUserId",
        "updatedByUserId",
        "startAt",
        "endedAt",
        "labels",
        "listIds",
        "suppressionListIds",
        "sendSize",
        "recurringCampaignId",
    )

    def campaigns_get(self, ctx: Ctx) -> Response:
        states = set(ctx.req.query.get("campaignState", []))
        items = [c for c in ctx.project.campaigns.values() if not states or c["campaignState"] in states]
        items = _sort(items, ctx.req, "id", ("id", "name", "createdAt", "updatedAt", "startAt"))
        page, links = _paginate(ctx.req, items, 20, 1000, unpaginated=ctx.state.config["unpaginated_lists"] == "all")
        body = {"campaigns": [_pick(c, self.CAMPAIGN_KEYS) for c in page], "totalCampaignsCount": len(items)}
        body.update(links)
        return json_response(200, body)

    def campaign_get(self, ctx: Ctx, id: str) -> Response:
        # The spec's path parameter is an int64; anything else is Iterable's 400, an unknown id its 404.
        try:
            campaign_id = int(id)
        except ValueError:
            raise bad_params(f"Invalid campaign id: {id}") from None
        campaign = ctx.project.campaigns.get(campaign_id)
        if campaign is None:
            raise ApiError(404, "NotFound", f"Campaign {campaign_id} not found")
        return json_response(200, _pick(campaign, self.CAMPAIGN_KEYS))

    # Recorded column order; Iterable repeats every metric name (two columns, equal values).
    METRICS = (
        "Average Order Value",
        "Purchases / M",
        "Revenue",
        "Revenue / M",
        "Total Complaints",
        "Total Email Opens",
        "Total Email Sends",
        "Total Emails Bounced",
        "Total Emails Clicked",
        "Total Emails Delivered",
        "Total Hosted Unsubscribe Clicks",
        "Total Purchases",
        "Total Unsubscribes",
        "Unique Email Clicks",
        "Unique Email Opens Or Clicks",
        "Unique Emails Bounced",
        "Unique Hosted Unsubscribe Clicks",
        "Unique Purchases",
        "Unique Unsubscribes",
    )

    def campaign_metrics(self, ctx: Ctx) -> Response:
        """CSV of one row per campaign, counted from the emulator's sends and seeded engagement events."""
        ids = []
        for raw in ctx.req.query.get("campaignId", []):
            try:
                ids.append(int(raw))
            except ValueError:
                raise bad_params(f"Invalid campaignId: {raw}") from None
        start_ms, end_ms = date_param_ms(ctx.req, "startDateTime"), date_param_ms(ctx.req, "endDateTime")

        def in_range(ms: int) -> bool:
            return (start_ms is None or ms >= start_ms) and (end_ms is None or ms < end_ms)

        header = ",".join(["id"] + [name for name in self.METRICS for _ in (1, 2)])
        if not ids:
            return text_response(200, "id,\n")  # recorded answer without a campaignId
        rows = [header]
        for cid in ids:
            sends = [
                s
                for s in ctx.state.sends
                if s["projectId"] == ctx.project.id
                and s["campaignId"] == cid
                and s["kind"] == "target"
                and s["status"] == "sent"
                and s["messageMedium"] == "Email"
                and in_range(s["createdAtMs"])
            ]
            events = [
                e
                for e in ctx.state.events
                if e["projectId"] == ctx.project.id and e.get("campaignId") == cid and in_range(e["createdAtMs"])
            ]
            values = self._metric_values(sends, events)
            rows.append(",".join([str(cid)] + [str(values[name]) for name in self.METRICS for _ in (1, 2)]))
        return text_response(200, "\n".join(rows))

    @staticmethod
    def _metric_values(sends: list[dict[str, Any]], events: list[dict[str, Any]]) -> dict[str, Any]:
        def of(kind: str) -> list[dict[str, Any]]:
            return [e for e in events if e["eventType"] == kind]

        def unique(*kinds: str) -> int:
            return len({(e.get("email") or "").lower() for e in events if e["eventType"] in kinds})

        def per_mille(n: float) -> float:
            return round(n / len(sends) * 1000, 4) if sends else 0.0

        purchases = of("purchase")
        revenue = float(sum(float((e.get("dataFields") or {}).get("total") or 0) for e in purchases))
        return {
            "Average Order Value": round(revenue / len(purchases), 4) if purchases else 0.0,
            "Purchases / M": per_mille(len(purchases)),
            "Revenue": revenue,
            "Revenue / M": per_mille(revenue),
            "Total Complaints": len(of("emailComplaint")),
            "Total Email Opens": len(of("emailOpen")),
            "Total Email Sends": len(sends),
            "Total Emails Bounced": len(of("emailBounce")),
            "Total Emails Clicked": len(of("emailClick")),
            "Total Emails Delivered": float(len(sends) - len(of("emailBounce"))),
            "Total Hosted Unsubscribe Clicks": len(of("hostedUnsubscribeClick")),
            "Total Purchases": len(purchases),
            "Total Unsubscribes": len(of("emailUnSubscribe")),
            "Unique Email Clicks": unique("emailClick"),
            "Unique Email Opens Or Clicks": unique("emailOpen", "emailClick"),
            "Unique Emails Bounced": unique("emailBounce"),
            "Unique Hosted Unsubscribe Clicks": unique("hostedUnsubscribeClick"),
            "Unique Purchases": unique("purchase"),
            "Unique Unsubscribes": unique("emailUnSubscribe"),
        }

    JOURNEY_KEYS = (
        "id",
        "name",
        "description",
        "enabled",
        "isArchived",
        "journeyType",
        "triggerEventNames",
        "createdAt",
        "updatedAt",
        "creatorUserId",
        "lifetimeLimit",
        "simultaneousLimit",
        "startTileId",
    )

    def journeys_get(self, ctx: Ctx) -> Response:
        archived = "Archived" in ctx.req.query.get("state", [])
        items = [j for j in ctx.project.journeys.values() if bool(j["isArchived"]) == archived]
        items = _sort(items, ctx.req, "id", ("id", "name", "createdAt", "updatedAt"))
        page, links = _paginate(ctx.req, items, 10, 50)
        body = {"journeys": [_pick(j, self.JOURNEY_KEYS) for j in page], "totalJourneysCount": len(items)}
        body.update(links)
        return json_response(200, body)

    # -- system webhooks ---------------------------------------------------------------------------
    WEBHOOK_KEYS = (
        "id",
        "endpoint",
        "authType",
        "enabled",
        "blastSendEnabled",
        "triggeredSendEnabled",
        "channelIds",
        "messageTypeIds",
    )
    AUTH_TYPES = ("NoAuth", "Basic", "OAuth2")

    def webhooks_get(self, ctx: Ctx) -> Response:
        hooks = [{k: copy.deepcopy(h.get(k)) for k in self.WEBHOOK_KEYS} for h in ctx.project.webhooks.values()]
        return json_response(200, {"webhooks": hooks})

    def webhook_update(self, ctx: Ctx) -> Response:
        body = ctx.body(
            {
                "id": Req("int"),
                "endpoint": "string",
                "authType": "string",
                "authToken": "string",
                "enabled": "bool",
                "blastSendEnabled": "bool",
                "triggeredSendEnabled": "bool",
                "headers": ("array", {"key": Req("string"), "value": Req("string")}),
            }
        )
        hook = ctx.project.webhooks.get(int(body["id"]))
        if hook is None:
            raise bad_params(f"Webhook {body['id']} does not exist in this project")
        if body.get("authType") is not None and body["authType"] not in self.AUTH_TYPES:
            raise bad_params(f"Invalid authType: {body['authType']}. Use {', '.join(self.AUTH_TYPES)}")
        endpoint = body.get("endpoint")
        if endpoint is not None and not re.match(r"^https?://[^\s/]+", endpoint):
            raise bad_params(f"Invalid endpoint: {endpoint}")
        # Only the fields sent change (spec); the rollback restores the old entry if anything below fails.
        ctx.project.webhooks[hook["id"]] = {**hook, **{k: copy.deepcopy(v) for k, v in body.items() if v is not None}}
        updated = ctx.project.webhooks[hook["id"]]
        return json_response(200, {k: copy.deepcopy(updated.get(k)) for k in self.WEBHOOK_KEYS})

    def _deliver_unsubscribes(
        self, ctx: Ctx, user: dict[str, Any], before: dict[str, Any], row: dict[str, Any]
    ) -> None:
        """An emailUnSubscribe delivery when a write unsubscribed the user from channels or message types
        (opting out of an opt-in type included), attributed to the campaign and template the request names."""
        after = _subscription_arrays(user)
        channels = [c for c in after["unsubscribedChannelIds"] if c not in before["unsubscribedChannelIds"]]
        types = [t for t in after["unsubscribedMessageTypeIds"] if t not in before["unsubscribedMessageTypeIds"]]
        types += [
            t
            for t in before["subscribedMessageTypeIds"]
            if t not in after["subscribedMessageTypeIds"] and t not in types
        ]
        if not channels and not types:
            return
        fields = {"channelIds": channels, "messageTypeIds": types, "createdAt": iterable_time()}
        for key in ("campaignId", "templateId"):
            if row.get(key) is not None:
                fields[key] = row[key]
        self._deliver(ctx, "emailUnSubscribe", user["email"], fields)

    def _deliver(
        self,
        ctx: Ctx,
        event_name: str,
        email: str,
        data: dict[str, Any],
        *,
        channel_id: Any = None,
        message_type_id: Any = None,
        triggered: bool | None = None,
    ) -> None:
        """Record the system-webhook call Iterable would make for this event, per matching webhook."""
        for hook in ctx.project.webhooks.values():
            if not hook["enabled"]:
                continue
            if triggered is not None and not hook["triggeredSendEnabled"]:
                continue
            if channel_id is not None and hook["channelIds"] and channel_id not in hook["channelIds"]:
                continue
            if message_type_id is not None and hook["messageTypeIds"] and message_type_id not in hook["messageTypeIds"]:
                continue
            headers = {h["key"]: h["value"] for h in hook.get("headers") or []}
            ctx.state.webhook_deliveries.append(
                {
                    "projectId": ctx.project.id,
                    "webhookId": hook["id"],
                    "endpoint": hook["endpoint"],
                    "authType": hook["authType"],
                    "headers": headers,
                    "payload": {"email": email, "eventName": event_name, "dataFields": copy.deepcopy(data)},
                }
            )

    # -- sends -------------------------------------------------------------------------------------
    def _record_send(self, ctx: Ctx, **fields: Any) -> dict[str, Any]:
        ts = time.time()
        send = {
            "messageId": uuid.uuid4().hex,
            "projectId": ctx.project.id,
            "createdAt": iterable_time(ts),
            "createdAtMs": int(ts * 1000),
            "reason": None,
            **fields,
        }
        (ctx.refused_sends if send["status"] == "rejected" else ctx.state.sends).append(send)
        if send["kind"] == "target" and send["status"] in ("sent", "skipped"):
            prefix = EVENT_PREFIX[send["messageMedium"]]
            event = {
                "id": uuid.uuid4().hex,
                "projectId": ctx.project.id,
                "eventType": f"{prefix}Send" if send["status"] == "sent" else f"{prefix}SendSkip",
                "email": send["email"],
                "createdAt": send["createdAt"],
                "createdAtMs": send["createdAtMs"],
                "campaignId": send["campaignId"],
                "templateId": send["templateId"],
                "messageId": send["messageId"],
            }
            if send.get("userId"):
                event["userId"] = send["userId"]
            if send["reason"]:
                event["reason"] = send["reason"]
            ctx.state.events.append(event)
            # Sends and send skips (with their reason) both have system webhooks in Iterable.
            fields = {k: send.get(k) for k in ("campaignId", "templateId", "messageId", "createdAt", "messageTypeId")}
            if send["reason"]:
                fields["reason"] = send["reason"]
            self._deliver(
                ctx,
                event["eventType"],
                send["email"],
                fields,
                channel_id=send.get("channelId"),
                message_type_id=send.get("messageTypeId"),
                triggered=True,
            )
        return send

    def target(self, ctx: Ctx, medium: str) -> Response:
        body = ctx.body(
            {
                "campaignId": Req("int"),
                "recipientEmail": "string",
                "recipientUserId": "string",
                "dataFields": "object",
                "sendAt": "string",
                "allowRepeatMarketingSends": "bool",
                "metadata": "object",
            }
        )
        campaign_id = int(body["campaignId"])
        campaign = ctx.project.campaigns.get(campaign_id)
        if campaign is None or campaign["messageMedium"] != medium or campaign["type"] != "Triggered":
            raise bad_params("Invalid campaignId", {"campaignId": str(campaign_id)})
        user = self._recipient(
            ctx.project,
            body.get("recipientEmail"),
            body.get("recipientUserId"),
            create=True,
            names=("recipientEmail", "recipientUserId"),
        )
        template_id: int | None = campaign.get("templateId")
        template = ctx.project.templates.get(template_id) if template_id is not None else None
        message_type_id: int | None = template["messageTypeId"] if template else campaign.get("messageTypeId")
        mt = ctx.project.message_types.get(message_type_id) if message_type_id is not None else None
        common = {
            "kind": "target",
            "messageMedium": medium,
            "campaignId": campaign_id,
            "templateId": campaign.get("templateId"),
            "messageTypeId": message_type_id,
            "channelId": mt["channelId"] if mt else None,
            "email": user["email"],
            "userId": user.get("userId"),
            "dataFields": copy.deepcopy(body.get("dataFields") or {}),
            "metadata": copy.deepcopy(body.get("metadata") or {}),
            "rendered": self._send_rendering(template, medium, user, body.get("dataFields")),
        }
        send_at = body.get("sendAt")
        if send_at:
            when = parse_send_at(send_at)
            if when.timestamp() > time.time():
                scheduled_id = 1 + max((s.get("scheduledMessageId") or 0 for s in ctx.state.sends), default=0)
                self._record_send(ctx, status="scheduled", sendAt=send_at, scheduledMessageId=scheduled_id, **common)
                stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
                return envelope(
                    200,
                    "Success",
                    f"Campaign {campaign_id} - Scheduled triggered message for: {stamp} to: {user['email']}",
                    {"scheduledMessageId": scheduled_id},
                )
        sent_msg = f"Campaign {campaign_id} - Sent triggered message to: {user['email']}"
        if campaign["campaignState"] in DEACTIVATED_STATES:
            self._record_send(ctx, status="skipped", **{**common, "reason": "CampaignDeactivated"})
            return envelope(200, "Success", sent_msg)
        reason = eligibility(ctx.project, user, message_type_id)
        if reason:
            if ctx.state.config["ineligible_send_mode"] == "error":
                self._record_send(ctx, status="rejected", **{**common, "reason": reason})
                raise bad_params(
                    f"Recipient {user['email']} is not eligible for message type {message_type_id}: {reason}",
                    {"reason": reason, "messageTypeId": message_type_id},
                )
            self._record_send(ctx, status="skipped", **{**common, "reason": reason})
            return envelope(200, "Success", sent_msg)
        self._record_send(ctx, status="sent", **common)
        return envelope(200, "Success", sent_msg)

    def cancel(self, ctx: Ctx, medium: str) -> Response:
        """Cancel scheduled sends: by ``scheduledMessageId``, or every one of a campaign to one user.

        Recorded traffic cancelled an in-app message through ``push/cancel``, so the medium is not checked.
        """
        body = ctx.body({"campaignId": "int", "email": "string", "userId": "string", "scheduledMessageId": "int"})
        scheduled_id, campaign_id = body.get("scheduledMessageId"), body.get("campaignId")
        email, user_id = body.get("email"), body.get("userId")
        wanted: Callable[[dict[str, Any]], bool]
        if scheduled_id is not None:
            wanted = lambda s: s.get("scheduledMessageId") == int(scheduled_id)  # noqa: E731
            missing = f"No scheduled messages found- Invalid scheduledMessageId: {scheduled_id}"
        elif campaign_id is not None and (email is not None or user_id is not None):
            if email is not None:
                if not is_valid_email(email):
                    raise invalid_email(email)
                wanted = lambda s: (s.get("email") or "").lower() == email.lower() and s["campaignId"] == campaign_id  # noqa: E731
                missing = "No scheduled messages found- Invalid email and campaignId combination"
            else:
                wanted = lambda s: s.get("userId") == user_id and s["campaignId"] == campaign_id  # noqa: E731
                missing = "No scheduled messages found- Invalid userId and campaignId combination"
        else:
            raise bad_params("Either scheduledMessageId, or campaignId with email or userId, must be provided")
        sends = ctx.state.sends
        hits = [
            i
            for i, s in enumerate(sends)
            if s["projectId"] == ctx.project.id and s["status"] == "scheduled" and wanted(s)
        ]
        if not hits:
            raise bad_params(missing)
        for i in hits:
            # A new dict, not an update in place: a rolled-back request restores the list's old entries.
            sends[i] = {**sends[i], "status": "cancelled", "cancelledVia": f"{medium} cancel"}
        ids = ",".join(str(sends[i]["scheduledMessageId"]) for i in reversed(hits))
        return envelope(
            200,
            "Success",
            f"Successfully cancelled scheduled messages with scheduledMessageId: {ids} from project: {ctx.project.id}",
        )

    def template_proof(self, ctx: Ctx, medium: str) -> Response:
        body = ctx.body(
            {
                "templateId": Req("int"),
                "recipientEmail": "string",
                "recipientUserId": "string",
                "dataFields": "object",
                "locale": "string",
            }
        )
        template = self._template(ctx, body["templateId"], medium)
        email, user_id = body.get("recipientEmail"), body.get("recipientUserId")
        if email is not None:
            if not is_valid_email(email):
                raise invalid_email(email)
            user = ctx.project.get_user(email)
        else:
            user = self._recipient(
                ctx.project, None, user_id, create=False, names=("recipientEmail", "recipientUserId")
            )
            assert user is not None  # a userId finds its profile or raises
            email = user["email"]
        mt = ctx.project.message_types.get(template["messageTypeId"])
        self._record_send(
            ctx,
            kind="proof",
            status="sent",
            messageMedium=medium,
            campaignId=template.get("campaignId"),
            templateId=template["templateId"],
            messageTypeId=template["messageTypeId"],
            channelId=mt["channelId"] if mt else None,
            email=email,
            userId=(user or {}).get("userId"),
            dataFields=copy.deepcopy(body.get("dataFields") or {}),
            metadata={},
            locale=body.get("locale"),
            rendered=self._send_rendering(template, medium, user, body.get("dataFields"), body.get("locale"), email),
        )
        return envelope(200, "Success", f"Sent proof of template {template['templateId']} to: {email}")

    # -- events ------------------------------------------------------------------------------------
    def _track_one(self, ctx: Ctx, row: dict[str, Any], path: str = "obj") -> str:
        email, user_id = row.get("email"), row.get("userId")
        user = self._recipient(ctx.project, email, user_id, create=True)
        created = row.get("createdAt")
        ts = event_seconds(ctx.state.config, created, f"{path}.createdAt") if created is not None else time.time()
        event_id = row.get("id") or uuid.uuid4().hex
        event = {
            "id": event_id,
            "projectId": ctx.project.id,
            "eventType": "customEvent",
            "eventName": row["eventName"],
            "email": user["email"],
            "createdAt": iterable_time(ts),
            "createdAtMs": int(ts * 1000),
            "dataFields": copy.deepcopy(row.get("dataFields") or {}),
            "journeyIds": [
                j["id"]
                for j in ctx.project.journeys.values()
                if j["enabled"] and not j["isArchived"] and row["eventName"] in (j.get("triggerEventNames") or [])
            ],
        }
        if user.get("userId"):
            event["userId"] = user["userId"]
        for key in ("campaignId", "templateId"):
            if row.get(key) is not None:
                event[key] = int(row[key])
        self._deliver(ctx, row["eventName"], user["email"], {**event["dataFields"], "createdAt": event["createdAt"]})
        events = ctx.state.events
        for i, existing in enumerate(events):
            if existing["projectId"] == ctx.project.id and existing["id"] == event_id:
                events[i] = event
                break
        else:
            events.append(event)
        return event_id

    def events_track(self, ctx: Ctx) -> Response:
        body = ctx.body(TRACK_SPEC)
        if body.get("email") is None and body.get("userId") is None:
            raise bad_params("Either email or userId must be specified in a track call")
        event_id = self._track_one(ctx, body)
        return envelope(200, "Success", f"Event with id: {event_id} tracked.", {"id": event_id})

    def events_track_bulk(self, ctx: Ctx) -> Response:
        body = ctx.body({"events": Req(("array", BULK_TRACK_ITEM))})
        rows = body["events"]
        ctx.batch_check("POST /api/events/trackBulk", rows)
        failed: dict[str, list[Any]] = {
            k: []
            for k in (
                "forgottenEmails",
                "forgottenUserIds",
                "invalidEmails",
                "invalidUserIds",
                "notFoundEmails",
                "notFoundUserIds",
            )
        }
        result: dict[str, Any] = {
            "successCount": 0,
            "failCount": 0,
            "invalidEmails": [],
            "invalidUserIds": [],
            "disallowedEventNames": [],
            "failedUpdates": failed,
            "createdFields": [],
            "filteredOutFields": [],
        }
        for i, row in enumerate(rows):
            email, user_id = row.get("email"), row.get("userId")
            if email is not None and not is_valid_email(email):
                result["invalidEmails"].append(email)
                failed["invalidEmails"].append(email)
            elif email is None and user_id is not None and ctx.project.get_user_by_id(user_id) is None:
                result["invalidUserIds"].append(user_id)
                failed["notFoundUserIds"].append(user_id)
            elif email is None and user_id is None:
                pass
            elif email is not None and ctx.project.get_user(email) is None and ctx.project.is_forgotten(email=email):
                failed["forgottenEmails"].append(email)
            else:
                self._track_one(ctx, row, f"obj.events[{i}]")
                result["successCount"] += 1
                continue
            result["failCount"] += 1
        return json_response(200, result)

    def _events_for(self, ctx: Ctx, email: str | None) -> Response:
        limit = _int_arg(ctx.req, "limit", 30)
        if limit < 1 or limit > 200:
            raise bad_params(f"limit must be between 1 and 200, got {limit}")
        out = []
        if email is not None:
            matching = [
                e
                for e in ctx.state.events
                if e["projectId"] == ctx.project.id and (e.get("email") or "").lower() == email.lower()
            ]
            matching.sort(key=lambda e: e["createdAtMs"], reverse=True)
            for event in matching[:limit]:
                out.append(
                    {
                        k: copy.deepcopy(v)
                        for k, v in event.items()
                        if k not in ("projectId", "createdAtMs", "journeyIds")
                    }
                )
        return json_response(200, {"events": out})

    def events_get(self, ctx: Ctx, email: str) -> Response:
        if not is_valid_email(email):
            raise invalid_email(email)
        return self._events_for(ctx, email)

    def events_get_by_user_id(self, ctx: Ctx, userId: str) -> Response:
        user = ctx.project.get_user_by_id(userId)
        return self._events_for(ctx, user["email"] if user else None)

    # -- inspection API ----------------------------------------------------------------------------
    def inspection(self, req: Request) -> Response:  # noqa: C901 (a flat table of the inspection routes)
        state = self.state
        route = (req.method, req.path.rstrip("/"))
        if route == ("POST", "/_emulator/reset"):
            state.reset()
            return json_response(200, {"ok": True})
        if route == ("POST", "/_emulator/seed"):
            try:
                seed = json.loads(req.body.decode("utf-8") or "null")
            except (UnicodeDecodeError, ValueError) as exc:
                return json_response(400, {"error": f"invalid JSON: {exc}"})
            state.load_seed(seed)
            return json_response(200, {"ok": True, "projects": len(state.projects)})
        if route == ("GET", "/_emulator/state"):
            return json_response(200, state.snapshot())
        if route == ("GET", "/_emulator/requests"):
            project = req.query.get("project", [None])[0]
            entries = state.list_requests(
                path=req.query.get("path", [None])[0],
                project=int(project) if project else None,
                method=req.query.get("method", [None])[0],
            )
            return json_response(200, {"requests": entries})
        if route == ("DELETE", "/_emulator/requests"):
            state.clear_requests()
            return json_response(200, {"ok": True})
        if route == ("GET", "/_emulator/config"):
            return json_response(200, self.config_view())
        if route == ("PUT", "/_emulator/config"):
            try:
                changes = json.loads(req.body.decode("utf-8") or "{}")
            except (UnicodeDecodeError, ValueError) as exc:
                return json_response(400, {"error": f"invalid JSON: {exc}"})
            if not isinstance(changes, dict):
                return json_response(400, {"error": "config must be an object"})
            state.configure(**changes)
            return json_response(200, self.config_view())
        if route == ("GET", "/_emulator/sends"):
            project = req.query.get("project", [None])[0]
            sends = state.list_sends(
                project=int(project) if project else None,
                email=req.query.get("email", [None])[0],
                status=req.query.get("status", [None])[0],
            )
            return json_response(200, {"sends": sends})
        if route == ("GET", "/_emulator/webhooks"):
            project = req.query.get("project", [None])[0]
            with state.lock:
                deliveries = [
                    copy.deepcopy(d)
                    for d in state.webhook_deliveries
                    if project is None or d["projectId"] == int(project)
                ]
            return json_response(200, {"deliveries": deliveries})
        if route == ("GET", "/_emulator/events"):
            project = req.query.get("project", [None])[0]
            events = state.list_events(
                project=int(project) if project else None, email=req.query.get("email", [None])[0]
            )
            return json_response(200, {"events": events})
        if route == ("POST", "/_emulator/render"):
            try:
                ask = json.loads(req.body.decode("utf-8") or "{}")
                if not isinstance(ask, dict):
                    raise ValueError("the body must be an object")
                return json_response(200, self.render_for(**ask))
            except (UnicodeDecodeError, ValueError, TypeError) as exc:
                return json_response(400, {"error": str(exc)})
            except ApiError as exc:
                return json_response(400, {"error": exc.msg})
        return json_response(404, {"error": f"no inspection endpoint {req.method} {req.path}"})

    def render_for(
        self,
        project: int,
        templateId: int,
        dataFields: dict[str, Any] | None = None,
        email: str | None = None,
        locale: str | None = None,
        dataFeed: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """What Iterable would render for a template: the profile of ``email`` (if any), then ``dataFields``."""
        with self.state.lock:
            proj = self.state.projects.get(project)
            if proj is None:
                raise ValueError(f"no project {project}")
            template = proj.templates.get(templateId)
            if template is None:
                raise ValueError(f"no template {templateId} in project {project}")
            if dataFields is not None and not isinstance(dataFields, dict):
                raise ValueError("dataFields must be an object")
            user = proj.get_user(email) if email else None
            data = self._merge_data(user, dataFields)
            if email:
                data.setdefault("email", email)
            medium = template["messageMedium"]
            localised = self._localised(template, locale)
            try:
                rendered = self.rendered(localised, medium, data, dataFeed)
            except RenderError as exc:
                raise ValueError(f"template {templateId} cannot be rendered: {exc}") from None
        return {
            "templateId": templateId,
            "messageMedium": medium,
            "locale": localised.get("locale", "en"),
            "rendered": rendered,
        }

    def config_view(self) -> dict[str, Any]:
        with self.state.lock:
            config = copy.deepcopy(self.state.config)
        effective = {}
        for endpoint in ENDPOINTS:
            limit, period, scope = rate_limit_for(config, endpoint)
            effective[endpoint] = {"limit": limit, "period": period, "per": scope}
        return {"config": config, "endpoints": ENDPOINTS, "effective_rate_limits": effective, "now": now_ms()}


def make_app(state: State, data_center: str = "US") -> EmulatorApp:
    """A WSGI application serving ``state`` as the given data centre (``"US"`` or ``"EU"``)."""
    return EmulatorApp(state, data_center)
