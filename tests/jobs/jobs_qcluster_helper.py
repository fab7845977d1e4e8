"""Run in a subprocess by test_jobs_qcluster.py (DJANGO_SETTINGS_MODULE and DATABASE_URL set):

    python tests/jobs/jobs_qcluster_helper.py setup EMULATOR_URL ROWS BATCH_SIZE   -> prints the run id

Migrates the file database, creates the project and a profile-sync job, and starts a run over ROWS rows (its
task goes into the ORM broker's queue when the transaction commits).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django


def main() -> None:
    _, command, url, rows, batch_size = sys.argv
    django.setup()
    from django.core.management import call_command

    from catalog.jobs.services.runs import job_run_start
    from catalog.jobs.services.setup import job_save
    from catalog.jobs.services.sources import rows_from_json
    from catalog.models import IterableProject

    assert command == "setup"
    call_command("migrate", verbosity=0)
    project = IterableProject.objects.create(
        name="Kill test", api_key_env="ITERABLE_API_KEY_JOBS_KILL", api_base_url=url, data_center="US"
    )
    data = {"project": project, "name": "iterable_student_sync", "action": "update_profiles",
            "batch_size": int(batch_size), "rate_per_second": 5,
            "mapping": [{"column": "first_name", "field": "firstName"}]}  # fmt: skip
    job = job_save(actor="kill-test", data=data)
    people = [{"email": f"k{i}@example.com", "first_name": f"Name {i}"} for i in range(int(rows))]
    run = job_run_start(actor="kill-test", job=job, rows=rows_from_json(people), origin="api")
    print(run.pk)
    os.environ.pop("ITERABLE_API_KEY_JOBS_KILL", None)


if __name__ == "__main__":
    main()
