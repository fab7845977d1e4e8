"""Bench: the seed jobs' "delete_users" action, rows per second against its endpoint's ceiling, and memory at
1,000,000 rows (see bench/jobs_common.py).

    python bench/jobs_delete_users.py [--rows 5000] [--batch 1000] [--memory-rows 1000000] [--postgres]
"""

from jobs_common import main

if __name__ == "__main__":
    main("delete_users", default_rows=5000)
