"""Catalog sync pages: the runs (and "Sync now"), a run, the findings (drift), the guard on Iterable's side,
the orphans, and "Add to catalog" for an orphan. Thin: they read through catalog/services/sync.py and the
sync itself is queued by it; an orphan's form posts to the ordinary create views (catalog_object_save).

Reading needs ``catalog.view_notification``; starting a sync needs ``catalog.run_sync``.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.views import View

from catalog import models
from catalog.core.forms import NotificationForm, model_form_for
from catalog.core.views import ENTITIES
from catalog.sync.filters import OrphanFilterSet, SyncFindingFilterSet, SyncRunFilterSet
from catalog.sync.selectors import finding_title, iterable_guard_rows, mirror_names, orphan_queryset
from catalog.sync.services.prefill import notification_prefill, template_prefill
from catalog.sync.services.runs import catalog_sync_enqueue
from catalog.views.mixins import Perm
from catalog.views.paging import PAGE_SIZE, CappedPaginator

VIEW = "catalog.view_notification"
RUN = "catalog.run_sync"

# ---------------------------------------------------------------------------------------------- runs


class SyncStartForm(forms.Form):
    project = forms.ModelChoiceField(
        queryset=models.IterableProject.objects.all(), required=False, empty_label="All projects"
    )


# After "Sync now", the run list keeps asking for itself until a run of each queued project has finished (the
# task creates the run only when a worker picks it up), for at most this long.
WAIT_AFTER_START = timedelta(minutes=10)
WAITING = "sync_waiting"


def _waiting_for(request) -> bool:
    """Whether this person's "Sync now" still waits for a run to start or finish; forgotten once it has not."""
    waiting = request.session.get(WAITING)
    if not isinstance(waiting, dict):
        return False
    since = parse_datetime(str(waiting.get("at", "")))
    projects = set(waiting.get("projects") or [])
    if since is None or timezone.now() - since > WAIT_AFTER_START:
        request.session.pop(WAITING, None)
        return False
    finished = set(
        models.SyncRun.objects.filter(project_id__in=projects, started_at__gte=since)
        .exclude(status=models.SyncStatus.RUNNING)
        .values_list("project_id", flat=True)
    )
    if projects <= finished:
        request.session.pop(WAITING, None)
        return False
    return True


class SyncRunListView(Perm, View):
    """The sync runs, newest first, with counts, calls and errors; "Sync now" for those who may. While a run is
    running or a sync just queued here has not finished, the table asks for itself again (htmx: the same address
    answers the table alone) every few seconds, and stops once it has."""

    permission_required = VIEW

    def get(self, request):
        return self.render(request, SyncStartForm())

    def render(self, request, form, status=200, notice: str = "", notice_kind: str = "success"):
        filterset = SyncRunFilterSet(request.GET or None, queryset=models.SyncRun.objects.select_related("project"))
        page = CappedPaginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        running = any(run.status == models.SyncStatus.RUNNING for run in page.object_list)
        context = {
            "filter": filterset,
            "page": page,
            "form": form,
            "can_run": request.user.has_perm(RUN),
            "polling": running or _waiting_for(request),
            # The list's own address (with its filters), which the table polls, whichever door rendered it.
            "list_url": reverse("catalog:sync_run_list") + (f"?{request.GET.urlencode()}" if request.GET else ""),
            "notice": notice,
            "notice_kind": notice_kind,
        }
        template = "sync/_run_table.html" if request.headers.get("HX-Request") == "true" else "sync/run_list.html"
        response = render(request, template, context, status=status)
        patch_vary_headers(response, ["HX-Request"])
        return response


class SyncStartView(SyncRunListView):
    """POST only: queue a sync of one project or all (it runs on a worker once this request commits); the run
    list then follows it without a reload."""

    permission_required = RUN
    http_method_names = ["post"]

    def post(self, request):
        """A plain POST redirects to the list; htmx's POST (the form's hx-post) gets the run table back in place,
        already polling, so the page never reloads."""
        htmx = request.headers.get("HX-Request") == "true"
        form = SyncStartForm(request.POST)
        if not form.is_valid():
            if htmx:
                problems = "; ".join(e for errors in form.errors.values() for e in errors)
                return self.render(request, form, notice=f"Nothing was queued: {problems}", notice_kind="error")
            return self.render(request, form, status=400)
        project = form.cleaned_data["project"]
        ids = [project.pk] if project else list(models.IterableProject.objects.values_list("pk", flat=True))
        catalog_sync_enqueue(project_ids=ids, actor=request.user)
        request.session[WAITING] = {"at": timezone.now().isoformat(), "projects": ids}
        notice = (
            f"Sync of {project.name if project else 'every project'} queued: its run appears below by itself "
            "when a worker starts it."
        )
        if htmx:
            return self.render(request, SyncStartForm(), notice=notice)
        messages.success(request, notice)
        return redirect("catalog:sync_run_list")


class SyncRunDetailView(Perm, View):
    permission_required = VIEW

    def get(self, request, pk):
        run = get_object_or_404(models.SyncRun.objects.select_related("project"), pk=pk)
        context = {
            "run": run,
            "counts": sorted(run.counts.items()),
            "calls": sorted(run.calls.items()),
            "findings": sorted(run.findings.items(), key=lambda kv: finding_title(kv[0])),
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
        page = CappedPaginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        names = mirror_names((f.project_id, f.iterable_kind, f.iterable_id) for f in page.object_list)
        rows = [(f, names.get((f.project_id, f.iterable_kind, f.iterable_id), "")) for f in page.object_list]
        return render(request, "sync/finding_list.html", {"filter": filterset, "page": page, "rows": rows})


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
        page = CappedPaginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
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
