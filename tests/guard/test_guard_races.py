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


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_type_moved_to_marketing_while_a_notification_starts_using_it():
    """One transaction moves an unused opt-out type onto the Marketing channel and holds it; the other puts a
    notification on that type meanwhile. Whoever commits second is refused (on PostgreSQL the checker reads
    the type, then its channel by the channel id it read, each FOR SHARE)."""
    import threading
    import time

    from django.db import connection, transaction

    from catalog.models import MessageType, Notification

    staged = stage()
    candidate = MessageType.objects.create(
        project=staged.project, iterable_id=777, name="Candidate", channel=staged.transactional, policy="OptOut"
    )
    moved = threading.Event()
    outcome = {}

    def mover():
        try:
            with transaction.atomic():
                MessageType.objects.filter(pk=candidate.pk).update(channel=staged.marketing)
                moved.set()
                time.sleep(1.0)
            outcome["mover"] = "committed"
        except Exception as error:
            outcome["mover"] = repr(error)
        finally:
            moved.set()
            connection.close()

    def user():
        moved.wait(10)
        try:
            with transaction.atomic():
                Notification.objects.filter(pk=staged.notification.pk).update(message_type=candidate)
            outcome["user"] = "committed"
        except Exception as error:
            outcome["user"] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=mover), threading.Thread(target=user)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert list(outcome.values()).count("committed") == 1, outcome
    notification = Notification.objects.select_related("message_type__channel").get(pk=staged.notification.pk)
    used = notification.message_type
    assert not (used.channel.channel_type == "Marketing" and used.policy != "OptIn"), outcome
