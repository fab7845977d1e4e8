"""Only static lists may enter a profile's emailListIds, whichever endpoint writes it."""

from __future__ import annotations

import pytest
from _contract_seed import DYNAMIC_LIST, KNOWN, STATIC_LIST
from iterable.exceptions import InvalidParameters

from catalog.iterable import IterableError, SubscriptionUpdate


def _lists(ours):
    return ours.get_user_by_email(KNOWN).email_list_ids


def test_update_subscriptions_refuses_a_dynamic_list(emulator, ours, theirs):
    with pytest.raises(IterableError) as caught:
        ours.update_subscriptions(email=KNOWN, email_list_ids=[STATIC_LIST, DYNAMIC_LIST])
    assert caught.value.code == "BadParams" and str(DYNAMIC_LIST) in caught.value.msg
    with pytest.raises(InvalidParameters):
        theirs.users.update_subscriptions(KNOWN, email_list_ids=[DYNAMIC_LIST])
    assert _lists(ours) == []
    ours.update_subscriptions(email=KNOWN, email_list_ids=[STATIC_LIST])
    assert _lists(ours) == [STATIC_LIST]


def test_bulk_update_subscriptions_reports_the_row(emulator, ours, theirs):
    answer = ours.bulk_update_subscriptions(
        [SubscriptionUpdate(email=KNOWN, email_list_ids=[DYNAMIC_LIST]), SubscriptionUpdate(email="b@example.com")]
    )
    assert (answer["successCount"], answer["validEmailFailures"]) == (1, [KNOWN])
    theirs_answer = theirs.users.bulk_update_subscriptions([{"email": KNOWN, "emailListIds": [DYNAMIC_LIST]}])
    assert theirs_answer.data["validEmailFailures"] == [KNOWN]
    assert _lists(ours) == []


def test_per_group_subscribe_to_a_dynamic_list_is_refused(emulator, ours):
    with pytest.raises(IterableError) as caught:
        ours.subscribe_user("emailList", DYNAMIC_LIST, email=KNOWN)
    assert caught.value.code == "BadParams"
    with pytest.raises(IterableError):
        ours.bulk_subscription_action("emailList", DYNAMIC_LIST, "subscribe", emails=[KNOWN])
    assert _lists(ours) == []


def test_users_update_and_bulk_update_refuse_a_dynamic_list_in_data_fields(emulator, ours, theirs):
    with pytest.raises(IterableError) as caught:
        ours.update_user(email=KNOWN, data_fields={"emailListIds": [DYNAMIC_LIST]})
    assert caught.value.code == "BadParams"
    with pytest.raises(InvalidParameters):
        theirs.users.update(email=KNOWN, data_fields={"emailListIds": [DYNAMIC_LIST], "plan": "pro"})
    answer = ours.bulk_update_users([{"email": KNOWN, "dataFields": {"emailListIds": [DYNAMIC_LIST]}}])
    assert answer["failedUpdates"]["invalidDataEmails"] == [KNOWN] and answer["successCount"] == 0
    user = ours.get_user_by_email(KNOWN)
    assert user.email_list_ids == [] and "plan" not in user.data_fields
