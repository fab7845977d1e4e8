"""Bench: the seed jobs' "opt_out" action, rows per second against its endpoint's ceiling, and memory at
1,000,000 rows (see bench/jobs_common.py).

    python bench/jobs_opt_out.py [--rows 5000] [--batch 1000] [--memory-rows 1000000] [--postgres]
"""

from jobs_common import main

if __name__ == "__main__":
    main("opt_out", default_rows=5000)
