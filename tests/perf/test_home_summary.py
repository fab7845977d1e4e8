"""The home page's account of the catalog, computed in one pass over the notifications, matches the catalog row
by row; the owners are counted only for the flagged notifications it shows, whatever their number."""

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import models
from catalog.services import summary
from tests.perf.test_queries_per_page import grow


def expected(shown: int) -> dict:
    rows = list(models.Notification.objects.all())
    found = {
        "total": len(rows),
        "error_total": sum(n.verdict_errors > 0 for n in rows),
        "warning_total": sum(n.verdict_errors == 0 and n.verdict_warnings > 0 for n in rows),
        "unjudged_by_project": dict(Counter(n.project_id for n in rows if n.verdict_errors == 0)),
    }
    for name, (field, choices) in summary.COUNTED_FIELDS.items():
        tally = Counter(getattr(n, field) for n in rows)
        found[name] = [(value, label, tally[value]) for value, label in choices]
    flagged = sorted(
        (n for n in rows if n.verdict_errors or n.verdict_warnings),
        key=lambda n: (-n.verdict_errors, -n.verdict_warnings, n.key),
    )
    found["shown"] = [n.key for n in flagged[:shown]]
    return found


@pytest.mark.django_db
def test_the_summary_counts_what_the_catalog_holds(ui_catalog, monkeypatch):
    monkeypatch.setattr(summary, "FLAGGED_SHOWN", 4)
    grow(ui_catalog, 12)
    models.Notification.objects.filter(key__in=["bulk_00003", "bulk_00007", "bulk_00010"]).update(
        status="draft", verdict_warnings=2
    )
    models.Notification.objects.filter(key="bulk_00005").update(verdict_errors=1)
    with CaptureQueriesContext(connection) as few:
        computed = summary._computed()
    got = {key: computed[key] for key in ("total", "error_total", "warning_total", "unjudged_by_project")}
    got |= {name: computed[name] for name in summary.COUNTED_FIELDS}
    got["shown"] = [key for key, _ in computed["verdicts"]]
    assert got == expected(4)
    assert got["shown"][0] == "bulk_00005" and got["error_total"] == 1

    grow(ui_catalog, 60)
    models.Notification.objects.filter(key__startswith="bulk_").update(verdict_warnings=1)
    with CaptureQueriesContext(connection) as many:
        computed = summary._computed()
    assert [key for key, _ in computed["verdicts"]] == expected(4)["shown"]
    assert len(many) == len(few)
