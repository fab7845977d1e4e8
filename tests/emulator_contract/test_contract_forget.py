"""GDPR forget: the profile goes, and no later write may bring it back until it is unforgotten."""

from __future__ import annotations

import pytest
from _contract_seed import EMAIL_CAMPAIGN, KNOWN, KNOWN_ID, SEED
from iterable.exceptions import InvalidParameters

from catalog.iterable import IterableError


def test_forget_deletes_and_blocks_writes_through_both_clients(emulator, ours, theirs):
    answer = theirs.post("/api/users/forget", data={"email": KNOWN})
    assert answer.data == {"msg": "", "code": "Success", "params": None}  # recorded
    assert ours.get_user_by_email(KNOWN) is None and ours.get_user_by_id(KNOWN_ID) is None
    with pytest.raises(IterableError) as update:
        ours.update_user(email=KNOWN, data_fields={"plan": "pro"})
    assert (update.value.status, update.value.code) == (400, "ForgottenUserError")
    with pytest.raises(InvalidParameters) as track:
        theirs.events.track(event_name="x", email=KNOWN)
    assert track.value.args[0]["code"] == "ForgottenUserError"
    with pytest.raises(IterableError):
        ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN)
    with pytest.raises(IterableError):
        ours.update_user(user_id=KNOWN_ID, prefer_user_id=True, data_fields={"x": 1})
    bulk = ours.bulk_update_users([{"email": KNOWN}, {"email": "other@example.com"}])
    assert bulk["failedUpdates"]["forgottenEmails"] == [KNOWN] and bulk["successCount"] == 1
    events = ours.track_bulk([{"eventName": "x", "email": KNOWN}])
    assert events["failedUpdates"]["forgottenEmails"] == [KNOWN] and events["successCount"] == 0
    assert ours.get_user_by_email(KNOWN) is None


def test_unforget_lets_the_address_be_written_again(emulator, ours, theirs):
    theirs.post("/api/users/forget", data={"email": KNOWN})
    assert theirs.post("/api/users/unforget", data={"email": KNOWN}).data["code"] == "Success"
    ours.update_user(email=KNOWN, data_fields={"plan": "pro"})
    assert ours.get_user_by_email(KNOWN).data_fields["plan"] == "pro"


def test_forget_errors_and_state_round_trip(emulator, theirs):
    with pytest.raises(InvalidParameters) as bad:
        theirs.post("/api/users/forget", data={"email": "foo@"})
    assert bad.value.args[0] == {"msg": "Invalid email: foo@", "code": "InvalidEmailAddressError", "params": None}
    theirs.post("/api/users/forget", data={"userId": KNOWN_ID})
    [project] = emulator.snapshot()["projects"]
    assert project["forgotten"] == {"emails": [KNOWN], "userIds": [KNOWN_ID]}
    emulator.load_seed(emulator.snapshot())  # a snapshot is a seed: forgotten identities survive it
    try:
        with pytest.raises(InvalidParameters):
            theirs.users.update(email=KNOWN, data_fields={"x": 1})
    finally:
        emulator.load_seed(SEED)  # load_seed also moves what reset() returns to
