"""Settings for the resync kill test's real ``manage.py qcluster`` (tests/resync/test_resync_qcluster.py).

The production settings on a file SQLite database (DATABASE_URL from the test) with the ORM broker, and
short clocks so a killed worker's task is redelivered within seconds: a resync slice (1.5 s) < the run's
lease (4 s) < the task timeout (6 s) < the broker's retry (8 s).
"""

from iterable_admin.settings import *  # noqa: F403
from iterable_admin.settings import Q_CLUSTER

SECURE_SSL_REDIRECT = False
Q_CLUSTER = {
    **Q_CLUSTER,
    "name": "resync_kill_test",
    "workers": 1,
    "timeout": 6,
    "retry": 8,
    "max_attempts": 10,
    "poll": 0.2,
    "sync": False,
}
RESYNC_SLICE_SECONDS = 1.5
RESYNC_LEASE_SECONDS = 4
RESYNC_TASK_TIMEOUT = 6
# The supervisor (a schedule django-q checks every 30 s) resumes a run idle this long whose task is gone.
RESYNC_STALL_SECONDS = 5
# SIGTERM: a running task has this long to reach a checkpoint before its process is killed.
QCLUSTER_STOP_SECONDS = 5
