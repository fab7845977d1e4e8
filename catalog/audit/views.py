"""Activity: every audit event in words, newest first, filtered, searched, numbered in pages and downloadable."""

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from catalog.audit.selectors import audit_csv_lines, audit_filter
from catalog.audit.services import audit_events_for
from catalog.views.mixins import Perm
from catalog.views.paging import PAGE_SIZE, CappedPaginator

PERMISSION = "catalog.view_auditevent"


class AuditListView(Perm, View):
    permission_required = PERMISSION

    def get(self, request):
        found = audit_filter(user=request.user, params=request.GET)
        # Numbered pages counted up to COUNT_CAP: a million events cost what a thousand do.
        page = CappedPaginator(found.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = audit_events_for(user=request.user, events=page.object_list)
        export = request.GET.copy()
        export.pop("page", None)
        context = {"page": page, "filter": found, "export_query": export.urlencode()}
        return render(request, "catalog/audit_list.html", context)


class AuditExportView(Perm, View):
    """The filtered events as a CSV file, streamed (any number of rows, a few hundred in memory at once)."""

    permission_required = PERMISSION

    def get(self, request):
        found = audit_filter(user=request.user, params=request.GET)
        response = StreamingHttpResponse(
            audit_csv_lines(user=request.user, events=found.qs), content_type="text/csv; charset=utf-8"
        )
        name = f"activity-{timezone.localtime():%Y-%m-%d-%H%M}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
