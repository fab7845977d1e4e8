"""From stored events to counters and alerts, idempotently.

One transaction takes a batch of uncounted events, adds them to the day counters, judges the sends (the
guard's rule on the message type they really went out on; campaigns the catalog does not know; spikes
against the notification's own baseline) and marks the batch counted. A worker killed half-way rolls the
whole batch back, so every event is counted exactly once; two workers are serialised by a lock.
"""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from catalog.guard import policy
from catalog.guard.enforcement import message_type_facts
from catalog.health import partitions
from catalog.health.alerts import alert_raise, alerts_notify
from catalog.health.conf import health_setting
from catalog.health.models import AlertKind, EventKind, HealthDaily, HealthEvent
from catalog.models import IterableMirror, Journey, MessageType, MirrorKind, Notification, Template
from catalog.services.bulk import objects_update

log = logging.getLogger("catalog.health")

BATCH = 5000
# Fixed key of the PostgreSQL advisory lock that serialises counting (SQLite serialises writers already).
LOCK_KEY = 0x1EA17


def retention_days() -> int:
    return int(health_setting("HEALTH_RAW_RETENTION_DAYS", 30, int))


def bucket_of(notification_id: int | None, campaign_id: int | None, template_id: int | None) -> str:
    if notification_id:
        return f"n:{notification_id}"
    if campaign_id:
        return f"c:{campaign_id}"
    if template_id:
        return f"t:{template_id}"
    return "-"


@dataclass
class ProjectMap:
    """Which notification a campaign or template belongs to, and what Iterable says their types are."""

    by_campaign: dict[int, int] = field(default_factory=dict)
    by_template: dict[int, int] = field(default_factory=dict)
    template_type: dict[int, int | None] = field(default_factory=dict)

    @classmethod
    def load(cls, project_id: int) -> "ProjectMap":
        found = cls()

        def claim(target: dict, key, notification_id) -> None:
            # The oldest notification wins when two claim one campaign: stable across runs.
            if key is not None and notification_id is not None:
                target[key] = min(target.get(key, notification_id), notification_id)

        for pk, campaign_id in Notification.objects.filter(project_id=project_id).values_list("pk", "campaign_id"):
            claim(found.by_campaign, campaign_id, pk)
        template_rows = Template.objects.filter(project_id=project_id).values_list(
            "iterable_id", "campaign_id", "message_type__iterable_id", "notifications"
        )
        for template_id, campaign_id, type_id, notification_id in template_rows:
            found.template_type[template_id] = type_id
            claim(found.by_template, template_id, notification_id)
            claim(found.by_campaign, campaign_id, notification_id)
        # Templates only Iterable has (the last sync saw them): a send that does not say its message type is
        # judged on theirs.
        mirrored = IterableMirror.objects.filter(project_id=project_id, kind=MirrorKind.TEMPLATE).values_list(
            "iterable_id", "payload"
        )
        for template_id, payload in mirrored:
            if template_id not in found.template_type and isinstance((payload or {}).get("messageTypeId"), int):
                found.template_type[template_id] = payload["messageTypeId"]
        journeys = dict(
            Journey.objects.filter(project_id=project_id, notifications__isnull=False).values_list(
                "iterable_id", "notifications"
            )
        )
        mirror = IterableMirror.objects.filter(project_id=project_id, kind=MirrorKind.CAMPAIGN).values_list(
            "iterable_id", "iterable_template_id", "iterable_workflow_id"
        )
        for campaign_id, template_id, workflow_id in mirror:
            by_template = found.by_template.get(template_id) if template_id is not None else None
            by_journey = journeys.get(workflow_id) if workflow_id is not None else None
            claim(found.by_campaign, campaign_id, by_template or by_journey)
        return found

    def notification_for(self, campaign_id: int | None, template_id: int | None) -> int | None:
        by_campaign = self.by_campaign.get(campaign_id) if campaign_id is not None else None
        return by_campaign or (self.by_template.get(template_id) if template_id is not None else None)


def mirror_names(project_id: int, kind: str, ids: set[int]) -> dict[int, str]:
    """What the last sync saw Iterable call these campaigns or templates (people know them by name)."""
    rows = IterableMirror.objects.filter(project_id=project_id, kind=kind, iterable_id__in=ids)
    return {i: str(p["name"]) for i, p in rows.values_list("iterable_id", "payload") if (p or {}).get("name")}


def _type_facts(project_id: int, type_ids: set[int]) -> dict[int, list[policy.MessageTypeFacts]]:
    """Every account of the message types sends went out on: the catalog's and what the last sync saw in
    Iterable (a type changed in Iterable after the catalog was written is judged on both). A type neither
    knows gets facts that fail closed (no policy, no channel type: judged opt-out on a Marketing channel)."""
    facts: dict[int, list[policy.MessageTypeFacts]] = {type_id: [] for type_id in type_ids}
    for mt in MessageType.objects.filter(project_id=project_id, iterable_id__in=type_ids).select_related("channel"):
        facts[mt.iterable_id].append(message_type_facts(mt))
    types = IterableMirror.objects.filter(
        project_id=project_id, kind=MirrorKind.MESSAGE_TYPE, iterable_id__in=type_ids
    ).values_list("iterable_id", "payload")
    channels = dict(
        IterableMirror.objects.filter(project_id=project_id, kind=MirrorKind.CHANNEL).values_list(
            "iterable_id", "payload"
        )
    )
    for type_id, raw in types:
        channel = channels.get(raw.get("channelId")) or {}
        facts[type_id].append(
            policy.MessageTypeFacts(
                name=str(raw.get("name") or ""),
                # Iterable's default when a type does not say: opt-out.
                policy=raw.get("subscriptionPolicy") or policy.OPT_OUT,
                channel_name=str(channel.get("name") or f"#{raw.get('channelId')}"),
                channel_type=channel.get("channelType"),
            )
        )
    for type_id, known in facts.items():
        if not known:
            known.append(
                policy.MessageTypeFacts(
                    name=f"#{type_id} (unknown to the catalog and to the last sync)",
                    policy=None,
                    channel_name="unknown",
                    channel_type=None,
                )
            )
    return facts


def _violations(accounts: list[policy.MessageTypeFacts], subject: str) -> tuple[policy.MessageTypeFacts, list]:
    """The first account of a type that breaks the rule, with its violations (or the first account, none)."""
    for facts in accounts:
        if found := policy.message_type_violations(facts, subject=subject):
            return facts, found
    return accounts[0], []


def counting_lock() -> None:
    """Serialise writers of the counters (PostgreSQL; SQLite serialises writers already)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _add_to_counters(totals: dict[tuple, dict]) -> None:
    if not totals:
        return
    projects = {k[0] for k in totals}
    buckets = {k[1] for k in totals}
    days = {k[2] for k in totals}
    existing = {
        (row.project_id, row.bucket, row.day, row.kind): row
        for row in HealthDaily.objects.filter(project_id__in=projects, bucket__in=buckets, day__in=days)
    }
    changed, new = [], []
    for key, total in totals.items():
        row = existing.get(key)
        if row is None:
            project_id, bucket, day, kind = key
            new.append(
                HealthDaily(
                    project_id=project_id, bucket=bucket, day=day, kind=kind, webhook_count=total["count"], **total
                )
            )
            continue
        # Added to the webhooks' own account; a backfilled number for the day is not added to (see HealthDaily).
        row.webhook_count += total["count"]
        row.count = max(row.webhook_count, row.backfill_count)
        row.last_at = max(filter(None, [row.last_at, total["last_at"]]))
        changed.append(row)
    objects_update(HealthDaily, changed, ["count", "webhook_count", "last_at"])
    HealthDaily.objects.bulk_create(new, batch_size=500)


def _judge_sends(project_id: int, pmap: ProjectMap, sends: list[dict], now: datetime) -> None:
    """The guard on real sends: forbidden message types and campaigns the catalog does not know."""
    type_ids = set()
    for event in sends:
        event["type_id"] = event["message_type_id"] or pmap.template_type.get(event["template_id"])
        if event["type_id"]:
            type_ids.add(event["type_id"])
    facts = _type_facts(project_id, type_ids) if type_ids else {}
    forbidden: dict[tuple, list[dict]] = defaultdict(list)
    unknown: dict[int, list[dict]] = defaultdict(list)
    for event in sends:
        notification_id = event["notification_id"]
        accounts = facts.get(event["type_id"])
        if accounts:
            subject = f"A send of campaign {event['campaign_id']}" if event["campaign_id"] else "A send"
            if _violations(accounts, subject)[1]:
                forbidden[(notification_id, event["campaign_id"], event["type_id"])].append(event)
        # A campaign Iterable has (the mirror) but no notification declares is outside the catalog all the same.
        if event["campaign_id"] and notification_id is None:
            unknown[event["campaign_id"]].append(event)
    for (notification_id, campaign_id, type_id), events in forbidden.items():
        subject = f"Campaign {campaign_id}" if campaign_id else f"Template {events[0]['template_id']}"
        type_facts, found = _violations(facts[type_id], subject)
        sentences = [v.message for v in found]
        alert_raise(
            project_id=project_id,
            notification_id=notification_id,
            kind=AlertKind.FORBIDDEN_TYPE,
            dedupe_key=f"{AlertKind.FORBIDDEN_TYPE}:{project_id}:{campaign_id}:{type_id}",
            message=f"Iterable sent {len(events)} message(s) on message type '{type_facts.name}'. "
            + " ".join(sentences),
            details={
                "campaign_id": campaign_id,
                "message_type_id": type_id,
                "message_type": type_facts.name,
                "channel": type_facts.channel_name,
            },
            occurrences=len(events),
            at=max(e["occurred_at"] for e in events),
        )
    names = mirror_names(project_id, MirrorKind.CAMPAIGN, set(unknown)) if unknown else {}
    for campaign_id, events in unknown.items():
        name = names.get(campaign_id)
        label = f"'{name}' (campaign {campaign_id})" if name else f"campaign {campaign_id}"
        alert_raise(
            project_id=project_id,
            notification_id=None,
            kind=AlertKind.UNKNOWN_CAMPAIGN,
            dedupe_key=f"{AlertKind.UNKNOWN_CAMPAIGN}:{project_id}:{campaign_id}",
            message=f"Iterable sent {len(events)} message(s) from {label}, which no notification in "
            "the catalog declares. Add it to the catalog (Iterable sync, orphans) or stop the campaign.",
            details={"campaign_id": campaign_id, **({"campaign_name": name} if name else {})},
            occurrences=len(events),
            at=max(e["occurred_at"] for e in events),
        )


SPIKES = {
    EventKind.UNSUBSCRIBE: (AlertKind.UNSUBSCRIBE_SPIKE, "HEALTH_UNSUBSCRIBE_FLOOR", 0.005),
    EventKind.BOUNCE: (AlertKind.BOUNCE_SPIKE, "HEALTH_BOUNCE_FLOOR", 0.02),
}


def spike_check(*, notification_id: int, day, now: datetime) -> None:
    """Today's unsubscribe and bounce rates against the notification's own previous 28 days."""
    rows = HealthDaily.objects.filter(notification_id=notification_id, day__gte=day - timedelta(days=28), day__lte=day)
    today: defaultdict[str, int] = defaultdict(int)
    before: defaultdict[str, int] = defaultdict(int)
    for row_day, kind, count in rows.values_list("day", "kind", "count"):
        (today if row_day == day else before)[kind] += count
    min_count = health_setting("HEALTH_SPIKE_MIN_COUNT", 5, int)
    factor = health_setting("HEALTH_SPIKE_FACTOR", 3.0, float)
    notification = None
    for kind, (alert_kind, floor_name, floor_default) in SPIKES.items():
        if today[kind] < min_count:
            continue
        rate = today[kind] / max(today[EventKind.SEND], 1)
        baseline = before[kind] / before[EventKind.SEND] if before[EventKind.SEND] else 0.0
        if rate < health_setting(floor_name, floor_default, float) or rate < factor * baseline:
            continue
        notification = notification or Notification.objects.only("project_id", "name").get(pk=notification_id)
        word = "unsubscribes" if kind == EventKind.UNSUBSCRIBE else "bounces"
        alert_raise(
            project_id=notification.project_id,
            notification_id=notification_id,
            kind=alert_kind,
            dedupe_key=f"{alert_kind}:{notification_id}:{day.isoformat()}",
            message=f"{notification.name}: {today[kind]} {word} on {day:%d %b %Y} for {today[EventKind.SEND]} "
            f"sends ({rate:.1%}), against {baseline:.1%} over the previous 28 days.",
            details={
                "day": day.isoformat(),
                "count": today[kind],
                "sends": today[EventKind.SEND],
                "rate": round(rate, 4),
                "baseline": round(baseline, 4),
            },
            occurrences=0,
            at=now,
        )


COLUMNS = ("id", "project_id", "kind", "campaign_id", "template_id", "message_type_id", "occurred_at", "day")


def health_process_batch(*, batch: int = BATCH) -> int:
    """Count and judge one batch of uncounted events; returns how many (0 when there were none)."""
    now = timezone.now()
    with transaction.atomic():
        counting_lock()
        events = list(HealthEvent.objects.filter(counted=False).order_by("id").values(*COLUMNS)[:batch])
        if not events:
            return 0
        by_project = defaultdict(list)
        for event in events:
            by_project[event["project_id"]].append(event)
        totals: dict[tuple, dict] = {}
        spikes = set()
        for project_id, project_events in by_project.items():
            pmap = ProjectMap.load(project_id)
            for event in project_events:
                event["notification_id"] = pmap.notification_for(event["campaign_id"], event["template_id"])
                bucket = bucket_of(event["notification_id"], event["campaign_id"], event["template_id"])
                day = event["day"]
                key = (project_id, bucket, day, event["kind"])
                orphan = not event["notification_id"]
                total = totals.setdefault(
                    key,
                    {
                        "count": 0,
                        "last_at": None,
                        "notification_id": event["notification_id"],
                        "campaign_id": event["campaign_id"] if orphan else None,
                        "template_id": event["template_id"] if orphan else None,
                    },
                )
                total["count"] += 1
                total["last_at"] = max(filter(None, [total["last_at"], event["occurred_at"]]))
                if event["notification_id"] and event["kind"] in SPIKES:
                    spikes.add((event["notification_id"], day))
            sends = [e for e in project_events if e["kind"] == EventKind.SEND]
            if sends:
                _judge_sends(project_id, pmap, sends, now)
        _add_to_counters(totals)
        for notification_id, day in spikes:
            spike_check(notification_id=notification_id, day=day, now=now)
        # Per day: on PostgreSQL each UPDATE then reads one partition instead of probing every one for each id.
        by_day = defaultdict(list)
        for event in events:
            by_day[event["day"]].append(event["id"])
        for day, ids in by_day.items():
            HealthEvent.objects.filter(day=day, id__in=ids).update(counted=True)
    return len(events)


_adoption = {"last": -1e9}


def _adoption_due() -> bool:
    """Orphans are looked at once a minute per process (HEALTH_ORPHANS_ADOPT_SECONDS), not after every delivery:
    the look reads every orphan counter row, and a catalog change is seen within the minute all the same."""
    interval = health_setting("HEALTH_ORPHANS_ADOPT_SECONDS", 60.0, float)
    if time.monotonic() - _adoption["last"] < interval:
        return False
    _adoption["last"] = time.monotonic()
    return True


def orphans_adopt() -> int:
    """Move the counters of campaigns or templates counted as orphans to the notification that now declares them
    (added to its rows of the same day and kind), so its charts hold its whole history and home's list of sends
    from outside the catalog forgets them. Returns how many orphan rows moved."""
    candidates = (
        HealthDaily.objects.filter(notification__isnull=True)
        .exclude(bucket="-")
        .values_list("project_id", "campaign_id", "template_id")
        .distinct()
    )
    per_project: defaultdict[int, set[tuple]] = defaultdict(set)
    for project_id, campaign_id, template_id in candidates:
        per_project[project_id].add((campaign_id, template_id))
    moved = 0
    for project_id, ids in per_project.items():
        pmap = ProjectMap.load(project_id)
        owners = {pair: n for pair in ids if (n := pmap.notification_for(*pair))}
        if owners:
            moved += _adopt(project_id, owners)
    return moved


def _adopt(project_id: int, owners: dict[tuple, int]) -> int:
    with transaction.atomic():
        counting_lock()  # nobody adds to the orphans' rows or the notifications' rows meanwhile
        rows = [
            row
            for row in HealthDaily.objects.select_for_update().filter(
                project_id=project_id,
                notification__isnull=True,
                campaign_id__in={c for c, _ in owners if c is not None},
            )
            if (row.campaign_id, row.template_id) in owners
        ] + [
            row
            for row in HealthDaily.objects.select_for_update().filter(
                project_id=project_id,
                notification__isnull=True,
                campaign_id=None,
                template_id__in={t for _, t in owners},
            )
            if (row.campaign_id, row.template_id) in owners
        ]
        if not rows:
            return 0
        targets = {
            (row.bucket, row.day, row.kind): row
            for row in HealthDaily.objects.select_for_update().filter(
                project_id=project_id,
                bucket__in={bucket_of(n, None, None) for n in owners.values()},
                day__in={row.day for row in rows},
            )
        }
        new = []
        for row in rows:
            notification_id = owners[(row.campaign_id, row.template_id)]
            key = (bucket_of(notification_id, None, None), row.day, row.kind)
            target = targets.get(key)
            if target is None:
                target = targets[key] = HealthDaily(
                    project_id=project_id, bucket=key[0], notification_id=notification_id, day=row.day, kind=row.kind
                )
                new.append(target)
            target.webhook_count += row.webhook_count
            target.backfill_count = max(target.backfill_count, row.backfill_count)
            target.count = max(target.webhook_count, target.backfill_count)
            target.last_at = max(filter(None, [target.last_at, row.last_at]), default=None)
        HealthDaily.objects.filter(pk__in=[row.pk for row in rows]).delete()
        changed = [t for t in targets.values() if t.pk is not None]
        objects_update(HealthDaily, changed, ["count", "webhook_count", "backfill_count", "last_at"])
        HealthDaily.objects.bulk_create(new, batch_size=500)
        log.info("Live health: %s orphan counter rows moved to the notifications that now declare them", len(rows))
        return len(rows)


def health_retention_purge(*, now: datetime | None = None, batch: int = 10_000, max_batches: int = 50) -> dict:
    """Keep the raw window: events of days older than HEALTH_RAW_RETENTION_DAYS go once they are counted.

    On PostgreSQL the day partitions ahead are made and the expired ones dropped whole; what remains (the default
    partition's old rows, or SQLite's table) is deleted in bounded batches (short locks).
    """
    today = timezone.localdate(now)
    cutoff = today - timedelta(days=retention_days())
    if partitions.is_partitioned():
        return {
            "partitions_made": [d.isoformat() for d in partitions.partitions_ensure(today=today, first=cutoff)],
            "partitions_dropped": [d.isoformat() for d in partitions.partitions_drop_before(cutoff)],
            "deleted": partitions.default_purge(cutoff, batch=batch, max_batches=max_batches),
        }
    deleted = 0
    for _ in range(max_batches):
        old = HealthEvent.objects.filter(day__lt=cutoff, counted=True).order_by("day", "id")
        keys = list(old.values_list("day", "id")[:batch])
        if not keys:
            break
        for day in {day for day, _ in keys}:
            deleted += HealthEvent.objects.filter(day=day, id__in=[i for d, i in keys if d == day]).delete()[0]
    return {"partitions_made": [], "partitions_dropped": [], "deleted": deleted}


def health_process(*, max_batches: int = 20) -> dict:
    """Everything a worker does for live health: count, judge, move orphans a notification now declares, notify
    owners."""
    counted = 0
    for _ in range(max_batches):
        done = health_process_batch()
        counted += done
        if done < BATCH:
            break
    adopted = orphans_adopt() if _adoption_due() else 0
    notified = alerts_notify()
    return {"counted": counted, "adopted": adopted, "notified": notified}
