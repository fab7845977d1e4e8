"""Iterable's system-webhook payloads, read into HealthEvent columns.

A payload is `{"email", "userId"?, "eventName", "dataFields": {"campaignId", "templateId", "messageTypeId",
"messageId", "createdAt", "reason"?, ...}}`. Event names Iterable may add later are kept as "other" rather
than refused: refusing would make Iterable retry an event that can never be accepted.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from catalog.health.models import EventKind

KINDS = {
    "emailSend": EventKind.SEND,
    "emailOpen": EventKind.OPEN,
    "emailClick": EventKind.CLICK,
    "emailBounce": EventKind.BOUNCE,
    "emailComplaint": EventKind.COMPLAINT,
    "emailUnSubscribe": EventKind.UNSUBSCRIBE,
    "emailSubscribe": EventKind.SUBSCRIBE,
    "emailSendSkip": EventKind.SKIP,
    "pushSend": EventKind.SEND,
    "pushOpen": EventKind.OPEN,
    "pushBounce": EventKind.BOUNCE,
    "pushUninstall": EventKind.UNINSTALL,
    "pushSendSkip": EventKind.SKIP,
    "smsSend": EventKind.SEND,
    "smsBounce": EventKind.BOUNCE,
    "smsSendSkip": EventKind.SKIP,
    "smsClick": EventKind.CLICK,
    "inAppSend": EventKind.SEND,
    "inAppSendSkip": EventKind.SKIP,
    "inAppOpen": EventKind.OPEN,
    "inAppClick": EventKind.CLICK,
    "webPushSend": EventKind.SEND,
    "webPushClick": EventKind.CLICK,
    "webPushSendSkip": EventKind.SKIP,
}
MEDIUMS = {"email": "Email", "push": "Push", "sms": "SMS", "inApp": "InApp", "webPush": "WebPush"}
MAX_EVENTS_PER_REQUEST = 1000


class EventError(ValueError):
    """A payload that cannot be stored, with a sentence saying which field and why."""


@dataclass(frozen=True)
class ParsedEvent:
    event_key: str
    event_name: str
    kind: str
    medium: str
    email: str
    user_id: str
    campaign_id: int | None
    template_id: int | None
    message_type_id: int | None
    message_id: str
    reason: str
    occurred_at: datetime
    # The day it happened in the site's time zone: the counters' day, and on PostgreSQL the raw table's partition.
    # From the event's own time, so a redelivery lands on the same day (and partition) and its key drops it.
    day: date


def _int(value, where: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise EventError(f"{where} must be a whole number, not {value!r}.")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: JSON's Infinity, or 1e400
        raise EventError(f"{where} must be a whole number, not {str(value)[:40]!r}.") from None
    if not 0 <= number < 2**63:
        raise EventError(f"{where} is out of range: {number}.")
    return number


def _time(value, where: str, fallback: datetime) -> datetime:
    """Iterable writes "2026-11-30 06:01:20 +00:00"; epoch seconds or milliseconds also appear, as numbers or
    as text."""
    if value is None or value == "":
        return fallback
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 19:
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value >= 1e11 else value
        try:
            return _on_calendar(datetime.fromtimestamp(seconds, tz=UTC))
        except (OverflowError, OSError, ValueError):
            raise EventError(f"{where} is not a time: {value!r}.") from None
    if isinstance(value, str):
        # OverflowError: a time at the calendar's edge ("9999-12-31 23:59:59 -01:00") has no UTC equivalent.
        try:  # Iterable's own form, "2026-11-30 06:01:20 +00:00", read without strptime's cost
            parsed = datetime.fromisoformat(value.replace(" +", "+").replace(" -", "-"))
            # Without an offset it is Iterable's time, UTC: refused, the event would be retried forever.
            return _on_calendar(parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC))
        except (ValueError, OverflowError):
            pass
        for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
            try:
                return _on_calendar(datetime.strptime(value.replace("Z", "+0000"), fmt).astimezone(UTC))
            except (ValueError, OverflowError):
                continue
    raise EventError(f"{where} is not a time Iterable writes (e.g. 2026-11-30 06:01:20 +00:00): {str(value)[:40]!r}.")


# A day away from the calendar's ends, so the event's day exists in the site's time zone too.
_FIRST, _LAST = (
    datetime.min.replace(tzinfo=UTC) + timedelta(days=1),
    datetime.max.replace(tzinfo=UTC) - timedelta(days=1),
)


def _on_calendar(moment: datetime) -> datetime:
    if not _FIRST <= moment <= _LAST:
        raise OverflowError("too close to the calendar's ends")
    return moment


def _clean(text: str) -> str:
    """Text the databases can store: PostgreSQL refuses NUL, and no driver encodes a lone UTF-16 surrogate
    (JSON's "\\ud800" decodes to one). Such an event is stored without them rather than refused: Iterable would
    retry a refused event forever."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "replace").decode().replace("\x00", "")


def _text(value, limit: int) -> str:
    return "" if value is None else _clean(str(value))[:limit]


def event_parse(raw, *, index: int, received_at: datetime, zone=None) -> ParsedEvent:
    where = f"event {index}" if index >= 0 else "the event"
    zone = zone or timezone.get_current_timezone()
    if not isinstance(raw, dict):
        raise EventError(f"{where} must be a JSON object with eventName and dataFields.")
    name = raw.get("eventName")
    name = _clean(name) if isinstance(name, str) else name
    if not isinstance(name, str) or not name.strip():
        raise EventError(f"{where} has no eventName.")
    if len(name) > 60:
        raise EventError(f"{where}: eventName is longer than 60 characters.")
    data = raw.get("dataFields")
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise EventError(f"{where}: dataFields must be an object.")
    email = raw.get("email") if raw.get("email") is not None else data.get("email")
    user_id = raw.get("userId") if raw.get("userId") is not None else data.get("userId")
    medium = next((m for prefix, m in MEDIUMS.items() if name.startswith(prefix)), "")
    # Without createdAt (Iterable always sends it) the event's day is the day it arrived: a redelivery of such an
    # event on a later day would be stored, and counted, once more.
    occurred_at = _time(data.get("createdAt"), f"{where}: dataFields.createdAt", received_at)
    # The whole payload, canonically written: Iterable redelivers the same body, so the same key.
    try:
        canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    except RecursionError:  # a body the parser only just took, written back from deeper in the stack
        raise EventError(f"{where} is nested too deeply.") from None
    return ParsedEvent(
        event_key=hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest(),
        event_name=name,
        kind=KINDS.get(name, EventKind.OTHER),
        medium=medium,
        email=_text(email, 254).strip().lower(),
        user_id=_text(user_id, 200),
        campaign_id=_int(data.get("campaignId"), f"{where}: dataFields.campaignId"),
        template_id=_int(data.get("templateId"), f"{where}: dataFields.templateId"),
        message_type_id=_int(data.get("messageTypeId"), f"{where}: dataFields.messageTypeId"),
        message_id=_text(data.get("messageId"), 100),
        reason=_text(data.get("reason") or data.get("skipReason") or data.get("bounceMessage"), 300),
        occurred_at=occurred_at,
        day=occurred_at.astimezone(zone).date(),
    )


def events_parse(body, *, received_at: datetime) -> list[ParsedEvent]:
    """One payload (Iterable's form) or a list of them (batched replays, the bench)."""
    if isinstance(body, list):
        if not body:
            raise EventError("The list of events is empty.")
        if len(body) > MAX_EVENTS_PER_REQUEST:
            raise EventError(f"At most {MAX_EVENTS_PER_REQUEST} events per request; this one has {len(body)}.")
        zone = timezone.get_current_timezone()
        return [event_parse(item, index=i, received_at=received_at, zone=zone) for i, item in enumerate(body)]
    return [event_parse(body, index=-1, received_at=received_at)]
