"""BatchTooLarge has one status whether the body is too large or the rows too many."""

from __future__ import annotations

import pytest
from _contract_seed import KNOWN

from catalog.iterable import IterableError, SubscriptionUpdate


def _rows(n):
    return [SubscriptionUpdate(email=f"u{i}@example.com", email_list_ids=[]) for i in range(n)]


def test_too_many_rows_and_too_large_a_body_are_both_413(emulator, ours, theirs):
    emulator.configure(batch_limits={"POST /api/users/bulkUpdateSubscriptions": 2, "POST /api/users/bulkUpdate": 2})
    with pytest.raises(IterableError) as rows:
        ours.bulk_update_subscriptions(_rows(3))
    assert (rows.value.status, rows.value.code) == (413, "BatchTooLarge")
    answer = theirs.users.bulk_update([{"email": f"u{i}@example.com"} for i in range(3)])
    assert (answer.status_code, answer.data["code"]) == (413, "BatchTooLarge")
    emulator.configure(max_body_bytes=200)
    with pytest.raises(IterableError) as body:
        ours.update_user(email=KNOWN, data_fields={"bio": "x" * 300})
    assert (body.value.status, body.value.code) == (413, "BatchTooLarge")
    assert "bio" not in ours.get_user_by_email(KNOWN).data_fields
    assert ours.get_user_by_email("u0@example.com") is None


def test_status_switch_makes_both_400(emulator, ours):
    emulator.configure(
        batch_too_large_status=400, max_body_bytes=200, batch_limits={"POST /api/users/bulkUpdateSubscriptions": 2}
    )
    with pytest.raises(IterableError) as rows:
        ours.bulk_update_subscriptions(_rows(3))
    with pytest.raises(IterableError) as body:
        ours.update_user(email=KNOWN, data_fields={"bio": "x" * 300})
    assert {rows.value.status, body.value.status} == {400} and {rows.value.code, body.value.code} == {"BatchTooLarge"}
