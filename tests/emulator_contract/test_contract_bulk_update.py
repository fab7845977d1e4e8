"""users/bulkUpdate with no rows is refused as recorded; with rows it is all-or-nothing per request."""

from __future__ import annotations

import pytest
from _contract_seed import KNOWN
from iterable.exceptions import InvalidParameters

from catalog.iterable import IterableError

RECORDED = {"msg": "Emails invalid: ", "code": "InvalidEmailAddressError", "params": None}


def test_empty_users_list_is_400_through_both_clients(emulator, ours, theirs):
    with pytest.raises(IterableError) as caught:
        ours.bulk_update_users([])
    assert (caught.value.status, caught.value.code, caught.value.msg) == (400, RECORDED["code"], RECORDED["msg"])
    with pytest.raises(InvalidParameters) as refused:
        theirs.users.bulk_update([])
    assert refused.value.args[0] == RECORDED


def test_rows_still_apply_with_per_row_failures_in_the_200(emulator, ours, theirs):
    answer = theirs.users.bulk_update([{"email": KNOWN, "dataFields": {"plan": "pro"}}, {"email": "bad@"}])
    assert answer.status_code == 200
    assert (answer.data["successCount"], answer.data["failCount"], answer.data["invalidEmails"]) == (1, 1, ["bad@"])
    assert ours.get_user_by_email(KNOWN).data_fields["plan"] == "pro"
