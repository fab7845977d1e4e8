"""Activity: every audit event, newest first."""

from django.shortcuts import render
from django.views import View

from catalog import models
from catalog.audit.services import audit_events_for
from catalog.views.mixins import Perm
from catalog.views.paging import PAGE_SIZE, keyset_page


class AuditListView(Perm, View):
    permission_required = "catalog.view_auditevent"

    def get(self, request):
        # Newest first by position: a million events cost what a hundred do (no count, no offset).
        page = keyset_page(
            models.AuditEvent.objects.all(),
            before=request.GET.get("before"),
            after=request.GET.get("after"),
            size=PAGE_SIZE,
        )
        page.object_list = audit_events_for(user=request.user, events=page.object_list)
        return render(request, "catalog/audit_list.html", {"page": page})
