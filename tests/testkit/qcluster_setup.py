"""Run in a subprocess by the kill tests (tests/testkit/qcluster.py ``setup_run``, with DJANGO_SETTINGS_MODULE
and DATABASE_URL set):

    python tests/testkit/qcluster_setup.py resync|jobs EMULATOR_URL ROWS BATCH_SIZE   -> prints the run id

Migrates the file database, creates the project and starts a run over ROWS rows: a resync of desired
preferences, or a seed job's profile sync (its task goes into the ORM broker's queue when the transaction
commits).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django


def resync(project, rows: int, batch_size: int) -> int:
    from catalog.resync.services.ingest import preference_upsert
    from catalog.resync.services.rules import resync_settings_update
    from catalog.resync.services.runs import resync_start

    resync_settings_update(
        project=project,
        actor="kill-test",
        scope={"emailListIds": "all", "unsubscribedChannelIds": "all"},
        batch_size=batch_size,
        rate_per_second=5,
    )
    wishes = [
        {"email": f"k{i}@example.com", "email_list_ids": [21 + i % 3], "unsubscribed_channel_ids": [1 + i % 2]}
        for i in range(rows)
    ]
    record = preference_upsert(project=project, actor="kill-test", rows=wishes)
    assert record.rejected == 0, record.errors[:3]
    return resync_start(project=project, actor="kill-test", everyone=True, compare="auto").run.pk


def jobs(project, rows: int, batch_size: int) -> int:
    from catalog.jobs.services.runs import job_run_start
    from catalog.jobs.services.setup import job_save
    from catalog.jobs.services.sources import rows_from_json

    data = {"project": project, "name": "iterable_student_sync", "action": "update_profiles",
            "batch_size": batch_size, "rate_per_second": 5,
            "mapping": [{"column": "first_name", "field": "firstName"}]}  # fmt: skip
    job = job_save(actor="kill-test", data=data)
    people = [{"email": f"k{i}@example.com", "first_name": f"Name {i}"} for i in range(rows)]
    return job_run_start(actor="kill-test", job=job, rows=rows_from_json(people), origin="api").pk


# kind -> (its setup, the environment variable holding the project's API key)
KINDS = {"resync": (resync, "ITERABLE_API_KEY_RESYNC_KILL"), "jobs": (jobs, "ITERABLE_API_KEY_JOBS_KILL")}


def main() -> None:
    _, kind, url, rows, batch_size = sys.argv
    django.setup()
    from django.core.management import call_command

    from catalog.models import IterableProject

    setup, key_env = KINDS[kind]
    call_command("migrate", verbosity=0)
    project = IterableProject.objects.create(name="Kill test", api_key_env=key_env, api_base_url=url, data_center="US")
    print(setup(project, int(rows), int(batch_size)))
    os.environ.pop(key_env, None)


if __name__ == "__main__":
    main()
