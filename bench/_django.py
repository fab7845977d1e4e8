"""Shared start of the bench scripts: Django on a throwaway SQLite database under /tmp, never the real one."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_throwaway(prefix: str) -> Path:
    """Point Django at a fresh database in a temporary folder, set it up and migrate it."""
    work = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "iterable_admin.settings_tests"
    os.environ["DATABASE_URL"] = f"sqlite:///{work}/bench.sqlite3"
    os.environ["DATA_DIR"] = str(work)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return work
