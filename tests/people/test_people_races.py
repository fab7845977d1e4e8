"""Two admins deactivating (or demoting) each other at the same moment: one wins, the other is refused, and an
active admin is always left."""

import threading

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connections

from catalog.people.services import user_deactivate, user_role, user_role_change

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _at_once(*calls) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call):
        try:
            barrier.wait()
            call()
            outcomes.append("done")
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        except Exception as error:  # said in the assertion, not lost in a thread
            outcomes.append(f"error: {error!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes, key=lambda outcome: outcome != "done")


@pytest.mark.parametrize("rounds", range(3))
def test_two_admins_deactivating_each_other_leave_one(user_in_role, rounds):
    ann, bob = user_in_role("admin", username="ann"), user_in_role("admin", username="bob")
    outcomes = _at_once(lambda: user_deactivate(actor=ann, user=bob), lambda: user_deactivate(actor=bob, user=ann))
    assert outcomes[0] == "done" and "last active admin" in outcomes[1]
    assert User.objects.filter(is_active=True, groups__name="admin").count() == 1


def test_two_admins_stepping_down_at_once_leave_one(user_in_role):
    ann, bob = user_in_role("admin", username="ann"), user_in_role("admin", username="bob")
    outcomes = _at_once(
        lambda: user_role_change(actor=ann, user=ann, role="viewer"),
        lambda: user_role_change(actor=bob, user=bob, role="viewer"),
    )
    assert outcomes[0] == "done" and "last active admin" in outcomes[1]
    assert sorted(user_role(u) for u in User.objects.filter(username__in=["ann", "bob"])) == ["admin", "viewer"]
