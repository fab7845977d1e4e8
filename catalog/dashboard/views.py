"""Home: the morning questions, each answered in a line or a picture and linked to the list that says more."""

from django.shortcuts import render
from django.views import View

from catalog import models
from catalog.audit.services import audit_events_for
from catalog.dashboard.selectors import home_digest, home_verdicts
from catalog.health import panels as health_panels
from catalog.roles import RUN_RESYNC, SEND_PROOF
from catalog.services.summary import catalog_summary
from catalog.views.mixins import Perm

RECENT_EVENTS = 8


class HomeView(Perm, View):
    permission_required = "catalog.view_notification"

    def get(self, request):
        user = request.user
        digest = home_digest()
        can = {
            "sends": user.has_perm(SEND_PROOF),
            "resyncs": user.has_perm(RUN_RESYNC),
            "activity": user.has_perm("catalog.view_auditevent"),
        }
        verdicts = home_verdicts(projects=digest["projects"])
        charts = {"verdicts": verdicts["chart"], "findings": digest["charts"]["findings"]}
        if can["resyncs"]:
            charts["resyncs"] = digest["resyncs"]["chart"]
        if can["sends"]:
            charts["sends"] = digest["sends"]["chart"]
        recent = []
        if can["activity"]:
            recent = audit_events_for(user=user, events=models.AuditEvent.objects.all()[:RECENT_EVENTS])
        summary = catalog_summary()
        context = {
            "total": summary["total"],
            **{key: summary[key] for key in ("by_status", "by_trigger", "by_medium", "by_audience")},
            "kinds": [
                ("Status", summary["by_status"], "status"),
                ("Trigger", summary["by_trigger"], "trigger_type"),
                ("Medium", summary["by_medium"], "medium"),
                ("Audience", summary["by_audience"], "audience"),
            ],
            "digest": digest,
            "verdicts": verdicts,
            "can": can,
            "chart_data": {f"chart-{name}": _drawn(chart) for name, chart in charts.items()},
            "recent": recent,
            "health": health_panels.home_panel(request),
        }
        return render(request, "dashboard/home.html", context)


def _drawn(chart: dict) -> dict:
    """What the browser draws: the chart without its text alternative (which the page prints as a table)."""
    return {key: value for key, value in chart.items() if key not in ("table", "total")}
