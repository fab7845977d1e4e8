"""The import and export pages, and the notification list's CSV download. Thin: the services do the work."""

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from catalog.core.filters import NotificationFilterSet
from catalog.io.forms import CatalogImportForm
from catalog.io.models import CatalogImport
from catalog.io.services.export import catalog_export_chunks, notifications_csv_lines
from catalog.io.services.imports import ImportResult
from catalog.io.services.runs import catalog_import_progress, catalog_import_start
from catalog.models import Notification
from catalog.views.mixins import Perm


class NotificationCsvView(Perm, View):
    permission_required = "catalog.view_notification"

    def get(self, request):
        filterset = NotificationFilterSet(request.GET or None, queryset=Notification.objects.all())
        response = StreamingHttpResponse(notifications_csv_lines(filterset.qs), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="notifications-{timezone.now():%Y%m%d-%H%M}.csv"'
        return response


class CatalogExportView(Perm, View):
    permission_required = ["catalog.view_notification"]

    def get(self, request):
        fmt = request.GET.get("format", "yaml")
        if fmt not in {"yaml", "json"}:
            raise Http404("Unknown format: use yaml or json.")
        content_type = "application/json" if fmt == "json" else "application/yaml"
        response = StreamingHttpResponse(catalog_export_chunks(fmt=fmt), content_type=f"{content_type}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="catalog-{timezone.now():%Y%m%d-%H%M}.{fmt}"'
        return response


class CatalogImportView(Perm, View):
    permission_required = ["catalog.add_notification", "catalog.change_notification"]

    def get(self, request):
        return self.render(request, CatalogImportForm())

    def post(self, request):
        form = CatalogImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, form, status=400)
        upload = form.cleaned_data["file"]
        record, problems = catalog_import_start(actor=request.user, content=upload.read(), filename=upload.name)
        if record is None:
            result = ImportResult(errors=problems)
            return self.render(request, CatalogImportForm(), status=400, result=result)
        return redirect("catalog:catalog_import_detail", pk=record.pk)

    def render(self, request, form, status=200, **extra):
        recent = CatalogImport.objects.defer("content")[:10]
        context = {"form": form, "recent": recent, **extra}
        return render(request, "catalog/import.html", context, status=status)


@method_decorator(never_cache, name="dispatch")
class CatalogImportDetailView(Perm, View):
    """An import's progress (the page refreshes itself while it runs) and then its result."""

    permission_required = ["catalog.add_notification", "catalog.change_notification"]

    def get(self, request, pk):
        record = get_object_or_404(CatalogImport.objects.defer("content"), pk=pk)
        progress = catalog_import_progress(record)
        response = render(request, "catalog/import_detail.html", {"record": record, "progress": progress})
        if progress["active"]:
            response["Refresh"] = "2"  # reload until it is over: no script needed (the CSP allows none inline)
        return response
