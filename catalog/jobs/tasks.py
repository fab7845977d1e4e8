"""The jobs' django-q2 entry points: thin, ids only, safe to run twice (the run's lease and checkpoints)."""


def job_run_task(run_id: int) -> str:
    """Process a job's run (a slice of it). django-q stops a task at its timeout by raising in it and then
    acknowledges it as failed: the run is resumed here, from its checkpoint, before the exception goes on."""
    import uuid

    from django.db import connection
    from django_q.exceptions import TimeoutException

    from catalog.jobs.services.process import job_process
    from catalog.jobs.services.supervision import job_overran

    token = uuid.uuid4().hex
    try:
        return job_process(run_id=run_id, token=token)
    except TimeoutException:
        connection.close()  # it may have struck mid-query: start the bookkeeping on a fresh connection
        job_overran(run_id=run_id, token=token)
        raise


def job_scheduled_task(job_id: int) -> int | None:
    """A job's scheduled pull: a run over its query's rows. Returns the run's id."""
    from catalog.jobs.services.schedules import job_scheduled_run

    run = job_scheduled_run(job_id=job_id)
    return run.pk if run else None
