"""``manage.py qcluster``: django-q2's cluster, stopping within QCLUSTER_STOP_SECONDS of SIGTERM or SIGINT.

django-q2 on its own waits, on SIGTERM, for every running task to finish: up to the task's timeout (minutes
for a resync), longer than any process manager waits before SIGKILL. Here a stop request is also written
where the workers see it (a file named in QCLUSTER_STOP_FILE, inherited by every process of the cluster):
resync slices end at their next checkpoint and queue their continuation, so their task finishes and is
acknowledged. Whatever is still running at the deadline is killed; its task was never acknowledged, so the
ORM broker delivers it again after Q_CLUSTER["retry"] (tasks are idempotent), and the supervisor picks up
anything else.
"""

import contextlib
import logging
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django_q.cluster import Cluster
from django_q.management.commands.qcluster import Command as DjangoQCommand

from catalog.workers import STOP_FILE_ENV

logger = logging.getLogger("catalog.workers")


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (from /proc; the cluster's sentinel, pusher, monitor and workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))  # state, ppid, ...
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Command(DjangoQCommand):
    help = "Starts a django-q cluster that stops within QCLUSTER_STOP_SECONDS of SIGTERM or SIGINT."

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018 (signing needs it: fail now, not in the first task)
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        stop_file = Path(tempfile.mkdtemp(prefix="qcluster-")) / "stop"
        os.environ[STOP_FILE_ENV] = str(stop_file)
        deadline = float(getattr(settings, "QCLUSTER_STOP_SECONDS", 25))
        cluster = Cluster()
        stopping = threading.Event()

        def force() -> None:
            left = _descendants(os.getpid())
            if left:
                logger.warning(
                    "qcluster: still busy %.0f s after the stop request; killing %d processes (their tasks are "
                    "delivered again after Q_CLUSTER retry)",
                    deadline,
                    len(left),
                )
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

        def on_signal(signum, frame) -> None:
            if stopping.is_set():
                return
            stopping.set()
            stop_file.touch()
            logger.info("qcluster: %s received; stopping within %.0f s", signal.Signals(signum).name, deadline)
            timer = threading.Timer(deadline, force)
            timer.daemon = True
            timer.start()
            started = time.monotonic()
            cluster.stop()
            timer.cancel()
            logger.info("qcluster: stopped in %.1f s", time.monotonic() - started)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            cluster.start()
            if options.get("run_once", False):
                cluster.stop()
            # django-q's command returns here and lets the interpreter wait for the sentinel at exit; waiting
            # here instead keeps this frame (and its handlers) alive until the cluster has stopped.
            while cluster.sentinel.is_alive():
                cluster.sentinel.join(timeout=0.5)
        finally:
            stop_file.unlink(missing_ok=True)
            stop_file.parent.rmdir()
