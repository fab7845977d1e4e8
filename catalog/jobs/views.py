"""The seed jobs' pages: the jobs, a job's setup (mapping and rules as rows), a job with its runs and a run
start, a run's live progress with its changes by field name, the approval of a deletion, the deletion records,
and a schedule's preview in words.

Thin: every action is a call to catalog/jobs/services/. Every page needs login and ``catalog.run_jobs``;
approving a deletion needs ``catalog.approve_deletions`` as well.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from catalog.forms import upload_body_within_limit
from catalog.jobs.forms import JobForm, MappingFormSet, RetentionFormSet, RunStartForm
from catalog.jobs.selectors import (
    deletion_records,
    deletion_resync_status,
    job_run_changes,
    job_run_failures,
    job_run_progress,
    job_runs,
    jobs_for_list,
)
from catalog.jobs.services.conf import APPROVE_DELETIONS, ENDPOINTS, RUN_JOBS, max_upload_bytes
from catalog.jobs.services.rows import retention_words
from catalog.jobs.services.runs import (
    job_run_apply,
    job_run_approve,
    job_run_cancel,
    job_run_dismiss_failed,
    job_run_requesters,
    job_run_retry_failed,
    job_run_start_file,
    job_run_start_query,
)
from catalog.jobs.services.schedules import cron_next_runs, cron_problem, cron_words
from catalog.jobs.services.setup import job_save
from catalog.models import IterableProject, Job, JobRun
from catalog.runs.views import htmx_render
from catalog.services.input_limits import id_from_text
from catalog.views.mixins import Perm, add_validation_errors
from catalog.views.paging import PAGE_SIZE, CappedPaginator


class JobsPerm(Perm):
    permission_required = RUN_JOBS


class JobListView(JobsPerm, View):
    def get(self, request):
        newest = JobRun.objects.filter(job=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
        jobs = list(jobs_for_list().annotate(last_run_id=Subquery(newest)))
        last = JobRun.objects.in_bulk([job.last_run_id for job in jobs if job.last_run_id])
        rows = [
            {
                "job": job,
                "last": last.get(job.last_run_id),
                "schedule": cron_words(job.schedule_cron) if job.schedule_enabled else "",
            }
            for job in jobs
        ]
        return render(request, "jobs/job_list.html", {"rows": rows})


class JobFormView(JobsPerm, View):
    """Set a job up or change it: its mapping and retention rules are rows of inputs."""

    def _job(self, pk):
        return get_object_or_404(Job, pk=pk) if pk else None

    def get(self, request, pk=None):
        job = self._job(pk)
        project = None
        project_id = id_from_text(request.GET.get("project", ""))
        if project_id is not None:
            project = IterableProject.objects.filter(pk=project_id).first()
        form = JobForm(instance=job, project=project)
        mapping = MappingFormSet(prefix="mapping", initial=job.mapping if job else None)
        retention = RetentionFormSet(prefix="retention", initial=job.retention if job else None)
        return self.render(request, job, form, mapping, retention)

    def post(self, request, pk=None):
        job = self._job(pk)
        form = JobForm(request.POST, instance=job)
        mapping = MappingFormSet(request.POST, prefix="mapping")
        retention = RetentionFormSet(request.POST, prefix="retention")
        if not (form.is_valid() and mapping.is_valid() and retention.is_valid()):
            return self.render(request, job, form, mapping, retention, status=400)
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        data["db_alias"] = data.get("db_alias") or ""
        data["mapping"] = [
            {"column": f.cleaned_data["column"].strip(), "field": f.cleaned_data["field"].strip()}
            for f in mapping
            if f.cleaned_data.get("column") or f.cleaned_data.get("field")
        ]
        data["retention"] = [rule for rule in (f.as_rule() for f in retention) if rule]
        try:
            # A fresh copy: a refused save must not leave the form's instance half-changed.
            saved = job_save(actor=request.user, data=data, job=Job.objects.get(pk=job.pk) if job else None)
        except ValidationError as error:
            add_validation_errors(form, error)
            return self.render(request, job, form, mapping, retention, status=400)
        messages.success(request, f"Job '{saved.name}' saved.")
        return redirect("catalog:job_detail", pk=saved.pk)

    def render(self, request, job, form, mapping, retention, status=200):
        context = {"job": job, "form": form, "mapping": mapping, "retention": retention}
        return render(request, "jobs/job_form.html", context, status=status)


class JobDetailView(JobsPerm, View):
    def get(self, request, pk):
        job = get_object_or_404(Job.objects.select_related("project"), pk=pk)
        return self.render(request, job, RunStartForm())

    def render(self, request, job, form, status=200):
        page = CappedPaginator(job_runs(job), PAGE_SIZE).get_page(request.GET.get("page"))
        endpoint = ENDPOINTS[job.action]
        context = {
            "job": job,
            "form": form,
            "page": page,
            "endpoint": endpoint,
            "retention": [retention_words(rule) for rule in job.retention or []],
            "schedule": cron_words(job.schedule_cron) if job.schedule_enabled else "",
            "next_runs": cron_next_runs(job.schedule_cron, 5) if job.schedule_enabled else [],
            "active": any(run.status in ("queued", "running") for run in page.object_list),
            "opt_out_url": request.build_absolute_uri(f"/api/jobs/{job.pk}/opt-outs/"),
        }
        return render(request, "jobs/job_detail.html", context, status=status)


# Exempt so that the CSRF check (which reads request.POST, spooling the file to disk) comes after the size check.
@method_decorator(csrf_exempt, name="dispatch")
class JobRunStartView(JobsPerm, View):
    def post(self, request, pk):
        job = get_object_or_404(Job.objects.select_related("project"), pk=pk)
        try:
            upload_body_within_limit(request.META, max_upload_bytes())
        except ValidationError as error:
            form = RunStartForm({"dry_run": "on"})  # the body is unread: the form as first offered, with the error
            form.add_error("file", error)
            return JobDetailView().render(request, job, form, status=413)
        return self.start(request, job)

    @method_decorator(csrf_protect)
    def start(self, request, job):
        form = RunStartForm(request.POST, request.FILES)
        if not form.is_valid():
            return JobDetailView().render(request, job, form, status=400)
        data = form.cleaned_data
        try:
            if data["pull"]:
                run = job_run_start_query(actor=request.user, job=job, dry_run=data["dry_run"])
            elif data["file"]:
                upload = data["file"]
                run = job_run_start_file(actor=request.user, job=job, stream=upload.open("rb"),
                                         filename=upload.name, dry_run=data["dry_run"])  # fmt: skip
            else:
                form.add_error("file", "Choose a file, or pull the rows from the job's query.")
                return JobDetailView().render(request, job, form, status=400)
        except ValidationError as error:
            add_validation_errors(form, error)
            return JobDetailView().render(request, job, form, status=400)
        return redirect("catalog:job_run", pk=run.pk)


def _run_context(request, run: JobRun) -> dict:
    progress = job_run_progress(run=run)
    mine = request.user.pk in job_run_requesters(run)
    return {
        "run": run,
        "job": run.job,
        "progress": progress,
        "active": progress["active"] and run.status != JobRun.Status.AWAITING_APPROVAL,
        "changes": job_run_changes(run=run) if run.dry_run else [],
        "failures": job_run_failures(run=run, limit=100),
        "may_approve": progress["can_approve"] and request.user.has_perm(APPROVE_DELETIONS) and not mine,
        "own_request": mine,
    }


class RunDetailView(JobsPerm, View):
    def get(self, request, pk):
        run = get_object_or_404(JobRun.objects.select_related("job", "job__project", "source_run"), pk=pk)
        return htmx_render(request, "jobs/run_detail.html", "jobs/_run_live.html", _run_context(request, run))


class RunProgressView(JobsPerm, View):
    """The live part of a run's page (what its page polls)."""

    def get(self, request, pk):
        run = get_object_or_404(JobRun.objects.select_related("job", "job__project"), pk=pk)
        return render(request, "jobs/_run_live.html", _run_context(request, run))


class RunActionView(JobsPerm, View):
    VERBS = {"apply", "approve", "cancel", "retry", "dismiss"}

    def get(self, request, pk, verb):
        raise Http404

    def post(self, request, pk, verb):
        if verb not in self.VERBS:
            raise Http404
        run = get_object_or_404(JobRun.objects.select_related("job"), pk=pk)
        if verb == "approve" and not request.user.has_perm(APPROVE_DELETIONS):
            return HttpResponseForbidden("Approving a deletion needs the approver's permission.")
        try:
            if verb == "apply":
                run = job_run_apply(actor=request.user, run=run)
                if run.status == JobRun.Status.AWAITING_APPROVAL:
                    messages.info(request, "The deletion now waits for a second person's approval.")
            elif verb == "approve":
                job_run_approve(actor=request.user, run=run)
                messages.success(request, "Approved: the deletion is queued.")
            elif verb == "cancel":
                job_run_cancel(actor=request.user, run=run)
            elif verb == "dismiss":
                job_run_dismiss_failed(actor=request.user, run=run)
                messages.success(request, "Given up: those rows will not be sent again.")
            else:
                job_run_retry_failed(actor=request.user, run=run)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("catalog:job_run", pk=run.pk)


class DeletionListView(JobsPerm, View):
    def get(self, request):
        page = CappedPaginator(deletion_records(), PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [{"record": r, "preferences": deletion_resync_status(r)} for r in page.object_list]
        return render(request, "jobs/deletion_list.html", {"page": page, "rows": rows})


class CronPreviewView(JobsPerm, View):
    """A schedule in plain words and its next runs, as the person types it (htmx)."""

    def get(self, request):
        expression = request.GET.get("schedule_cron", "")[:100]
        context = {
            "expression": expression,
            "problem": cron_problem(expression) if expression.strip() else "",
            "words": cron_words(expression),
            "next_runs": cron_next_runs(expression, 5),
        }
        return render(request, "jobs/_cron_preview.html", context)
