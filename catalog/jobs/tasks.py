"""The jobs' django-q2 entry points: thin, ids only, safe to run twice (the run's lease and checkpoints)."""


def job_run_task(run_id: int) -> str:
    """Process a job's run (a slice of it); idempotent through the run's lease and per-row checkpoints."""
    from catalog.jobs.services.process import job_process
    from catalog.jobs.services.supervision import job_overran
    from catalog.runs.tasks import run_slice_task

    return run_slice_task(run_id, process=job_process, overran=job_overran)


def job_scheduled_task(job_id: int) -> int | None:
    """A job's scheduled pull: a run over its query's rows. Returns the run's id."""
    from catalog.jobs.services.schedules import job_scheduled_run

    run = job_scheduled_run(job_id=job_id)
    return run.pk if run else None
