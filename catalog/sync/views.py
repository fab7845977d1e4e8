"""Catalog sync pages: the runs (and "Sync now"), a run, the findings (drift), the guard on Iterable's side,
the orphans, and "Add to catalog" for an orphan. Thin: they read through catalog/services/sync.py and the
sync itself is queued by it; an orphan's form posts to the ordinary create views (catalog_object_save).

Reading needs ``catalog.view_notification``; starting a sync needs ``catalog.run_sync``.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from catalog import models
from catalog.forms import NotificationForm, model_form_for
from catalog.sync.filters import OrphanFilterSet, SyncFindingFilterSet, SyncRunFilterSet
from catalog.sync.selectors import iterable_guard_rows, mirror_names, orphan_queryset
from catalog.sync.services.prefill import notification_prefill, template_prefill
from catalog.sync.services.runs import catalog_sync_enqueue
from catalog.views.catalog import ENTITIES
from catalog.views.mixins import Perm
from catalog.views.paging import PAGE_SIZE

VIEW = "catalog.view_notification"
RUN = "catalog.run_sync"

# ---------------------------------------------------------------------------------------------- runs


class SyncStartForm(forms.Form):
    project = forms.ModelChoiceField(
        queryset=models.IterableProject.objects.all(), required=False, empty_label="All projects"
    )


class SyncRunListView(Perm, View):
    """The sync runs, newest first, with counts, calls and errors; "Sync now" for those who may."""

    permission_required = VIEW

    def get(self, request):
        return self.render(request, SyncStartForm())

    def render(self, request, form, status=200):
        filterset = SyncRunFilterSet(request.GET or None, queryset=models.SyncRun.objects.select_related("project"))
        page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"filter": filterset, "page": page, "form": form, "can_run": request.user.has_perm(RUN)}
        return render(request, "sync/run_list.html", context, status=status)


class SyncStartView(SyncRunListView):
    """POST only: queue a sync of one project or all (it runs on a worker once this request commits)."""

    permission_required = RUN
    http_method_names = ["post"]

    def post(self, request):
        form = SyncStartForm(request.POST)
        if not form.is_valid():
            return self.render(request, form, status=400)
        project = form.cleaned_data["project"]
        catalog_sync_enqueue(project_ids=[project.pk] if project else None, actor=request.user)
        messages.success(
            request,
            f"Sync of {project.name if project else 'every project'} queued: its run appears here when it starts.",
        )
        return redirect("catalog:sync_run_list")


class SyncRunDetailView(Perm, View):
    permission_required = VIEW

    def get(self, request, pk):
        run = get_object_or_404(models.SyncRun.objects.select_related("project"), pk=pk)
        context = {
            "run": run,
            "counts": sorted(run.counts.items()),
            "calls": sorted(run.calls.items()),
            "findings": sorted(run.findings.items()),
            # Findings are replaced by the project's next successful run; say whether these are still shown.
            "is_latest": not models.SyncFinding.objects.filter(project=run.project).exclude(run=run).exists(),
        }
        return render(request, "sync/run_detail.html", context)


# ---------------------------------------------------------------------------------------------- findings


class SyncFindingListView(Perm, View):
    """Every finding of the latest syncs: drift per notification, orphans and the guard on Iterable's side."""

    permission_required = VIEW

    def get(self, request):
        queryset = models.SyncFinding.objects.select_related("project", "notification")
        filterset = SyncFindingFilterSet(request.GET or None, queryset=queryset)
        page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "sync/finding_list.html", {"filter": filterset, "page": page})


class ProjectFilterForm(forms.Form):
    project = forms.ModelChoiceField(
        queryset=models.IterableProject.objects.all(), required=False, empty_label="All projects"
    )


class IterableGuardView(Perm, View):
    """Iterable templates on an OptOut marketing type or "Marketing Message", and the notifications they touch."""

    permission_required = VIEW

    def get(self, request):
        form = ProjectFilterForm(request.GET or None)
        projects = models.IterableProject.objects.all()
        if form.is_valid() and form.cleaned_data["project"]:
            projects = projects.filter(pk=form.cleaned_data["project"].pk)
        return render(request, "sync/iterable_guard.html", {"form": form, "rows": iterable_guard_rows(projects)})


# ---------------------------------------------------------------------------------------------- orphans


class OrphanListView(Perm, View):
    """Iterable templates and triggered campaigns no catalog entry claims, each with "Add to catalog"."""

    permission_required = VIEW

    def get(self, request):
        filterset = OrphanFilterSet(request.GET or None, queryset=orphan_queryset())
        page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        names = mirror_names((f.project_id, f.iterable_kind, f.iterable_id) for f in page.object_list)
        rows = [(f, names.get((f.project_id, f.iterable_kind, f.iterable_id), "")) for f in page.object_list]
        context = {
            "filter": filterset,
            "page": page,
            "rows": rows,
            "can_add_template": request.user.has_perm("catalog.add_template"),
            "can_add_notification": request.user.has_perm("catalog.add_notification"),
        }
        return render(request, "sync/orphan_list.html", context)


class OrphanAddView(Perm, View):
    """The Template (from an Iterable template) or Notification (from a campaign) create form, prefilled.

    The form posts to the ordinary create view, so saving is the same as anywhere else (validation, guard,
    audit); the prefill's notes and the guard's verdict on Iterable's message type are shown above it.
    """

    def get_permission_required(self):
        return ["catalog.add_template" if self.kwargs["kind"] == "template" else "catalog.add_notification"]

    def get(self, request, project, kind, iterable_id):
        project = get_object_or_404(models.IterableProject, pk=project)
        try:
            if kind == "template":
                prefill = template_prefill(project=project, iterable_id=iterable_id)
            else:
                prefill = notification_prefill(project=project, campaign_id=iterable_id)
        except models.IterableMirror.DoesNotExist:
            what = "template" if kind == "template" else "campaign"
            message = (
                f"Iterable {what} {iterable_id} is not in the last sync of {project.name}: "
                "sync the project, then choose it from the orphans."
            )
            return render(request, "sync/not_found.html", {"message": message}, status=404)
        if kind == "template":
            entity = ENTITIES["template"]
            form = model_form_for(entity.model, list(entity.fields))(initial=prefill.initial)
            action = reverse("catalog:entity_create", kwargs={"entity": "template"})
            verbose = "template"
        else:
            form = NotificationForm(initial=prefill.initial)
            action = reverse("catalog:notification_create")
            verbose = "notification"
        context = {
            "form": form,
            "action": action,
            "verbose": verbose,
            "kind": kind,
            "iterable_id": iterable_id,
            "project": project,
            "prefill": prefill,
            "cancel_url": reverse("catalog:sync_orphan_list") + f"?project={project.pk}",
        }
        return render(request, "sync/orphan_add.html", context)
