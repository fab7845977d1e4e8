"""Races against the guard: how often two conflicting API edits, sent at the same moment, both succeed.

Each round sends two PATCHes through the whole stack at once (one thread and one database connection
each): a notification moved onto a type while that type is made opt-out, renamed to a look-alike of
"Marketing Message", or its channel made Marketing; or a template attached while its type is flipped.
Each edit is allowed alone; together they are forbidden. Prints rounds, "both succeeded" (must be 0),
violations stored (must be 0) and server errors (must be 0) per kind.

    python bench/guard_race.py                      # SQLite file in /tmp
    python bench/guard_race.py --postgres           # a fresh PostgreSQL database on 127.0.0.1
    python bench/guard_race.py --without-database-guard   # the same with the triggers dropped: the baseline
"""

import argparse
import sys

from _django import ROOT, django_throwaway, fresh_postgres

parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=30)
parser.add_argument("--postgres", action="store_true")
parser.add_argument("--without-database-guard", action="store_true")
args = parser.parse_args()

url = None
if args.postgres:
    url = fresh_postgres("guard_race")
django_throwaway("guard-race", url)
sys.path.insert(0, str(ROOT / "tests" / "guard"))

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from guard_races import KINDS, RaceTally, race_round, stage  # noqa: E402

from catalog.guard import triggers  # noqa: E402


def main() -> None:
    setup_test_environment()
    if args.without_database_guard:
        with connection.schema_editor() as editor:
            triggers.uninstall(editor)
    staged = stage()
    print(f"database: {connection.vendor}; database guard: {'off' if args.without_database_guard else 'on'}")
    total = RaceTally()
    for kind in KINDS:
        tally = RaceTally()
        for round_no in range(args.rounds):
            race_round(staged, kind, round_no, tally)
        print(tally.line(kind))
        for counter in ("rounds", "both_succeeded", "one_refused", "violations_stored", "server_errors",
                        "unclear_refusals"):  # fmt: skip
            setattr(total, counter, getattr(total, counter) + getattr(tally, counter))
    print(total.line("all"))
    connection.close()


if __name__ == "__main__":
    main()
