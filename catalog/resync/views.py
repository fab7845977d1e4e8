"""Preference resync pages: the source of truth's imports and contacts, runs (dry run first, then apply), a
run's live progress, and each project's resync settings.

Thin: every action is a call to a service in catalog/resync/services/; results in names come from its report.py.
Every page needs login and ``catalog.run_resync`` (seeing runs and contacts included: it is personal data).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseNotAllowed, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django_q.models import Schedule

from catalog.models import ContactPreference, IterableProject, PreferenceImport, ResyncRun
from catalog.resync.filters import ContactPreferenceFilterSet, PreferenceImportFilterSet, ResyncRunFilterSet
from catalog.resync.forms import ResyncImportForm, ResyncSettingsForm, ResyncStartForm
from catalog.resync.selectors import resync_failures, resync_progress, resync_runs
from catalog.resync.services.conf import ACTIVE
from catalog.resync.services.ingest import preference_import_progress, preference_import_start
from catalog.resync.services.report import (
    changes_shown,
    contact_arrays_in_words,
    resync_change_summary,
    resync_changes_csv_lines,
    resync_changes_filename,
    resync_failure_reasons,
    resync_names_of,
    resync_outcomes,
    resync_picture,
    scope_words,
)
from catalog.resync.services.rules import resync_settings_get, resync_settings_of, resync_settings_update
from catalog.resync.services.runs import resync_apply, resync_cancel, resync_retry_failed, resync_start
from catalog.runs.views import htmx_render
from catalog.services.input_limits import id_from_text
from catalog.views.mixins import Perm, add_validation_errors
from catalog.views.paging import PAGE_SIZE, CappedPaginator

PERMISSION = "catalog.run_resync"
FAILURES_PER_PAGE = 100
UNKNOWN_SHOWN = 20
SEARCH_LIMIT = 100


class ResyncPerm(Perm):
    permission_required = PERMISSION


def _project_from(params):
    """The project named by params["project"], or None (an unknown or malformed id is no project)."""
    value = params.get("project", "")
    project_id = id_from_text(value)
    return IterableProject.objects.filter(pk=project_id).first() if project_id is not None else None


def _report_unknown(request, unknown: list[str]) -> None:
    if unknown:
        more = len(unknown) - UNKNOWN_SHOWN
        shown = ", ".join(unknown[:UNKNOWN_SHOWN]) + (f" and {more} more" if more > 0 else "")
        messages.warning(
            request,
            f"{len(unknown)} address{'es' if len(unknown) != 1 else ''} not in this project's source of truth "
            f"(not included; import their preferences first): {shown}.",
        )


# ---------------------------------------------------------------------------------------------- runs


class RunListView(ResyncPerm, View):
    """The runs, newest first. While a run on the page is queued or running, its table asks for itself again
    every few seconds (htmx: the same address answers the table alone) and stops once none is."""

    def get(self, request):
        filterset = ResyncRunFilterSet(request.GET, queryset=resync_runs().select_related("source_run"))
        page = CappedPaginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        chosen = filterset.form.cleaned_data if filterset.form.is_valid() else {}
        context = {
            "page": page,
            "projects": IterableProject.objects.all(),
            "project": chosen.get("project"),
            "status": chosen.get("status") or "",
            "statuses": ResyncRun.Status.choices,
            "active": any(run.status in ACTIVE for run in page.object_list),
        }
        return htmx_render(request, "resync/run_list.html", "resync/_run_table.html", context)


class RunStartView(ResyncPerm, View):
    def get(self, request):
        initial = {}
        for name in ("project", "import_record"):
            value = request.GET.get(name, "")
            if id_from_text(value) is not None:
                initial[name] = request.GET[name]
        if "import_record" in initial:
            initial["selection"] = "import"
        return self.render(request, ResyncStartForm(initial=initial))

    def post(self, request):
        form = ResyncStartForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, form, status=400)
        data = form.cleaned_data
        project = data["project"]
        selection = {
            "list": lambda: {"emails": data["email_list"]},
            "file": lambda: {"emails": data["email_list"]},
            "since": lambda: {"changed_since": data["changed_since"]},
            "everyone": lambda: {"everyone": True},
            "import": lambda: {"import_record": PreferenceImport.objects.filter(pk=data["import_record"]).first()},
        }[data["selection"]]()
        if "import_record" in selection and selection["import_record"] is None:
            form.add_error("import_record", "There is no import with this number.")
            return self.render(request, form, status=400)
        try:
            started = resync_start(
                project=project,
                actor=request.user,
                dry_run=data["dry_run"],
                compare=data["compare"],
                **selection,
            )
        except ValidationError as error:
            add_validation_errors(form, error)
            return self.render(request, form, status=400)
        _report_unknown(request, started.unknown_emails)
        return redirect("catalog:resync_run", pk=started.run.pk)

    def render(self, request, form, status=200):
        imports = PreferenceImport.objects.select_related("project").defer("content", "errors")[:20]
        return render(request, "resync/run_start.html", {"form": form, "imports": imports}, status=status)


class ContactResyncView(ResyncPerm, View):
    """The contact lookup page's "Resync this contact" button: one contact; a dry run while its "Dry run first"
    box is ticked (the default)."""

    http_method_names = ["post"]

    def post(self, request):
        project = _project_from(request.POST)
        email = request.POST.get("email", "").strip()
        if project is None or not email:
            messages.error(request, "Choose a project and a contact to resync.")
            return redirect("catalog:contact_lookup")
        started = resync_start(
            project=project, actor=request.user, emails=[email], dry_run=request.POST.get("dry_run") == "1"
        )
        if started.unknown_emails:
            messages.warning(
                request,
                f"{email} is not in the source of truth of {project}: there is nothing to resync. "
                "Import their preferences first.",
            )
        return redirect("catalog:resync_run", pk=started.run.pk)


def _run_or_404(pk: int) -> ResyncRun:
    return get_object_or_404(ResyncRun.objects.select_related("project", "source_run"), pk=pk)


def _run_context(request, run: ResyncRun) -> dict:
    """Everything the run page shows: progress in words and as a picture, what changed (in names), failures."""
    progress = resync_progress(run=run, refresh=False)
    failure_page = Paginator(range(progress["failed"]), FAILURES_PER_PAGE).get_page(request.GET.get("page"))
    offset = (failure_page.number - 1) * FAILURES_PER_PAGE
    finished = run.status not in ACTIVE
    summary = resync_change_summary(run=run) if finished else None
    return {
        "run": run,
        "progress": progress,
        "active": not finished,
        "processed": progress["done"] + progress["failed"] + progress["skipped"],
        "outcomes": resync_outcomes(progress),
        "picture": resync_picture(progress),
        "reasons": resync_failure_reasons(run=run) if progress["failed"] else [],
        "failures": resync_failures(run=run, limit=FAILURES_PER_PAGE, offset=offset),
        "page": failure_page,
        "summary": summary if summary is not None and changes_shown(run, summary) else None,
        "updated": progress["outcomes"].get("changed", 0) + progress["outcomes"].get("created", 0),
        "applied_by": ResyncRun.objects.filter(source_run=run).order_by("-id").first() if run.dry_run else None,
    }


def _changes_csv(run: ResyncRun) -> StreamingHttpResponse:
    response = StreamingHttpResponse(resync_changes_csv_lines(run=run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{resync_changes_filename(run)}"'
    return response


@method_decorator(never_cache, name="dispatch")
class RunDetailView(ResyncPerm, View):
    """A run: while it is queued or running, its live part (progress, outcomes, results, failures) asks for itself
    again every two seconds (htmx) and stops once the run has finished. ``?download=csv``: every change, in
    names, as a spreadsheet."""

    def get(self, request, pk):
        run = _run_or_404(pk)
        if request.GET.get("download") == "csv":
            return _changes_csv(run)
        return htmx_render(request, "resync/run_detail.html", "resync/_run_live.html", _run_context(request, run))


@method_decorator(never_cache, name="dispatch")
class RunProgressView(ResyncPerm, View):
    """A run's progress as JSON, for scripts that poll the page's own numbers (the page itself uses htmx)."""

    def get(self, request, pk):
        progress = resync_progress(run=_run_or_404(pk), refresh=False)
        keys = [
            "id", "status", "total", "pending", "done", "failed", "skipped", "batches_done",
            "contacts_per_second", "eta_seconds", "last_error", "can_cancel", "can_retry_failed", "can_apply",
            "listing",
        ]  # fmt: skip
        return JsonResponse({k: progress[k] for k in keys} | {"outcomes": progress["outcomes"]})


def _apply_refusal(run: ResyncRun) -> str:
    """Why this run cannot be applied (the service says the same when asked), or "" if it can."""
    if not run.dry_run:
        return "Only a dry run can be applied."
    if run.status != ResyncRun.Status.DONE:
        return "The dry run has not finished."
    return ""


class RunActionView(ResyncPerm, View):
    """Cancel, retry the failed contacts (POST), or apply a dry run: GET shows what applying will change, and only
    a POST that confirms it (``confirm=yes``, the confirmation page's button) starts the apply."""

    http_method_names = ["get", "post"]
    action = ""

    def get(self, request, pk):
        if self.action != "apply":
            return HttpResponseNotAllowed(["POST"])
        run = _run_or_404(pk)
        refusal = _apply_refusal(run)
        if refusal:
            messages.error(request, refusal)
            return redirect("catalog:resync_run", pk=run.pk)
        return self.confirmation(request, run)

    def confirmation(self, request, run: ResyncRun, status: int = 200):
        context = {
            "run": run,
            "summary": resync_change_summary(run=run),
            "progress": resync_progress(run=run, refresh=False),
            "applied_by": ResyncRun.objects.filter(source_run=run).order_by("-id").first(),
            "unconfirmed": status != 200,
        }
        return render(request, "resync/apply_confirm.html", context, status=status)

    def post(self, request, pk):
        run = _run_or_404(pk)
        try:
            if self.action == "cancel":
                resync_cancel(run=run, actor=request.user)
                messages.success(request, f"Cancelled run #{run.pk}: its pending contacts were skipped.")
            elif self.action == "retry":
                count = resync_retry_failed(run=run, actor=request.user)
                messages.success(request, f"Retrying {count} failed contact{'s' if count != 1 else ''}.")
            elif request.POST.get("confirm") != "yes" and not _apply_refusal(run):
                # Writing to Iterable needs a look at what will change first: nothing is applied without it.
                return self.confirmation(request, run, status=400)
            else:
                applied = resync_apply(run=run, actor=request.user)
                messages.success(request, f"Applying dry run #{run.pk}: only the contacts that differ are sent.")
                return redirect("catalog:resync_run", pk=applied.pk)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("catalog:resync_run", pk=run.pk)


# ---------------------------------------------------------------------------------------------- imports


class ImportListView(ResyncPerm, View):
    def get(self, request):
        return self.render(request, ResyncImportForm(initial={"project": request.GET.get("project")}))

    def post(self, request):
        form = ResyncImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                record = preference_import_start(
                    project=form.cleaned_data["project"], actor=request.user, file=upload, filename=upload.name or ""
                )
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                return redirect("catalog:resync_import", pk=record.pk)
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        filterset = PreferenceImportFilterSet(
            request.GET, queryset=PreferenceImport.objects.select_related("project").defer("content", "errors")
        )
        project = filterset.form.cleaned_data.get("project") if filterset.form.is_valid() else None
        page = CappedPaginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"form": form, "page": page, "projects": IterableProject.objects.all(), "project": project}
        return render(request, "resync/import_list.html", context, status=status)


@method_decorator(never_cache, name="dispatch")
class ImportDetailView(ResyncPerm, View):
    def get(self, request, pk):
        record = get_object_or_404(
            PreferenceImport.objects.select_related("project", "created_by").defer("content"), pk=pk
        )
        progress = preference_import_progress(record)
        runs = ResyncRun.objects.filter(
            project=record.project, selection=ResyncRun.Selection.IMPORT, selection_detail__import=record.pk
        ).order_by("-id")[:20]
        response = render(request, "resync/import_detail.html", {"record": record, "runs": runs, "progress": progress})
        if progress["active"]:
            response["Refresh"] = "2"  # reload until it is over: no script needed (the CSP allows none inline)
        return response


# ---------------------------------------------------------------------------------------------- contacts


@method_decorator(never_cache, name="dispatch")
class ContactListView(ResyncPerm, View):
    """The source of truth, contact by contact: desired arrays, where they came from, and the last resync.

    A search by address is a POST, like the contact lookup, so addresses stay out of URLs and access logs.
    """

    STATES = ContactPreferenceFilterSet.STATES

    def queryset(self, request):
        filterset = ContactPreferenceFilterSet(
            request.GET,
            queryset=ContactPreference.objects.select_related("project", "resynced_run", "source_import"),
        )
        chosen = filterset.form.cleaned_data if filterset.form.is_valid() else {}
        return filterset.qs, chosen.get("project"), chosen.get("state") or ""

    def get(self, request):
        contacts, project, state = self.queryset(request)
        page = CappedPaginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
        return self.render(request, project=project, state=state, page=page)

    def post(self, request):
        contacts, project, state = self.queryset(request)
        query = request.POST.get("q", "").strip().lower()[:254]
        found = []
        if query:
            found = list(contacts.filter(Q(email__icontains=query) | Q(user_id=query))[:SEARCH_LIMIT])
        return self.render(request, project=project, state=state, found=found, query=query, searched=True)

    def render(self, request, **context):
        shown = context["found"] if context.get("searched") else list(context["page"].object_list)
        contact_arrays_in_words(shown)
        context |= {"projects": IterableProject.objects.all(), "states": self.STATES, "contacts": shown}
        return render(request, "resync/contact_list.html", context)


# ---------------------------------------------------------------------------------------------- settings


class SettingsListView(ResyncPerm, View):
    def get(self, request):
        projects = list(IterableProject.objects.all())
        kept = resync_settings_of(projects)
        names = resync_names_of(projects, read_iterable=False)  # one page, many projects: no Iterable reads
        rows = [(p, kept[p.pk], scope_words(kept[p.pk].scope, names[p.pk])) for p in projects]
        return render(request, "resync/settings_list.html", {"rows": rows})


class SettingsFormView(ResyncPerm, View):
    def get(self, request, project_pk):
        project = get_object_or_404(IterableProject, pk=project_pk)
        settings = resync_settings_get(project=project)
        form = ResyncSettingsForm(instance=settings)
        return self.render(request, project, settings, form)

    def post(self, request, project_pk):
        project = get_object_or_404(IterableProject, pk=project_pk)
        form = ResyncSettingsForm(request.POST, instance=resync_settings_get(project=project))
        if form.is_valid():
            try:
                resync_settings_update(project=project, actor=request.user, **form.changes())
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, f"Saved the resync settings of {project}.")
                return redirect("catalog:resync_settings", project_pk=project.pk)
        return self.render(request, project, resync_settings_get(project=project), form, status=400)

    def render(self, request, project, settings, form, status=200):
        # The django-q Schedule the service keeps in line with the settings (named by project).
        schedule = Schedule.objects.filter(name=f"resync-project-{project.pk}").first()
        context = {"project": project, "settings": settings, "form": form, "schedule": schedule}
        return render(request, "resync/settings_form.html", context, status=status)
