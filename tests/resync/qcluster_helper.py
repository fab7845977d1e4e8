"""Run in a subprocess by test_resync_qcluster.py (with DJANGO_SETTINGS_MODULE and DATABASE_URL set):

    python tests/resync/qcluster_helper.py setup EMULATOR_URL CONTACTS BATCH_SIZE   -> prints the run id

Migrates the file database, creates the project, its settings and the desired preferences, and starts a
resync run (its task goes into the ORM broker's queue when the transaction commits).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django


def main() -> None:
    _, command, url, contacts, batch_size = sys.argv
    django.setup()
    from django.core.management import call_command

    from catalog.models import IterableProject
    from catalog.resync.services.ingest import preference_upsert
    from catalog.resync.services.rules import resync_settings_update
    from catalog.resync.services.runs import resync_start

    assert command == "setup"
    call_command("migrate", verbosity=0)
    project = IterableProject.objects.create(
        name="Kill test", api_key_env="ITERABLE_API_KEY_RESYNC_KILL", api_base_url=url, data_center="US"
    )
    resync_settings_update(
        project=project,
        actor="kill-test",
        scope={"emailListIds": "all", "unsubscribedChannelIds": "all"},
        batch_size=int(batch_size),
        rate_per_second=5,
    )
    rows = [
        {"email": f"k{i}@example.com", "email_list_ids": [21 + i % 3], "unsubscribed_channel_ids": [1 + i % 2]}
        for i in range(int(contacts))
    ]
    record = preference_upsert(project=project, actor="kill-test", rows=rows)
    assert record.rejected == 0, record.errors[:3]
    run = resync_start(project=project, actor="kill-test", everyone=True, compare="auto").run
    print(run.pk)
    os.environ.pop("ITERABLE_API_KEY_RESYNC_KILL", None)


if __name__ == "__main__":
    main()
