"""Deletes as recorded: an unknown or already-deleted address is a success, an unknown userId a BadParams."""

from __future__ import annotations

import pytest
from _contract_seed import KNOWN, KNOWN_ID
from iterable.exceptions import InvalidParameters

from catalog.iterable import IterableError


def test_delete_by_email_twice_is_success_both_times(emulator, ours, theirs):
    assert ours.delete_user(KNOWN) == {"msg": "", "code": "Success", "params": None}
    assert ours.get_user_by_email(KNOWN) is None
    again = theirs.users.delete(email=KNOWN)
    assert again.status_code == 200 and again.data["code"] == "Success"
    never = theirs.users.delete(email="never.seen@example.com")
    assert never.status_code == 200 and never.data["code"] == "Success"
    assert ours.delete_user("never.seen@example.com")["code"] == "Success"


def test_delete_by_user_id_message_and_unknown_id(emulator, ours, theirs):
    answer = theirs.users.delete(user_id=KNOWN_ID)
    assert answer.data["msg"] == f"All users associated with {KNOWN_ID} were successfully deleted"
    with pytest.raises(IterableError) as caught:
        ours.delete_user_by_id(KNOWN_ID)
    assert (caught.value.status, caught.value.code) == (400, "BadParams")
    assert caught.value.msg == f"No users with userId {KNOWN_ID} exist"
    with pytest.raises(InvalidParameters) as refused:
        theirs.users.delete(user_id="ghost")
    assert refused.value.args[0] == {"msg": "No users with userId ghost exist", "code": "BadParams", "params": None}


def test_invalid_email_delete_is_still_refused(emulator, theirs):
    with pytest.raises(InvalidParameters) as refused:
        theirs.users.delete(email="foo@")
    assert refused.value.args[0]["code"] == "InvalidEmailAddressError"


def test_strict_switch_restores_unknown_user_errors(emulator, ours):
    emulator.configure(delete_unknown_user="strict")
    with pytest.raises(IterableError) as by_email:
        ours.delete_user("never.seen@example.com")
    assert by_email.value.code == "UnknownEmailError"
    with pytest.raises(IterableError) as by_id:
        ours.delete_user_by_id("ghost")
    assert by_id.value.code == "UnknownUserIdError"
