"""Home: what staff check first thing."""

from django.shortcuts import render
from django.views import View

from catalog import models
from catalog.audit.services import audit_events_for
from catalog.guard.verdicts import iterable_checks
from catalog.health import panels as health_panels
from catalog.services.summary import catalog_summary
from catalog.views.mixins import Perm


class HomeView(Perm, View):
    permission_required = "catalog.view_notification"

    def get(self, request):
        summary = catalog_summary()
        context = {
            **{key: summary[key] for key in ("total", "error_total", "warning_total", "verdicts")},
            **{key: summary[key] for key in ("by_trigger", "by_medium", "by_audience", "by_status")},
            "unchecked": _unchecked_projects(summary["unjudged_by_project"]),
            "recent": audit_events_for(user=request.user, events=models.AuditEvent.objects.all()[:15]),
            "health": health_panels.home_panel(request),
        }
        return render(request, "catalog/home.html", context)


def _unchecked_projects(unjudged_by_project: dict[int, int]) -> list[tuple]:
    """Projects whose Iterable side the sync has not checked lately: their "ok" cannot be vouched for."""
    checks = iterable_checks()
    stale = [pk for pk, check in checks.items() if check.stale]
    if not stale:
        return []
    projects = models.IterableProject.objects.filter(pk__in=stale).order_by("name")
    return [(p, checks[p.pk], unjudged_by_project.get(p.pk, 0)) for p in projects]
