"""Users: lookups, update/merge, bulk update, deletion, sent messages, fields."""

from __future__ import annotations

import re

import pytest

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00$")


# -- lookups ---------------------------------------------------------------------------------------
def test_get_by_email_query_and_path(us, check_schema):
    by_query = us.get("/api/users/getByEmail", params={"email": "a@example.com"})
    by_path = us.get("/api/users/a@example.com")
    for resp in (by_query, by_path):
        assert resp.status_code == 200
        body = resp.json()
        check_schema("UserResponse", body)
        user = body["user"]
        assert user["email"] == "a@example.com"
        assert user["userId"] == "ua"
        assert user["dataFields"]["firstName"] == "Ada"
        assert DATE_RE.match(user["dataFields"]["signupDate"])
        assert DATE_RE.match(user["dataFields"]["profileUpdatedAt"])
    assert by_query.json() == by_path.json()


def test_user_without_subscription_activity_has_no_subscription_arrays(us):
    fields = us.user("a@example.com")["dataFields"]
    for key in ("emailListIds", "subscribedMessageTypeIds", "unsubscribedChannelIds", "unsubscribedMessageTypeIds"):
        assert key not in fields


def test_unknown_email_is_200_empty_object(us):
    for resp in (
        us.get("/api/users/getByEmail", params={"email": "nobody@example.com"}),
        us.get("/api/users/nobody@example.com"),
    ):
        assert resp.status_code == 200
        assert resp.json() == {}


@pytest.mark.parametrize("bad", ["foo@", "no-at-sign", "two@@example.com"])
def test_invalid_email_lookup_is_400(us, bad, check_schema):
    resp = us.get("/api/users/getByEmail", params={"email": bad})
    assert resp.status_code == 400
    body = resp.json()
    check_schema("IterableApiResponse", body)
    assert body == {"msg": f"Invalid email: {bad}", "code": "InvalidEmailAddressError", "params": None}


def test_emails_with_plus_and_slash_survive(us):
    for email in ("x+tag@example.com", "we/ird@example.com"):
        assert us.post("/api/users/update", json={"email": email, "dataFields": {"v": 1}}).ok
        assert us.user(email)["email"] == email
    # The path form needs the slash percent-encoded, as the real API does.
    assert us.get("/api/users/we%2Fird@example.com").json()["user"]["email"] == "we/ird@example.com"
    assert us.get("/api/users/x+tag@example.com").json()["user"]["email"] == "x+tag@example.com"


def test_get_by_user_id_query_and_path(us, check_schema):
    for resp in (us.get("/api/users/byUserId", params={"userId": "ub"}), us.get("/api/users/byUserId/ub")):
        assert resp.status_code == 200
        check_schema("UserResponse", resp.json())
        assert resp.json()["user"]["email"] == "b@example.com"


def test_unknown_user_id_default_is_an_empty_json_object(us):
    for resp in (us.get("/api/users/byUserId", params={"userId": "nope"}), us.get("/api/users/byUserId/nope")):
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/json")
        assert resp.json() == {}


def test_unknown_user_id_can_be_configured_to_the_legacy_plain_text_400(emulator, us):
    emulator.configure(unknown_user_id="legacy_400")
    resp = us.get("/api/users/byUserId/nope")
    assert resp.status_code == 400 and resp.headers["Content-Type"].startswith("text/plain")
    assert resp.text == "No user with that id exists!"


def test_lookup_missing_parameter_is_bad_params(us):
    assert us.get("/api/users/getByEmail").json()["code"] == "BadParams"
    assert us.get("/api/users/byUserId").json()["code"] == "BadParams"


# -- users/update ----------------------------------------------------------------------------------
def test_update_creates_then_merges_and_null_removes(us, check_schema):
    resp = us.post("/api/users/update", json={"email": "new@example.com", "dataFields": {"a": 1, "b": "x"}})
    assert resp.status_code == 200
    check_schema("IterableApiResponse", resp.json())
    assert resp.json()["code"] == "Success"
    assert us.post("/api/users/update", json={"email": "new@example.com", "dataFields": {"b": None, "c": True}}).ok
    fields = us.user("new@example.com")["dataFields"]
    assert fields["a"] == 1 and fields["c"] is True
    assert "b" not in fields
    assert fields["email"] == "new@example.com"


def test_update_overwrites_nested_objects_unless_merge_requested(us):
    us.post("/api/users/update", json={"email": "a@example.com", "dataFields": {"s": {"mobile": True}}})
    us.post("/api/users/update", json={"email": "a@example.com", "dataFields": {"s": {"email": True}}})
    assert us.user("a@example.com")["dataFields"]["s"] == {"email": True}
    us.post(
        "/api/users/update",
        json={"email": "a@example.com", "mergeNestedObjects": True, "dataFields": {"s": {"mobile": False}}},
    )
    assert us.user("a@example.com")["dataFields"]["s"] == {"email": True, "mobile": False}


def test_update_by_user_id_and_setting_user_id(us):
    assert us.post("/api/users/update", json={"userId": "ua", "dataFields": {"via": "id"}}).ok
    assert us.user("a@example.com")["dataFields"]["via"] == "id"
    assert us.post("/api/users/update", json={"email": "fresh@example.com", "userId": "uf"}).ok
    assert us.get("/api/users/byUserId/uf").json()["user"]["email"] == "fresh@example.com"
    conflict = us.post("/api/users/update", json={"email": "fresh@example.com", "userId": "ua"})
    assert conflict.status_code == 409


def test_update_with_unknown_user_id(us):
    resp = us.post("/api/users/update", json={"userId": "ghost", "dataFields": {"x": 1}})
    assert resp.status_code == 400 and resp.json()["code"] == "UnknownUserIdError"
    created = us.post("/api/users/update", json={"userId": "ghost", "preferUserId": True})
    assert created.ok
    assert us.get("/api/users/byUserId/ghost").json()["user"]["userId"] == "ghost"


def test_update_errors(us):
    assert us.post("/api/users/update", json={"email": "foo@"}).json()["code"] == "InvalidEmailAddressError"
    assert us.post("/api/users/update", json={"dataFields": {}}).json()["code"] == "BadParams"


def test_update_cannot_write_subscribed_message_types_without_opt_in(us2):
    resp = us2.post(
        "/api/users/update", json={"email": "p2@example.com", "dataFields": {"subscribedMessageTypeIds": [50]}}
    )
    assert resp.status_code == 400
    assert resp.json()["code"] == "BadParams"
    assert "opt-in" in resp.json()["msg"]


# -- users/bulkUpdate ------------------------------------------------------------------------------
def test_bulk_update_reports_rows(us, check_schema):
    resp = us.post(
        "/api/users/bulkUpdate",
        json={
            "users": [
                {"email": "a@example.com", "dataFields": {"plan": "pro"}},
                {"email": "bulk@example.com", "dataFields": {"plan": "free"}},
                {"email": "bad@", "dataFields": {}},
                {"userId": "ub", "dataFields": {"plan": "team"}},
                {"userId": "nobody-id", "dataFields": {}},
            ]
        },
    )
    assert resp.status_code == 200
    body = resp.json()
    check_schema("UserBulkUpdateListResponse", body)
    assert body["successCount"] == 3
    assert body["failCount"] == 2
    assert body["invalidEmails"] == ["bad@"]
    assert body["failedUpdates"]["notFoundUserIds"] == ["nobody-id"]
    assert us.user("bulk@example.com")["dataFields"]["plan"] == "free"
    assert us.user("b@example.com")["dataFields"]["plan"] == "team"


def test_bulk_update_requires_users(us):
    resp = us.post("/api/users/bulkUpdate", json={})
    assert resp.status_code == 400
    assert resp.json()["params"] == {"obj.users": [{"msg": "error.path.missing", "args": []}]}


# -- delete ----------------------------------------------------------------------------------------
def test_delete_by_email_and_user_id(us, check_schema):
    resp = us.delete("/api/users/a@example.com")
    assert resp.status_code == 200
    check_schema("IterableApiResponse", resp.json())
    assert us.get("/api/users/a@example.com").json() == {}
    assert us.delete("/api/users/byUserId/ub").status_code == 200
    assert us.get("/api/users/getByEmail", params={"email": "b@example.com"}).json() == {}
    # Recorded: deleting an address that is gone is a success; an unknown userId is BadParams.
    again = us.delete("/api/users/a@example.com")
    assert again.status_code == 200 and again.json() == {"msg": "", "code": "Success", "params": None}
    missing_id = us.delete("/api/users/byUserId/ub")
    assert missing_id.status_code == 400
    assert missing_id.json() == {"msg": "No users with userId ub exist", "code": "BadParams", "params": None}
    assert us.delete("/api/users/foo@").json()["code"] == "InvalidEmailAddressError"


# -- getSentMessages / getFields -------------------------------------------------------------------
def test_get_sent_messages(us, check_schema):
    for campaign in (42, 41, 43):
        assert us.post(
            f"/api/{'push' if campaign == 43 else 'email'}/target",
            json={"campaignId": campaign, "recipientEmail": "b@example.com"},
        ).ok
    resp = us.get("/api/users/getSentMessages", params={"email": "b@example.com"})
    assert resp.status_code == 200
    body = resp.json()
    check_schema("GetSentMessagesResponse", body)
    assert [m["campaignId"] for m in body["messages"]] == [43, 41, 42]  # newest first
    assert all(DATE_RE.match(m["createdAt"]) for m in body["messages"])
    assert body["messages"][0]["templateId"] == 33
    by_id = us.get("/api/users/getSentMessages", params={"userId": "ub", "limit": 1}).json()
    assert [m["campaignId"] for m in by_id["messages"]] == [43]
    filtered = us.get(
        "/api/users/getSentMessages",
        params={"email": "b@example.com", "campaignIds": [42, 41], "messageMedium": "Email"},
    )
    assert [m["campaignId"] for m in filtered.json()["messages"]] == [41, 42]
    assert us.get("/api/users/getSentMessages", params={"email": "nobody@example.com"}).json() == {"messages": []}


def test_get_sent_messages_errors(us):
    assert us.get("/api/users/getSentMessages").json()["code"] == "BadParams"
    too_many = us.get("/api/users/getSentMessages", params={"email": "a@example.com", "limit": 1001})
    assert too_many.status_code == 400 and too_many.json()["code"] == "BadParams"
    assert us.get("/api/users/getSentMessages", params={"email": "foo@"}).json()["code"] == ("InvalidEmailAddressError")


def test_get_fields(us):
    us.post("/api/users/update", json={"email": "a@example.com", "dataFields": {"age": 3, "vip": True}})
    fields = us.get("/api/users/getFields").json()["fields"]
    assert fields["age"] == "long" and fields["vip"] == "boolean" and fields["signupDate"] == "date"


def test_subscription_arrays_through_data_fields_follow_the_spec_rules(us, us2):
    # With opt-in types enabled (project 100), the unsubscribed* arrays belong to updateSubscriptions.
    refused = us.post(
        "/api/users/update", json={"email": "a@example.com", "dataFields": {"unsubscribedChannelIds": [1]}}
    )
    assert refused.status_code == 400 and refused.json()["code"] == "BadParams"
    # Without the feature (project 200) bulkUpdate may set them, but not subscribedMessageTypeIds.
    resp = us2.post(
        "/api/users/bulkUpdate",
        json={
            "users": [
                {"email": "p2@example.com", "dataFields": {"unsubscribedMessageTypeIds": [50], "emailListIds": [55]}},
                {"email": "p2b@example.com", "dataFields": {"subscribedMessageTypeIds": [50]}},
            ]
        },
    )
    body = resp.json()
    assert (body["successCount"], body["failCount"]) == (1, 1)
    assert body["failedUpdates"]["invalidDataEmails"] == ["p2b@example.com"]
    fields = us2.user("p2@example.com")["dataFields"]
    assert (fields["unsubscribedMessageTypeIds"], fields["emailListIds"]) == ([50], [55])
