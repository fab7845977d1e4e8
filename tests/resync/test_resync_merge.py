"""The merge rule, as a pure function: nothing outside the truth's scope is wiped."""

from types import SimpleNamespace

from catalog.resync.services.conf import ALL
from catalog.resync.services.merge import desired_arrays, merge_subscriptions, needs_read
from catalog.resync.services.rules import Rules

EMPTY = {
    "unsubscribedChannelIds": [],
    "unsubscribedMessageTypeIds": [],
    "subscribedMessageTypeIds": [],
    "emailListIds": [],
}
RULES = Rules(
    scope={
        "unsubscribedChannelIds": frozenset({1, 3}),
        "subscribedMessageTypeIds": frozenset({11, 12}),
        "emailListIds": ALL,
    },
    opt_in_enabled=True,
    type_channel={11: 1, 12: 1, 13: 2, 14: 3},
    type_policy={11: "OptIn", 12: "OptIn", 13: "OptOut", 14: "OptIn"},
)


def contact(**arrays):
    fields = {
        "unsubscribed_channel_ids": None,
        "unsubscribed_message_type_ids": None,
        "subscribed_message_type_ids": None,
        "email_list_ids": None,
    }
    fields.update(arrays)
    return SimpleNamespace(**fields)


def test_partial_scope_keeps_ids_outside_it():
    desired = desired_arrays(contact(unsubscribed_channel_ids=[1], subscribed_message_type_ids=[]), RULES)
    current = {**EMPTY, "unsubscribedChannelIds": [2, 3], "subscribedMessageTypeIds": [14, 11]}
    merge = merge_subscriptions(desired=desired, current=current, rules=RULES)
    assert merge.send == {"unsubscribedChannelIds": [2, 1], "subscribedMessageTypeIds": [14]}
    assert merge.diff["unsubscribedChannelIds"] == {"add": [1], "remove": [3]}
    assert merge.diff["subscribedMessageTypeIds"] == {"add": [], "remove": [11]}


def test_arrays_the_truth_does_not_speak_about_are_not_sent():
    desired = desired_arrays(contact(email_list_ids=[21], unsubscribed_message_type_ids=[13]), RULES)
    # unsubscribedMessageTypeIds is not in the scope at all: never written.
    assert desired["unsubscribedMessageTypeIds"] is None
    merge = merge_subscriptions(desired=desired, current={**EMPTY, "emailListIds": [23]}, rules=RULES)
    assert merge.send == {"emailListIds": [21]}  # scope "all": the truth owns the whole array


def test_in_sync_sends_nothing():
    desired = desired_arrays(contact(unsubscribed_channel_ids=[1]), RULES)
    merge = merge_subscriptions(desired=desired, current={**EMPTY, "unsubscribedChannelIds": [1, 2]}, rules=RULES)
    assert merge.send == {} and merge.diff == {}


def test_opt_in_array_is_never_sent_without_the_feature():
    rules = Rules(scope=RULES.scope, opt_in_enabled=False, type_channel=RULES.type_channel)
    desired = desired_arrays(contact(subscribed_message_type_ids=[11]), rules)
    assert desired["subscribedMessageTypeIds"] is None
    assert merge_subscriptions(desired=desired, current=EMPTY, rules=rules).send == {}


def test_channel_alignment_drops_a_type_whose_channel_is_unsubscribed_outside_the_row():
    # The truth wants type 12 (channel 1) but channel 1 is unsubscribed and stays so (kept in the array).
    rules = Rules(
        scope={"subscribedMessageTypeIds": frozenset({11, 12})}, opt_in_enabled=True, type_channel={11: 1, 12: 1}
    )
    desired = desired_arrays(contact(subscribed_message_type_ids=[12]), rules)
    merge = merge_subscriptions(desired=desired, current={**EMPTY, "unsubscribedChannelIds": [1]}, rules=rules)
    assert merge.dropped == [12]
    assert merge.send == {}


def test_needs_read_only_for_partial_scopes():
    assert not needs_read(desired_arrays(contact(email_list_ids=[21]), RULES), RULES)
    assert needs_read(desired_arrays(contact(unsubscribed_channel_ids=[]), RULES), RULES)


def test_unread_merge_of_whole_arrays_sets_them():
    desired = desired_arrays(contact(email_list_ids=[22, 21]), RULES)
    merge = merge_subscriptions(desired=desired, current=None, rules=RULES)
    assert merge.send == {"emailListIds": [21, 22]}
    assert merge.diff == {"emailListIds": {"set": [21, 22]}}


def test_opt_in_not_owned_is_kept_when_the_truth_unsubscribes_its_channel():
    desired = desired_arrays(contact(unsubscribed_channel_ids=[3]), RULES)
    merge = merge_subscriptions(desired=desired, current={**EMPTY, "subscribedMessageTypeIds": [14]}, rules=RULES)
    assert merge.kept_misaligned == [14]
    assert merge.row("a@example.com") == {
        "email": "a@example.com",
        "unsubscribedChannelIds": [3],
        "validateChannelAlignment": False,
    }
