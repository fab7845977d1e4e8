"""How a job's run reaches a worker: its task (ids only) and the task's name."""

from catalog.jobs.services.conf import TASK, task_timeout
from catalog.models import JobRun
from catalog.observability import enqueue_supervised


def job_task_name(run_id: int) -> str:
    return f"job-run-{run_id}"


def job_enqueue(run_id: int) -> None:
    # The task's timeout is longer than a slice and shorter than Q_CLUSTER's retry.
    enqueue_supervised(JobRun, run_id, TASK, name=job_task_name(run_id), group="jobs", timeout=task_timeout())
