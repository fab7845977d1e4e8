"""In-memory state of the emulator: projects, users, sends, events, config and the request log.

Everything here is plain dicts and lists so that the whole state can be dumped to JSON (the
``GET /_emulator/state`` answer and the ``--state-file`` format are both a valid seed).
All access from the HTTP layer happens under ``State.lock``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard

from .ratelimit import RateLimiter

SUBSCRIPTION_ARRAYS = (
    "emailListIds",
    "subscribedMessageTypeIds",
    "unsubscribedChannelIds",
    "unsubscribedMessageTypeIds",
)
DATA_CENTERS = ("US", "EU")
INELIGIBLE_MODES = ("skip", "error")
UNKNOWN_USER_ID_MODES = ("legacy_400", "empty")
CREATED_AT_UNITS = ("auto", "seconds", "milliseconds")
DELETE_UNKNOWN_MODES = ("recorded", "strict")
UNPAGINATED_MODES = ("all", "paginate")
SENT_MESSAGE_FIELD_MODES = ("clients", "recorded")
FAULT_KINDS = ("error500", "error503", "error429", "slow", "drop")

DEFAULT_CONFIG: dict[str, Any] = {
    # Global switch for the per-(project, endpoint) rate limiter.
    "rate_limits_enabled": True,
    # Overrides of the documented limits: {"POST /api/users/update": {"limit": 500, "period": 1.0}}.
    "rate_limits": {},
    # Used for endpoints whose limit Iterable does not document.
    "default_rate_limit": {"limit": 100, "period": 1.0},
    # What */target does for a recipient who is not eligible: "skip" (HTTP 200 + send-skip) or "error" (400).
    "ineligible_send_mode": "skip",
    # GET users/byUserId for an unknown id: "empty" (HTTP 200 {}, like an unknown email, what Iterable's
    # published client expects) or "legacy_400" (the 2017 recording: 400 text/plain "No user with that id exists!").
    "unknown_user_id": "empty",
    # Event createdAt: "auto" (values from 1e11 on are milliseconds, smaller ones seconds), "seconds" or
    # "milliseconds". Iterable's clients send both; neither ever answers 500.
    "created_at_unit": "auto",
    # DELETE of an unknown user: "recorded" (email: 200 Success; userId: 400 BadParams "No users with userId
    # X exist") or "strict" (400 UnknownEmailError / UnknownUserIdError).
    "delete_unknown_user": "recorded",
    # GET templates / campaigns without page and pageSize: "all" (spec and recording: every row) or
    # "paginate" (the first page of 20, as if the project had lost the deprecated unpaginated form).
    "unpaginated_lists": "all",
    # getSentMessages rows: "clients" adds status, sentAt and campaignName (required by Iterable's published
    # client) to the recorded messageId/campaignId/templateId/createdAt(/messageMedium); "recorded" leaves them out.
    "sent_message_fields": "clients",
    # Added latency in milliseconds per endpoint id, "*" for every /api endpoint.
    "latency_ms": {},
    # Fault rules, consumed in order: {"endpoint": "POST /api/email/target"|"*", "kind": ..., "count": N,
    # "seconds": S (slow), "process": bool (drop/slow: run the handler first), "project": id (optional)}.
    "faults": [],
    # Max rows per bulk request, per endpoint id; Iterable documents none besides the 4 MB body.
    "batch_limits": {},
    "max_body_bytes": 4 * 1024 * 1024,
    # A JSON body with another Content-Type: "strict" answers 415 BadJsonBody as Play's JSON parser does;
    # "off" reads it anyway.
    "content_type_check": "strict",
    # HTTP status of BatchTooLarge, for too many rows and for too large a body alike: 413 (Payload Too Large)
    # or 400. Nothing recorded shows which; one status for both is what matters to a client.
    "batch_too_large_status": 413,
    "max_recorded_requests": 5000,
}


_ABSENT = object()  # journal marker: the key did not exist before the request


class SeedError(ValueError):
    """A seed or config document that cannot be loaded."""


EMAIL_RE = re.compile(
    r"^[^@\s\"(),:;<>\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def is_valid_email(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) <= 254 and bool(EMAIL_RE.match(value))


def now_ms() -> int:
    return int(time.time() * 1000)


def iterable_time(ts: float | None = None) -> str:
    """Iterable's profile/event date format: ``2021-02-02 21:50:47 +00:00``."""
    dt = datetime.fromtimestamp(time.time() if ts is None else ts, UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S +00:00")


def _require(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise SeedError(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SeedError(f"{where}: {key!r} has the wrong type ({value!r})")
    return value


class Project:
    """One Iterable project: its catalog and its users."""

    def __init__(self, raw: dict[str, Any], *, default_ms: int):  # noqa: C901 (the seed's checks, in its order)
        where = f"project {raw.get('id')!r}"
        self.id: int = _require(raw, "id", int, where)
        self.name: str = raw.get("name") or f"Project {self.id}"
        self.data_center: str = raw.get("data_center", "US")
        if self.data_center not in DATA_CENTERS:
            raise SeedError(f"{where}: data_center must be US or EU")
        keys = raw.get("api_keys") or []
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise SeedError(f"{where}: api_keys must be a list of non-empty strings")
        self.api_keys: list[str] = list(keys)
        features = raw.get("features") or {}
        self.features = {
            "opt_in_message_types": bool(features.get("opt_in_message_types", False)),
            "subscriptions_api": bool(features.get("subscriptions_api", False)),
        }

        def index(name: str, id_key: str, required: tuple[str, ...]) -> dict[int, dict[str, Any]]:
            out: dict[int, dict[str, Any]] = {}
            for item in raw.get(name) or []:
                if not isinstance(item, dict):
                    raise SeedError(f"{where}: {name} entries must be objects")
                item_id = _require(item, id_key, int, f"{where} {name}")
                for key in required:
                    if key not in item:
                        raise SeedError(f"{where} {name} {item_id}: missing {key!r}")
                if item_id in out:
                    raise SeedError(f"{where} {name}: duplicate id {item_id}")
                entry = copy.deepcopy(item)
                if name != "channels":
                    entry.setdefault("createdAt", default_ms)
                    entry.setdefault("updatedAt", entry["createdAt"])
                out[item_id] = entry
            return out

        self.channels = index("channels", "id", ("name", "channelType", "messageMedium"))
        self.message_types = index("message_types", "id", ("name", "channelId"))
        for mt in self.message_types.values():
            if mt["channelId"] not in self.channels:
                raise SeedError(f"{where}: message type {mt['id']} points at unknown channel {mt['channelId']}")
        self.lists = index("lists", "id", ("name",))
        for lst in self.lists.values():
            lst.setdefault("listType", "Standard")
        self.templates = index("templates", "templateId", ("name", "messageTypeId", "messageMedium"))
        for tpl in self.templates.values():
            tpl.setdefault("templateType", "Base")
            tpl.setdefault("creatorUserId", "emulator@iterable.local")
        self.campaigns = index("campaigns", "id", ("name", "messageMedium"))
        for camp in self.campaigns.values():
            camp.setdefault("type", "Triggered")
            camp.setdefault("campaignState", "Running")
            camp.setdefault("createdByUserId", "emulator@iterable.local")
        self.webhooks = index("webhooks", "id", ("endpoint",))
        for hook in self.webhooks.values():
            hook.pop("createdAt", None)
            hook.pop("updatedAt", None)
            hook.setdefault("authType", "NoAuth")
            hook.setdefault("enabled", True)
            hook.setdefault("blastSendEnabled", False)
            hook.setdefault("triggeredSendEnabled", False)
            hook.setdefault("channelIds", [])
            hook.setdefault("messageTypeIds", [])
        self.journeys = index("journeys", "id", ("name",))
        for jny in self.journeys.values():
            jny.setdefault("enabled", True)
            jny.setdefault("isArchived", False)
            jny.setdefault("triggerEventNames", [])
            jny.setdefault("journeyType", "Published")
            jny.setdefault("creatorUserId", "emulator@iterable.local")

        self.users: dict[str, dict[str, Any]] = {}  # lower-cased email -> user
        self.users_by_id: dict[str, str] = {}  # userId -> lower-cased email
        self._txn: dict[str, Any] | None = None
        # GDPR-forgotten identities: no write may create a profile for them again until unforgotten.
        forgotten = raw.get("forgotten") or {}
        self.forgotten_emails: set[str] = {e.lower() for e in forgotten.get("emails") or []}
        self.forgotten_user_ids: set[str] = set(forgotten.get("userIds") or [])
        for item in raw.get("users") or []:
            email = item.get("email") if isinstance(item, dict) else None
            if not is_valid_email(email):
                raise SeedError(f"{where}: user with invalid email {email!r}")
            user = self.create_user(email, item.get("userId"), created=iterable_time(default_ms / 1000))
            fields = copy.deepcopy(item.get("dataFields") or {})
            user["dataFields"].update(fields)

    # -- transactions ------------------------------------------------------------------------------
    # A failing request must change nothing. Copying the project per write would cost O(users), so the
    # journal keeps the old value of each index key a request changes, and a deep copy of a profile taken
    # just before its first change: the cost follows what the request touches.
    def begin(self) -> None:
        self._txn = {
            "users": {},
            "by_id": {},
            "forgotten": (set(self.forgotten_emails), set(self.forgotten_user_ids)),
            "touched": {},
        }

    def _index_journal(self, name: str, key: str) -> None:
        if self._txn is not None and key not in self._txn[name]:
            index = self.users if name == "users" else self.users_by_id
            self._txn[name][key] = index.get(key, _ABSENT)

    def journal(self, user: dict[str, Any]) -> None:
        """Call before changing ``user`` in place, so that ``rollback()`` can restore it."""
        if self._txn is not None and id(user) not in self._txn["touched"]:
            self._txn["touched"][id(user)] = (user, copy.deepcopy(user))

    def rollback(self) -> None:
        txn, self._txn = self._txn, None
        if txn is None:
            return
        for name, index in (("users", self.users), ("by_id", self.users_by_id)):
            for key, old in txn[name].items():
                if old is _ABSENT:
                    index.pop(key, None)
                else:
                    index[key] = old
        self.forgotten_emails, self.forgotten_user_ids = txn["forgotten"]
        for user, original in txn["touched"].values():
            user.clear()
            user.update(original)

    def commit(self) -> None:
        self._txn = None

    # -- users -------------------------------------------------------------------------------------
    def get_user(self, email: str) -> dict[str, Any] | None:
        return self.users.get(email.lower())

    def get_user_by_id(self, user_id: str) -> dict[str, Any] | None:
        key = self.users_by_id.get(user_id)
        return self.users.get(key) if key else None

    def create_user(self, email: str, user_id: str | None = None, *, created: str | None = None) -> dict[str, Any]:
        stamp = created or iterable_time()
        fields: dict[str, Any] = {
            "email": email,
            "signupDate": stamp,
            "signupSource": "API",
            "profileUpdatedAt": stamp,
        }
        user: dict[str, Any] = {"email": email, "dataFields": fields}
        self._index_journal("users", email.lower())
        self.users[email.lower()] = user
        if user_id:
            self.set_user_id(user, user_id)
        return user

    def set_user_id(self, user: dict[str, Any], user_id: str) -> None:
        self.journal(user)
        old = user.get("userId")
        if old and self.users_by_id.get(old) == user["email"].lower():
            self._index_journal("by_id", old)
            del self.users_by_id[old]
        self._index_journal("by_id", user_id)
        user["userId"] = user_id
        user["dataFields"]["userId"] = user_id
        self.users_by_id[user_id] = user["email"].lower()

    def delete_user(self, user: dict[str, Any]) -> None:
        self._index_journal("users", user["email"].lower())
        self.users.pop(user["email"].lower(), None)
        if user.get("userId"):
            self._index_journal("by_id", user["userId"])
            self.users_by_id.pop(user["userId"], None)

    def is_forgotten(self, email: str | None = None, user_id: str | None = None) -> bool:
        return bool(email and email.lower() in self.forgotten_emails) or bool(
            user_id and user_id in self.forgotten_user_ids
        )

    @staticmethod
    def touch(user: dict[str, Any]) -> None:
        user["dataFields"]["profileUpdatedAt"] = iterable_time()

    # -- catalog helpers ---------------------------------------------------------------------------
    def default_marketing_email_channel(self) -> int | None:
        for ch in self.channels.values():
            if ch["channelType"] == "Marketing" and ch["messageMedium"] == "Email":
                return int(ch["id"])
        return next(iter(self.channels), None)

    def to_seed(self) -> dict[str, Any]:
        def listed(items: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
            return [copy.deepcopy(v) for v in items.values()]

        users = []
        for user in self.users.values():
            entry = {"email": user["email"]}
            if user.get("userId"):
                entry["userId"] = user["userId"]
            entry["dataFields"] = copy.deepcopy(user["dataFields"])
            users.append(entry)
        return {
            "id": self.id,
            "name": self.name,
            "data_center": self.data_center,
            "api_keys": list(self.api_keys),
            "features": dict(self.features),
            "channels": listed(self.channels),
            "message_types": listed(self.message_types),
            "lists": listed(self.lists),
            "templates": listed(self.templates),
            "campaigns": listed(self.campaigns),
            "journeys": listed(self.journeys),
            "webhooks": listed(self.webhooks),
            "users": users,
            "forgotten": {"emails": sorted(self.forgotten_emails), "userIds": sorted(self.forgotten_user_ids)},
        }


def merge_config(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated with ``update``; dict-valued keys are merged (a null value deletes)."""
    if not isinstance(update, dict):
        raise SeedError("config must be an object")
    out = copy.deepcopy(base)
    for key, value in update.items():
        if key not in DEFAULT_CONFIG:
            raise SeedError(f"unknown config key {key!r}; known: {', '.join(sorted(DEFAULT_CONFIG))}")
        if key in ("rate_limits", "latency_ms", "batch_limits"):
            if not isinstance(value, dict):
                raise SeedError(f"config {key} must be an object")
            merged = dict(out.get(key) or {})
            for k, v in value.items():
                if v is None:
                    merged.pop(k, None)
                else:
                    merged[k] = v
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    _validate_config(out)
    return out


def _normalise_limit(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = {"limit": value, "period": 1.0}
    if not isinstance(value, dict) or not isinstance(value.get("limit"), int | float) or value["limit"] <= 0:
        raise SeedError(f"{where}: expected a positive number or {{'limit': n, 'period': seconds}}")
    period = value.get("period", 1.0)
    if not isinstance(period, int | float) or period <= 0:
        raise SeedError(f"{where}: period must be a positive number of seconds")
    return {"limit": value["limit"], "period": float(period)}


def _validate_config(cfg: dict[str, Any]) -> None:  # noqa: C901 (one check per config key)
    if cfg["ineligible_send_mode"] not in INELIGIBLE_MODES:
        raise SeedError(f"ineligible_send_mode must be one of {INELIGIBLE_MODES}")
    if cfg["unknown_user_id"] not in UNKNOWN_USER_ID_MODES:
        raise SeedError(f"unknown_user_id must be one of {UNKNOWN_USER_ID_MODES}")
    if cfg["delete_unknown_user"] not in DELETE_UNKNOWN_MODES:
        raise SeedError(f"delete_unknown_user must be one of {DELETE_UNKNOWN_MODES}")
    if cfg["unpaginated_lists"] not in UNPAGINATED_MODES:
        raise SeedError(f"unpaginated_lists must be one of {UNPAGINATED_MODES}")
    if cfg["sent_message_fields"] not in SENT_MESSAGE_FIELD_MODES:
        raise SeedError(f"sent_message_fields must be one of {SENT_MESSAGE_FIELD_MODES}")
    if cfg["batch_too_large_status"] not in (400, 413):
        raise SeedError("batch_too_large_status must be 400 or 413")
    if cfg["content_type_check"] not in ("strict", "off"):
        raise SeedError("content_type_check must be strict or off")
    if cfg["created_at_unit"] not in CREATED_AT_UNITS:
        raise SeedError(f"created_at_unit must be one of {CREATED_AT_UNITS}")
    cfg["rate_limits_enabled"] = bool(cfg["rate_limits_enabled"])
    cfg["default_rate_limit"] = _normalise_limit(cfg["default_rate_limit"], "default_rate_limit")
    cfg["rate_limits"] = {k: _normalise_limit(v, f"rate_limits[{k!r}]") for k, v in cfg["rate_limits"].items()}
    for k, v in cfg["latency_ms"].items():
        if not isinstance(v, int | float) or v < 0:
            raise SeedError(f"latency_ms[{k!r}] must be a non-negative number")
    if not isinstance(cfg["faults"], list):
        raise SeedError("faults must be a list")
    faults = []
    for i, fault in enumerate(cfg["faults"]):
        if not isinstance(fault, dict) or fault.get("kind") not in FAULT_KINDS:
            raise SeedError(f"faults[{i}]: kind must be one of {FAULT_KINDS}")
        count = fault.get("count", 1)
        if not isinstance(count, int) or count < 0:
            raise SeedError(f"faults[{i}]: count must be a non-negative integer")
        faults.append(
            {
                "endpoint": fault.get("endpoint", "*"),
                "kind": fault["kind"],
                "count": count,
                "seconds": float(fault.get("seconds", 5.0)),
                "process": bool(fault.get("process", fault["kind"] == "slow")),
                "project": fault.get("project"),
            }
        )
    cfg["faults"] = faults
    for k, v in cfg["batch_limits"].items():
        if not isinstance(v, int) or v < 1:
            raise SeedError(f"batch_limits[{k!r}] must be a positive integer")


class State:
    """The emulator's whole world, shared by the US and EU listeners."""

    def __init__(
        self,
        seed: dict[str, Any] | list[Any] | None = None,
        *,
        state_file: str | os.PathLike[str] | None = None,
        config: dict[str, Any] | None = None,
    ):
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        self.limiter = RateLimiter()
        self._request_seq = 0
        self.requests: deque[dict[str, Any]] = deque()
        self._base_seed = normalise_seed(seed)
        self._base_overrides = dict(config or {})
        if self.state_file and self.state_file.exists():
            loaded = json.loads(self.state_file.read_text(encoding="utf-8"))
            self._load(normalise_seed(loaded), self._base_overrides)
        else:
            self._load(self._base_seed, self._base_overrides)

    # -- loading -----------------------------------------------------------------------------------
    def _load(self, seed: dict[str, Any], overrides: dict[str, Any]) -> None:
        default_ms = now_ms()
        projects: dict[int, Project] = {}
        keys: dict[str, int] = {}
        for raw in seed["projects"]:
            if not isinstance(raw, dict):
                raise SeedError("projects must be objects")
            project = Project(raw, default_ms=default_ms)
            if project.id in projects:
                raise SeedError(f"duplicate project id {project.id}")
            for key in project.api_keys:
                if key in keys:
                    raise SeedError("an API key is used by two projects")
                keys[key] = project.id
            projects[project.id] = project
        config = merge_config(DEFAULT_CONFIG, seed.get("config") or {})
        config = merge_config(config, overrides)
        with self.lock:
            self.projects = projects
            self.key_index = keys
            self.config = config
            self.sends: list[dict[str, Any]] = copy.deepcopy(seed.get("sends") or [])
            self.events: list[dict[str, Any]] = copy.deepcopy(seed.get("events") or [])
            # System webhook calls Iterable would have made (never sent anywhere: no network in tests).
            self.webhook_deliveries: list[dict[str, Any]] = copy.deepcopy(seed.get("webhook_deliveries") or [])
            self.limiter.reset()

    def load_seed(self, seed: dict[str, Any] | list[Any]) -> None:
        """Replace the whole state with ``seed``; it also becomes what ``reset()`` returns to."""
        normalised = normalise_seed(seed)
        with self.lock:
            # Config given to the constructor (e.g. EmulatorServer(rate_limits_enabled=False)) stays on top.
            self._load(normalised, self._base_overrides)
            self._base_seed = normalised
            self.clear_requests()
            self.save()

    def reset(self) -> None:
        """Back to the last loaded seed and config; forget sends, events, requests, faults, buckets."""
        with self.lock:
            self._load(self._base_seed, self._base_overrides)
            self.clear_requests()
            self.save()

    def configure(self, **changes: Any) -> dict[str, Any]:
        with self.lock:
            self.config = merge_config(self.config, changes)
            if "rate_limits" in changes or "default_rate_limit" in changes:
                self.limiter.reset()
            self.save()
            return copy.deepcopy(self.config)

    # -- lookups -----------------------------------------------------------------------------------
    def project_for_key(self, key: str | None) -> Project | None:
        if not key:
            return None
        pid = self.key_index.get(key)
        return self.projects.get(pid) if pid is not None else None

    def take_fault(self, endpoint: str, project_id: int) -> dict[str, Any] | None:
        with self.lock:
            for fault in self.config["faults"]:
                if fault["count"] <= 0:
                    continue
                if fault["endpoint"] not in ("*", endpoint):
                    continue
                if fault["project"] is not None and fault["project"] != project_id:
                    continue
                fault["count"] -= 1
                return dict(fault)
        return None

    # -- records -----------------------------------------------------------------------------------
    def record_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self._request_seq += 1
            entry["id"] = self._request_seq
            self.requests.append(entry)
            limit = self.config["max_recorded_requests"]
            while len(self.requests) > limit:
                self.requests.popleft()

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def list_requests(
        self, path: str | None = None, project: int | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        with self.lock:
            out = []
            for entry in self.requests:
                if path is not None and entry["path"] != path and entry.get("endpoint") != path:
                    continue
                if project is not None and entry.get("project_id") != project:
                    continue
                if method is not None and entry["method"] != method.upper():
                    continue
                out.append(copy.deepcopy(entry))
            return out

    def list_sends(
        self, project: int | None = None, email: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        with self.lock:
            return [
                copy.deepcopy(s)
                for s in self.sends
                if (project is None or s["projectId"] == project)
                and (email is None or (s.get("email") or "").lower() == email.lower())
                and (status is None or s["status"] == status)
            ]

    def list_events(self, project: int | None = None, email: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                copy.deepcopy(e)
                for e in self.events
                if (project is None or e["projectId"] == project)
                and (email is None or (e.get("email") or "").lower() == email.lower())
            ]

    # -- persistence -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "projects": [p.to_seed() for p in self.projects.values()],
                "config": copy.deepcopy(self.config),
                "sends": copy.deepcopy(self.sends),
                "events": copy.deepcopy(self.events),
                "webhook_deliveries": copy.deepcopy(self.webhook_deliveries),
            }

    def save(self) -> None:
        """Write the state file atomically (temp file in the same directory, then rename)."""
        if not self.state_file:
            return
        with self.lock:
            data = json.dumps(self.snapshot(), separators=(",", ":"))
            directory = self.state_file.parent
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".emulator-state-", suffix=".json", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(data)
                os.replace(tmp, self.state_file)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise


def normalise_seed(seed: Any) -> dict[str, Any]:
    """Accept ``{"projects": [...], "config": {...}}``, a bare list of projects, or None."""
    if seed is None:
        return {"projects": []}
    if isinstance(seed, list):
        return {"projects": copy.deepcopy(seed)}
    if not isinstance(seed, dict):
        raise SeedError("a seed must be an object with 'projects' or a list of projects")
    if not isinstance(seed.get("projects", []), list):
        raise SeedError("'projects' must be a list")
    out = copy.deepcopy(seed)
    out.setdefault("projects", [])
    return out


def load_seed_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return normalise_seed(json.load(fh))
