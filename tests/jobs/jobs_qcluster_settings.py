"""Settings for the jobs' kill test's real ``manage.py qcluster`` (tests/jobs/test_jobs_qcluster.py): the
resync kill test's (short broker clocks, one worker) with the jobs' clocks as short: a slice (1.5 s) < the
run's lease (4 s) < the task timeout (6 s) < the broker's retry (8 s)."""

from iterable_admin.settings_qcluster_test import *  # noqa: F403

JOBS_SLICE_SECONDS = 1.5
JOBS_LEASE_SECONDS = 4
JOBS_TASK_TIMEOUT = 6
JOBS_STALL_SECONDS = 5
