"""Two conflicting API edits at the same moment, over real connections: the database lets one win and the
other gets the guard's sentence; nothing forbidden is ever stored, and nothing answers 500."""

import pytest
from guard_races import KINDS, RaceTally, race_round, stage

ROUNDS = 6


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("kind", KINDS)
def test_races_lose(kind):
    staged = stage()
    tally = RaceTally()
    for round_no in range(ROUNDS):
        race_round(staged, kind, round_no, tally)
    assert tally.rounds == ROUNDS
    assert tally.both_succeeded == 0, tally.outcomes
    assert tally.violations_stored == 0, tally.outcomes
    assert tally.server_errors == 0, tally.outcomes
    assert tally.unclear_refusals == 0, tally.outcomes
    assert tally.one_refused == ROUNDS, tally.outcomes
