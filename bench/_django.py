"""Shared start of the bench scripts: Django on a throwaway SQLite database under /tmp, never the real one."""

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_throwaway(prefix: str, database_url: str | None = None) -> Path:
    """Point Django at a fresh database (SQLite in a temporary folder unless `database_url` names an empty
    one), set it up and migrate it."""
    work = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "iterable_admin.settings_tests"
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{work}/bench.sqlite3"
    os.environ["DATA_DIR"] = str(work)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return work


def fresh_postgres(prefix: str) -> str:
    """Create an empty PostgreSQL database on 127.0.0.1 for one bench run, dropped when the run ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc"]
    subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True)

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name}"], check=False)

    atexit.register(drop)
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def free_port() -> int:
    """A free TCP port on loopback for a server a bench starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    """Wait until something listens on the loopback port, or give up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"nothing started on port {port}")
