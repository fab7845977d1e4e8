"""Subscriptions: updateSubscriptions overwrite semantics, bulk, the per-group API, lists."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ARRAYS = ("emailListIds", "subscribedMessageTypeIds", "unsubscribedChannelIds", "unsubscribedMessageTypeIds")


def subs(api, email: str) -> dict:
    fields = api.user(email)["dataFields"]
    return {k: fields[k] for k in ARRAYS if k in fields}


# -- updateSubscriptions ---------------------------------------------------------------------------
def test_update_subscriptions_overwrites_only_the_arrays_sent(us, check_schema):
    resp = us.post(
        "/api/users/updateSubscriptions",
        json={"email": "a@example.com", "emailListIds": [20], "subscribedMessageTypeIds": [10]},
    )
    assert resp.status_code == 200
    check_schema("IterableApiResponse", resp.json())
    assert subs(us, "a@example.com") == {"emailListIds": [20], "subscribedMessageTypeIds": [10]}

    # Omitted and null leave an array alone; a sent array replaces it wholesale.
    us.post(
        "/api/users/updateSubscriptions",
        json={"email": "a@example.com", "emailListIds": None, "subscribedMessageTypeIds": [13]},
    )
    assert subs(us, "a@example.com") == {"emailListIds": [20], "subscribedMessageTypeIds": [13]}

    # [] clears.
    us.post("/api/users/updateSubscriptions", json={"email": "a@example.com", "emailListIds": []})
    assert subs(us, "a@example.com") == {"emailListIds": [], "subscribedMessageTypeIds": [13]}


def test_update_subscriptions_by_user_id_and_for_a_new_email(us):
    assert us.post("/api/users/updateSubscriptions", json={"userId": "uc", "unsubscribedChannelIds": []}).ok
    assert subs(us, "c@example.com")["unsubscribedChannelIds"] == []
    assert us.post(
        "/api/users/updateSubscriptions", json={"email": "brand.new@example.com", "unsubscribedMessageTypeIds": [11]}
    ).ok
    assert subs(us, "brand.new@example.com") == {"unsubscribedMessageTypeIds": [11]}


def test_update_subscriptions_errors(us, us2):
    bad_email = us.post("/api/users/updateSubscriptions", json={"email": "foo@", "emailListIds": [20]})
    assert bad_email.json() == {"msg": "Invalid email: foo@", "code": "InvalidEmailAddressError", "params": None}
    unknown_id = us.post("/api/users/updateSubscriptions", json={"userId": "ghost", "emailListIds": [20]})
    assert unknown_id.status_code == 400 and unknown_id.json()["code"] == "UnknownUserIdError"
    neither = us.post("/api/users/updateSubscriptions", json={"emailListIds": [20]})
    assert neither.json()["code"] == "BadParams"
    unknown_type = us.post(
        "/api/users/updateSubscriptions", json={"email": "a@example.com", "unsubscribedMessageTypeIds": [999]}
    )
    assert unknown_type.status_code == 400 and "999" in unknown_type.json()["msg"]
    wrong_type = us.post("/api/users/updateSubscriptions", json={"email": "a@example.com", "emailListIds": ["x"]})
    assert wrong_type.json()["params"] == {"obj.emailListIds[0]": [{"msg": "error.expected.jsnumber", "args": []}]}
    # Opt-in types are a per-project feature: project 200 does not have it.
    no_opt_in = us2.post(
        "/api/users/updateSubscriptions", json={"email": "p2@example.com", "subscribedMessageTypeIds": [50]}
    )
    assert no_opt_in.status_code == 400
    assert no_opt_in.json()["code"] == "BadParams"
    assert no_opt_in.json()["params"] == {"field": "subscribedMessageTypeIds"}
    assert subs(us, "a@example.com") == {}  # nothing was written by any of the failures


def test_channel_alignment_is_validated_unless_disabled(us):
    # c@ is unsubscribed from channel 1; type 10 lives on channel 1.
    resp = us.post("/api/users/updateSubscriptions", json={"email": "c@example.com", "subscribedMessageTypeIds": [10]})
    assert resp.status_code == 400 and "unsubscribed channels" in resp.json()["msg"]
    ok = us.post(
        "/api/users/updateSubscriptions",
        json={"email": "c@example.com", "subscribedMessageTypeIds": [10], "validateChannelAlignment": False},
    )
    assert ok.status_code == 200
    assert subs(us, "c@example.com")["subscribedMessageTypeIds"] == [10]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "emailListIds": st.one_of(st.none(), st.lists(st.sampled_from([20, 22]), max_size=2)),
                "unsubscribedChannelIds": st.one_of(st.none(), st.lists(st.sampled_from([1, 2, 3]), max_size=3)),
                "unsubscribedMessageTypeIds": st.one_of(st.none(), st.lists(st.sampled_from([11, 12, 14]), max_size=3)),
            },
        ),
        min_size=1,
        max_size=4,
    )
)
def test_update_subscriptions_matches_the_overwrite_model(emulator, us, updates):
    emulator.reset()
    model: dict = {}
    for update in updates:
        assert us.post("/api/users/updateSubscriptions", json={"email": "a@example.com", **update}).ok
        for key, value in update.items():
            if value is not None:
                model[key] = list(dict.fromkeys(value))
    assert subs(us, "a@example.com") == model


# -- bulkUpdateSubscriptions -----------------------------------------------------------------------
def test_bulk_update_subscriptions_reports_per_row_failures_in_a_200(us, check_schema):
    resp = us.post(
        "/api/users/bulkUpdateSubscriptions",
        json={
            "updateSubscriptionsRequests": [
                {"email": "a@example.com", "subscribedMessageTypeIds": [10]},
                {"email": "bulk.new@example.com", "emailListIds": [20]},
                {"email": "bad@", "emailListIds": [20]},
                {"userId": "ghost", "emailListIds": [20]},
                {"email": "b@example.com", "unsubscribedMessageTypeIds": [4242]},
                {"userId": "uc", "emailListIds": [9999]},
                {"userId": "ub", "emailListIds": []},
            ]
        },
    )
    assert resp.status_code == 200
    body = resp.json()
    check_schema("BulkUpdateSubscriptionsResponse", body)
    assert body == {
        "successCount": 3,
        "failCount": 4,
        "invalidEmails": ["bad@"],
        "invalidUserIds": ["ghost"],
        "validEmailFailures": ["b@example.com"],
        "validUserIdFailures": ["uc"],
    }
    assert subs(us, "a@example.com") == {"subscribedMessageTypeIds": [10]}
    assert subs(us, "bulk.new@example.com") == {"emailListIds": [20]}
    assert subs(us, "b@example.com") == {"subscribedMessageTypeIds": [10, 13], "emailListIds": []}


def test_bulk_update_subscriptions_rejects_opt_in_writes_without_the_feature(us2):
    resp = us2.post(
        "/api/users/bulkUpdateSubscriptions",
        json={
            "updateSubscriptionsRequests": [
                {"email": "p2@example.com", "unsubscribedMessageTypeIds": [50]},
                {"email": "p2@example.com", "subscribedMessageTypeIds": []},
            ]
        },
    )
    assert resp.status_code == 400 and resp.json()["code"] == "BadParams"
    assert "unsubscribedMessageTypeIds" not in us2.user("p2@example.com")["dataFields"]


def test_bulk_update_subscriptions_body_errors_and_batch_limit(emulator, us):
    missing = us.post("/api/users/bulkUpdateSubscriptions", json={})
    assert missing.json()["params"] == {"obj.updateSubscriptionsRequests": [{"msg": "error.path.missing", "args": []}]}
    emulator.configure(batch_limits={"POST /api/users/bulkUpdateSubscriptions": 2})
    too_big = us.post(
        "/api/users/bulkUpdateSubscriptions",
        json={"updateSubscriptionsRequests": [{"email": f"u{i}@example.com", "emailListIds": [20]} for i in range(3)]},
    )
    assert too_big.status_code == 413 and too_big.json()["code"] == "BatchTooLarge"


# -- per-group subscriptions API -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("group", "gid", "key", "subscribed", "unsubscribed"),
    [
        ("emailList", 22, "emailListIds", [20, 22], [20]),
        ("messageType", 13, "subscribedMessageTypeIds", [10, 13], [10]),
        ("messageChannel", 3, "unsubscribedChannelIds", [], [3]),
    ],
)
def test_single_user_subscribe_and_unsubscribe(us, check_schema, group, gid, key, subscribed, unsubscribed):
    # b@ starts with emailListIds [20] and subscribedMessageTypeIds [10, 13].
    for path in (
        f"/api/subscriptions/{group}/{gid}/user/b@example.com",
        f"/api/subscriptions/{group}/{gid}/byUserId/ub",
    ):
        resp = us.delete(path)
        assert resp.status_code == 200, resp.text
        check_schema("IterableApiResponse", resp.json())
        assert subs(us, "b@example.com").get(key, []) == unsubscribed
        assert us.patch(path).status_code == 200
        assert subs(us, "b@example.com").get(key, []) == subscribed


def test_message_type_unsubscribe_then_subscribe_for_opt_out_type(us):
    path = "/api/subscriptions/messageType/11/user/a@example.com"
    assert us.delete(path).ok
    assert subs(us, "a@example.com") == {"unsubscribedMessageTypeIds": [11]}
    assert us.patch(path).ok
    # OptOut type: subscribing only removes the unsubscription; it is not an opt-in.
    assert subs(us, "a@example.com") == {"unsubscribedMessageTypeIds": []}


def test_group_names_are_case_insensitive_and_validated(us):
    assert us.patch("/api/subscriptions/EMAILLIST/22/user/a@example.com").ok
    assert us.patch("/api/subscriptions/nonsense/22/user/a@example.com").json()["code"] == "BadParams"
    assert us.patch("/api/subscriptions/emailList/999/user/a@example.com").json()["code"] == "BadParams"
    assert us.patch("/api/subscriptions/emailList/abc/user/a@example.com").json()["code"] == "BadParams"
    assert us.patch("/api/subscriptions/emailList/22/user/foo@").json()["code"] == "InvalidEmailAddressError"
    assert us.patch("/api/subscriptions/emailList/22/byUserId/ghost").json()["code"] == "UnknownUserIdError"


def test_subscriptions_api_switched_off_is_404_json(us2):
    for resp in (
        us2.patch("/api/subscriptions/emailList/55/user/p2@example.com"),
        us2.put("/api/subscriptions/emailList/55", params={"action": "subscribe"}, json={"users": []}),
    ):
        assert resp.status_code == 404
        assert resp.json()["msg"] == "Endpoint not found"
        assert resp.json()["code"] == "NotFound"


def test_bulk_subscription_action(us, check_schema):
    resp = us.put(
        "/api/subscriptions/emailList/22",
        params={"action": "subscribe"},
        json={"users": ["a@example.com", "new.bulk@example.com"], "usersByUserId": ["uc", "ghost"]},
    )
    assert resp.status_code == 202
    check_schema("IterableApiResponse", resp.json())
    assert resp.json()["params"] == {"notFoundUserIds": ["ghost"]}
    for email in ("a@example.com", "new.bulk@example.com", "c@example.com"):
        assert 22 in subs(us, email)["emailListIds"]
    unsub = us.put(
        "/api/subscriptions/messageChannel/2", params={"action": "unsubscribe"}, json={"usersByUserId": ["ua"]}
    )
    assert unsub.status_code == 202
    assert subs(us, "a@example.com")["unsubscribedChannelIds"] == [2]
    assert us.put("/api/subscriptions/emailList/22", params={"action": "maybe"}, json={}).json()["code"] == (
        "BadParams"
    )
    bad = us.put(
        "/api/subscriptions/emailList/22", params={"action": "subscribe"}, json={"users": ["ok@example.com", "foo@"]}
    )
    assert bad.json()["code"] == "InvalidEmailAddressError"
    assert us.get("/api/users/getByEmail", params={"email": "ok@example.com"}).json() == {}  # all or nothing


# -- lists -----------------------------------------------------------------------------------------
def test_get_lists(us, check_schema):
    body = us.get("/api/lists").json()
    check_schema("GetListsResponse", body)
    assert [(lst["id"], lst["listType"]) for lst in body["lists"]] == [
        (20, "Standard"),
        (21, "Dynamic"),
        (22, "Standard"),
    ]
    assert all(isinstance(lst["createdAt"], int) and lst["createdAt"] > 10**12 for lst in body["lists"])


def test_list_subscribe_and_unsubscribe(us, check_schema):
    resp = us.post(
        "/api/lists/subscribe",
        json={
            "listId": 22,
            "subscribers": [
                {"email": "a@example.com", "dataFields": {"src": "list"}},
                {"email": "list.new@example.com"},
                {"email": "bad@"},
                {"userId": "ub"},
                {"userId": "ghost"},
            ],
        },
    )
    assert resp.status_code == 200
    body = resp.json()
    check_schema("UserBulkUpdateListResponse", body)
    assert (body["successCount"], body["failCount"], body["invalidEmails"]) == (3, 2, ["bad@"])
    assert body["failedUpdates"]["notFoundUserIds"] == ["ghost"]
    assert subs(us, "a@example.com") == {"emailListIds": [22]}
    assert us.user("a@example.com")["dataFields"]["src"] == "list"
    assert subs(us, "b@example.com")["emailListIds"] == [20, 22]

    existing_only = us.post(
        "/api/lists/subscribe",
        json={"listId": 22, "updateExistingUsersOnly": True, "subscribers": [{"email": "nobody.yet@example.com"}]},
    )
    assert existing_only.json()["failedUpdates"]["notFoundEmails"] == ["nobody.yet@example.com"]

    out = us.post(
        "/api/lists/unsubscribe",
        json={
            "listId": 22,
            "channelUnsubscribe": True,
            "subscribers": [{"email": "a@example.com"}, {"email": "unknown@example.com"}],
        },
    )
    assert out.status_code == 200
    check_schema("UserBulkUpdateListResponse", out.json())
    assert (out.json()["successCount"], out.json()["failCount"]) == (1, 1)
    assert subs(us, "a@example.com") == {"emailListIds": [], "unsubscribedChannelIds": [1]}


def test_list_errors(us):
    assert us.post("/api/lists/subscribe", json={"listId": 999, "subscribers": []}).json()["code"] == "BadParams"
    dynamic = us.post("/api/lists/subscribe", json={"listId": 21, "subscribers": [{"email": "a@example.com"}]})
    assert dynamic.status_code == 400 and "Dynamic" in dynamic.json()["msg"]
    missing = us.post("/api/lists/unsubscribe", json={"listId": 20})
    assert missing.json()["params"] == {"obj.subscribers": [{"msg": "error.path.missing", "args": []}]}
