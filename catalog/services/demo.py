"""Loads the demo catalog (catalog/demo.py) as a catalog file through the import: the same validation, guard
and audit as every door.

Idempotent: an object is written only when it is new or differs, so a second run writes nothing.
"""

from typing import Any

from django.core.exceptions import ValidationError

from catalog import demo
from catalog.io.services.imports import catalog_import_data
from catalog.io.services.schema import FORMAT_NAME, FORMAT_VERSION, ITEMS
from catalog.models import EventField
from catalog.types import Actor


def demo_catalog_file(*, api_base_url: str = "") -> dict[str, Any]:
    """The demo catalog in the catalog file format (version 1), every field given."""
    names = [p["name"] for p in demo.PROJECTS]
    per_project = {
        "channels": lambda name: demo.SCHEMAS[name]["channels"],
        "message_types": lambda name: [{"deprecated": False, **m} for m in demo.SCHEMAS[name]["message_types"]],
        "templates": demo.templates_for,
        "journeys": lambda name: demo.JOURNEYS[name],
        "custom_events": lambda name: demo.CUSTOM_EVENTS[name],
        "notifications": lambda name: [
            {**n, "owners": [{"name": owner, "role": role} for owner, role in n["owners"]]}
            for n in demo.notifications_for(name)
        ],
    }
    data: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "projects": [{**p, "api_base_url": api_base_url} for p in demo.PROJECTS],
        "owners": demo.OWNERS,
    }
    for section, rows in per_project.items():
        data[section] = [{**row, "project": name} for name in names for row in rows(name)]
    return data


def demo_catalog_load(*, actor: Actor = "seed_demo", api_base_url: str = "") -> dict[str, int]:
    """Create or update the demo catalog; returns how many objects of each kind were written (by the models'
    plural names). Raises ValidationError, with every problem and its place, if the catalog refuses it."""
    result = catalog_import_data(actor=actor, data=demo_catalog_file(api_base_url=api_base_url))
    if not result.ok:
        raise ValidationError([str(problem) for problem in result.errors])
    plural = {section: str(item.model._meta.verbose_name_plural) for section, item in ITEMS.items()}
    plural["event_fields"] = str(EventField._meta.verbose_name_plural)
    counts: dict[str, int] = {}
    for section, written in [*result.created.items(), *result.updated.items()]:
        counts[plural[section]] = counts.get(plural[section], 0) + written
    return counts
