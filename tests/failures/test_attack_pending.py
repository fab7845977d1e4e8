"""Findings of the attack on the new surfaces in code this suite's author may not change (the seed jobs). Each
test says what should happen and fails today (strict xfail): once the owner fixes it, the xfail turns into an
unexpected pass, and the mark is removed."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from test_attack_new_surfaces import HEAD, _clients, world  # noqa: F401  (the fixture is used by name)

from catalog.jobs.services.process import job_process
from catalog.models import JobRun


def _upload_and_process(world, user_in_role, name, data, settings, tmp_path):  # noqa: F811
    settings.JOBS_UPLOAD_DIR = tmp_path / "uploads"
    page, _ = _clients(user_in_role, "admin")
    before = set(JobRun.objects.values_list("pk", flat=True))
    answer = page.post(f"/jobs/{world['job'].pk}/run/", {"file": SimpleUploadedFile(name, data), "dry_run": "on"})
    assert answer.status_code == 302
    run_id = JobRun.objects.exclude(pk__in=before).get().pk
    try:
        job_process(run_id=run_id, slice_seconds_=30)
    except Exception as exc:  # what a worker's task would die of
        pytest.fail(f"the run's task raised {type(exc).__name__}: {str(exc)[:200]}")
    return JobRun.objects.get(pk=run_id)


UNSTORABLE_ROWS = [
    ("nul-in-csv-cell", "a.csv", HEAD + b"a@example.com,,A\x00da\n"),
    ("nul-in-csv-user-id", "a.csv", HEAD + b",u\x001,Ada\n"),
    ("jsonl-nul-escape", "a.jsonl", b'{"email": "a@example.com", "first": "A\\u0000"}\n'),
    ("jsonl-lone-surrogate", "a.jsonl", b'{"email": "a@example.com", "first": "\\ud800"}\n'),
]


@pytest.mark.parametrize(("name", "data"), [c[1:] for c in UNSTORABLE_ROWS], ids=[c[0] for c in UNSTORABLE_ROWS])
def test_a_file_row_holding_nul_or_a_lone_surrogate_is_an_invalid_row(
    world,  # noqa: F811
    user_in_role,
    name,
    data,
    settings,
    tmp_path,
):
    run = _upload_and_process(world, user_in_role, name, data, settings, tmp_path)
    assert run.status == JobRun.Status.DONE, (run.status, run.last_error)
    assert (run.total, run.invalid) == (1, 1)
    assert "NUL" in run.items.get().error_message


def test_an_unterminated_quote_in_a_job_file_fails_the_run_naming_the_line(
    world,  # noqa: F811
    user_in_role,
    settings,
    tmp_path,
):
    data = HEAD + b'"a@example.com,,Ada\nb@example.com,,Bob\nc@example.com,,Cy\n'
    run = _upload_and_process(world, user_in_role, "a.csv", data, settings, tmp_path)
    assert run.status == JobRun.Status.FAILED, (run.status, run.total, run.invalid)
    assert "Line 2" in run.last_error and "quote" in run.last_error, run.last_error


def test_a_file_uploaded_through_the_api_starts_a_run(world, user_in_role, settings, tmp_path):  # noqa: F811
    settings.JOBS_UPLOAD_DIR = tmp_path / "uploads"
    _, api = _clients(user_in_role, "admin")
    upload = SimpleUploadedFile("rows.csv", HEAD + b"a@example.com,,Ada\n", content_type="text/csv")
    answer = api.post(f"/api/jobs/{world['job'].pk}/upload/", {"file": upload, "dry_run": True}, format="multipart")
    assert answer.status_code == 201, answer.content[:300]


# A read-only transaction still runs these: they read the server's files, stop other sessions, change settings,
# take locks that outlive the query, or reach other servers. The deny list compares unquoted names only.
SIDE_EFFECT_QUERIES = [
    "SELECT \"pg_read_file\"('/etc/hostname') AS email",
    'SELECT pg_catalog."pg_terminate_backend"(pid) AS email FROM pg_stat_activity',
    "SELECT \"set_config\"('statement_timeout', '0', false) AS email",
    "SELECT \"lo_import\"('/etc/passwd') AS email",
    "SELECT U&\"pg_read_file\"('/etc/hostname') AS email",
    "SELECT pg_try_advisory_lock(1) AS email",
    "SELECT pg_advisory_lock_shared(1) AS email",
    "SELECT dblink_connect('host=example.com') AS email",
    "SELECT pg_stat_reset() AS email",
]


@pytest.mark.parametrize("query", SIDE_EFFECT_QUERIES, ids=range(len(SIDE_EFFECT_QUERIES)))
def test_a_query_calling_a_side_effect_function_is_refused_however_it_is_spelled(query):
    from catalog.jobs.services.sources import query_problem

    assert query_problem("default", query), query


def test_a_scheduled_pull_does_not_start_while_the_last_one_is_still_running(world):  # noqa: F811
    from catalog.jobs.services.schedules import job_scheduled_run
    from catalog.jobs.services.setup import job_save

    job = job_save(actor=world["admin"], data={"project": world["job"].project, "name": "every minute",
                                               "action": "update_profiles", "source": "query", "db_alias": "default",
                                               "query": "SELECT 'a@example.com' AS email", "schedule_enabled": True,
                                               "schedule_cron": "* * * * *",
                                               "mapping": [{"column": "email", "field": "firstName"}]})  # fmt: skip
    first = job_scheduled_run(job_id=job.pk)
    assert first is not None and first.status == JobRun.Status.QUEUED
    job_scheduled_run(job_id=job.pk)
    assert JobRun.objects.filter(job=job).count() == 1


def test_a_schedule_for_31_february_written_as_a_range_is_refused():
    from catalog.jobs.services.schedules import cron_problem

    assert cron_problem("0 0 31 2-2 *")
