"""Bench: the seed jobs' "list_remove" action, rows per second against its endpoint's ceiling, and memory at
1,000,000 rows (see bench/jobs_common.py).

    python bench/jobs_list_remove.py [--rows 100000] [--batch 1000] [--memory-rows 1000000] [--postgres]
"""

from jobs_common import main

if __name__ == "__main__":
    main("list_remove", default_rows=100000)
