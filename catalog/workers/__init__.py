"""django-q2 workers that stop within a bounded time of SIGTERM (see management/commands/qcluster.py)."""

import os
from pathlib import Path

STOP_FILE_ENV = "QCLUSTER_STOP_FILE"


def shutdown_requested() -> bool:
    """True in a worker of a cluster that was asked to stop: long tasks end their slice at the next
    checkpoint and queue their continuation, so the cluster stops without losing or repeating work."""
    path = os.environ.get(STOP_FILE_ENV)
    return bool(path and Path(path).exists())
