"""Loads the demo catalog (catalog/demo.py) through the same validated, audited save as every door.

Idempotent: an object is written only when it is new or differs, so a second run writes nothing.
"""

from typing import Any, TypeVar

from django.db import models, transaction

from catalog import demo
from catalog.models import (
    Channel,
    CustomEvent,
    EventField,
    IterableProject,
    Journey,
    MessageType,
    Notification,
    Owner,
    Template,
)
from catalog.services.catalog import catalog_object_save
from catalog.types import Actor

M = TypeVar("M", bound=models.Model)


def _upsert(
    model: type[M],
    lookup: dict[str, Any],
    values: dict[str, Any],
    *,
    actor: Actor,
    m2m: dict[str, list[Any]] | None = None,
    counts: dict[str, int],
) -> M:
    found = model._default_manager.filter(**lookup).first()
    creating = found is None
    instance = model(**lookup) if found is None else found
    changed = creating
    for name, value in values.items():
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field)  # the demo sets concrete fields and foreign keys only
        current = getattr(instance, field.attname)
        wanted = value.pk if field.is_relation and value is not None else value
        if current != wanted:
            setattr(instance, name, value)
            changed = True
    if not creating and m2m:
        for name, wanted in m2m.items():
            if set(getattr(instance, name).all()) != set(wanted):
                changed = True
    if changed:
        catalog_object_save(actor=actor, instance=instance, m2m=m2m)
        kind = str(model._meta.verbose_name_plural)
        counts[kind] = counts.get(kind, 0) + 1
    return instance


@transaction.atomic
def demo_catalog_load(*, actor: Actor = "seed_demo", api_base_url: str = "") -> dict[str, int]:
    """Create or update the demo catalog; returns how many objects of each kind were written."""
    counts: dict[str, int] = {}
    owners = {
        (o["name"], o["role"]): _upsert(
            Owner,
            {"name": o["name"], "role": o["role"]},
            {"email": o["email"], "slack_channel": o["slack_channel"]},
            actor=actor,
            counts=counts,
        )
        for o in demo.OWNERS
    }
    for spec in demo.PROJECTS:
        project = _upsert(
            IterableProject,
            {"name": spec["name"]},
            {
                "data_center": spec["data_center"],
                "api_key_env": spec["api_key_env"],
                "iterable_project_id": spec["iterable_project_id"],
                "api_base_url": api_base_url,
            },
            actor=actor,
            counts=counts,
        )
        schema = demo.SCHEMAS[project.name]
        channels = {
            c["iterable_id"]: _upsert(
                Channel,
                {"project": project, "iterable_id": c["iterable_id"]},
                {"name": c["name"], "channel_type": c["channel_type"], "medium": c["medium"]},
                actor=actor,
                counts=counts,
            )
            for c in schema["channels"]
        }
        message_types = {
            m["name"]: _upsert(
                MessageType,
                {"project": project, "iterable_id": m["iterable_id"]},
                {
                    "name": m["name"],
                    "channel": channels[m["channel"]],
                    "policy": m["policy"],
                    "deprecated": m.get("deprecated", False),
                    "notes": m["notes"],
                },
                actor=actor,
                counts=counts,
            )
            for m in schema["message_types"]
        }
        templates = {
            t["iterable_id"]: _upsert(
                Template,
                {"project": project, "iterable_id": t["iterable_id"]},
                {
                    "name": t["name"],
                    "medium": t["medium"],
                    "message_type": message_types[t["message_type"]],
                    "campaign_id": t["campaign_id"],
                    "client_template_id": t["client_template_id"],
                },
                actor=actor,
                counts=counts,
            )
            for t in demo.templates_for(project.name)
        }
        journeys = {
            j["iterable_id"]: _upsert(
                Journey,
                {"project": project, "iterable_id": j["iterable_id"]},
                {k: j[k] for k in ("name", "folder", "link", "trigger_event_names", "state")},
                actor=actor,
                counts=counts,
            )
            for j in demo.JOURNEYS[project.name]
        }
        events = {}
        for e in demo.CUSTOM_EVENTS[project.name]:
            event = _upsert(
                CustomEvent,
                {"project": project, "name": e["name"]},
                {"source_system": e["source_system"], "description": e["description"]},
                actor=actor,
                counts=counts,
            )
            for f in e["fields"]:
                _upsert(
                    EventField,
                    {"event": event, "name": f["name"]},
                    {k: f[k] for k in ("data_type", "example", "required", "position")},
                    actor=actor,
                    counts=counts,
                )
            events[event.name] = event
        for n in demo.notifications_for(project.name):
            _upsert(
                Notification,
                {"key": n["key"]},
                {
                    "name": n["name"],
                    "description": n["description"],
                    "audience": n["audience"],
                    "project": project,
                    "medium": n["medium"],
                    "trigger_type": n["trigger_type"],
                    "campaign_id": n["campaign_id"],
                    "event": events.get(n["event"]),
                    "journey": journeys.get(n["journey"]),
                    "message_type": message_types[n["message_type"]],
                    "status": n["status"],
                    "tags": n["tags"],
                    "code_location": n["code_location"],
                },
                m2m={"templates": [templates[t] for t in n["templates"]], "owners": [owners[o] for o in n["owners"]]},
                actor=actor,
                counts=counts,
            )
    return counts
