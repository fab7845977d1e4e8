"""Every client method against the emulator over loopback: the success paths and their shapes."""

from types import SimpleNamespace

import pytest
from _client_seed import BIG_KEY, CAMPAIGN_COUNT, EU_KEY, JOURNEY_COUNT, OFF_KEY, TEMPLATE_COUNT, US_KEY

from catalog.iterable import IterableError, SubscriptionUpdate, clear_client_cache, client_for_project

# -- users ---------------------------------------------------------------------------------------------


def test_get_user_by_email(client):
    user = client.get_user_by_email("opted.in@example.com")
    assert user.email == "opted.in@example.com" and user.user_id == "u-1"
    assert user.data_fields["firstName"] == "Ada"
    assert user.subscribed_message_type_ids == [201, 204]
    assert user.email_list_ids == [301]
    assert user.unsubscribed_channel_ids == [] and user.unsubscribed_message_type_ids == []


def test_user_without_subscription_activity_reads_empty_arrays(client):
    user = client.get_user_by_email("bare@example.com")
    assert (user.email_list_ids, user.subscribed_message_type_ids) == ([], [])
    assert (user.unsubscribed_channel_ids, user.unsubscribed_message_type_ids) == ([], [])


def test_unknown_email_is_none(client, emulator):
    assert client.get_user_by_email("nobody@example.com") is None
    assert emulator.requests(path="GET /api/users/getByEmail")[0]["status"] == 200  # Iterable's 200 {}


def test_email_with_plus_survives(client):
    assert client.get_user_by_email("first+tag@example.com").unsubscribed_channel_ids == [101]


def test_get_user_by_id(client):
    assert client.get_user_by_id("u-2").email == "bare@example.com"


@pytest.mark.parametrize("mode", ["legacy_400", "empty"])
def test_unknown_user_id_is_none(client, emulator, mode):
    emulator.configure(unknown_user_id=mode)
    assert client.get_user_by_id("no-such-id") is None
    assert len(emulator.requests(path="GET /api/users/byUserId")) == 1  # a 400 is not retried


def test_update_user_merges_and_null_removes(client):
    assert client.update_user(email="bare@example.com", data_fields={"plan": "pro"})["code"] == "Success"
    assert client.get_user_by_email("bare@example.com").data_fields["plan"] == "pro"
    client.update_user(email="bare@example.com", data_fields={"plan": None})
    fields = client.get_user_by_email("bare@example.com").data_fields
    assert "plan" not in fields and fields["firstName"] == "Bob"


def test_bulk_update_users(client):
    result = client.bulk_update_users(
        [{"email": "new1@example.com", "dataFields": {"n": 1}}, {"email": "new2@example.com", "dataFields": {"n": 2}}]
    )
    assert result["successCount"] == 2 and result["failCount"] == 0
    assert client.get_user_by_email("new2@example.com").data_fields["n"] == 2


def test_update_subscriptions_overwrites_only_the_arrays_sent(client, emulator):
    client.update_subscriptions(email="opted.in@example.com", unsubscribed_channel_ids=[103])
    body = emulator.requests(path="POST /api/users/updateSubscriptions")[0]["body"]
    assert body == {"email": "opted.in@example.com", "unsubscribedChannelIds": [103]}  # None is omitted
    user = client.get_user_by_email("opted.in@example.com")
    assert user.unsubscribed_channel_ids == [103]
    assert user.subscribed_message_type_ids == [201, 204] and user.email_list_ids == [301]
    client.update_subscriptions(email="opted.in@example.com", subscribed_message_type_ids=[])  # [] clears
    user = client.get_user_by_email("opted.in@example.com")
    assert user.subscribed_message_type_ids == [] and user.unsubscribed_channel_ids == [103]


def test_bulk_update_subscriptions_reports_row_failures_inside_200(client):
    result = client.bulk_update_subscriptions(
        [
            SubscriptionUpdate(email="bare@example.com", unsubscribed_message_type_ids=[202]),
            {"email": "not-an-email@", "emailListIds": [301]},
        ]
    )
    assert result["successCount"] == 1 and result["failCount"] == 1
    assert result["invalidEmails"] == ["not-an-email@"]
    assert result["validEmailFailures"] == [] and result["invalidUserIds"] == []
    assert client.get_user_by_email("bare@example.com").unsubscribed_message_type_ids == [202]


def test_delete_user_by_email_and_by_id(client):
    client.delete_user("first+tag@example.com")
    assert client.get_user_by_email("first+tag@example.com") is None
    client.delete_user_by_id("u-2")
    assert client.get_user_by_id("u-2") is None


def test_get_sent_messages(client):
    client.email_target(501, recipient_email="opted.in@example.com")
    messages = client.get_sent_messages(email="opted.in@example.com", limit=5)
    assert [m["campaignId"] for m in messages] == [501]
    assert {"messageId", "templateId", "createdAt"} <= set(messages[0])
    assert client.get_sent_messages(user_id="u-1", campaign_ids=[502]) == []


# -- per-group subscriptions ---------------------------------------------------------------------------


def test_subscribe_and_unsubscribe_one_user(client):
    client.subscribe_user("emailList", 302, email="opted.in@example.com")
    client.unsubscribe_user("messageType", 204, user_id="u-1")
    user = client.get_user_by_email("opted.in@example.com")
    assert sorted(user.email_list_ids) == [301, 302]  # the other ids are untouched
    assert user.subscribed_message_type_ids == [201]
    client.unsubscribe_user("messageChannel", 101, email="opted.in@example.com")
    assert client.get_user_by_email("opted.in@example.com").unsubscribed_channel_ids == [101]


def test_bulk_subscription_action(client):
    client.bulk_subscription_action("emailList", 302, "subscribe", emails=["bare@example.com"], user_ids=["u-1"])
    assert 302 in client.get_user_by_email("bare@example.com").email_list_ids
    assert 302 in client.get_user_by_id("u-1").email_list_ids
    client.bulk_subscription_action("emailList", 302, "unsubscribe", emails=["bare@example.com"])
    assert 302 not in client.get_user_by_email("bare@example.com").email_list_ids


def test_subscriptions_api_switched_off_is_a_clear_not_found(make_client):
    client = make_client(OFF_KEY)
    with pytest.raises(IterableError) as exc:
        client.subscribe_user("messageType", 211, email="old@example.com")
    assert (exc.value.status, exc.value.code, exc.value.retryable) == (404, "NotFound", False)


def test_group_and_identity_are_checked_locally(client, emulator):
    with pytest.raises(ValueError):
        client.subscribe_user("lists", 1, email="a@example.com")
    with pytest.raises(ValueError):
        client.unsubscribe_user("emailList", 1, email="a@example.com", user_id="u-1")
    assert emulator.requests() == []


# -- lists, channels, message types ------------------------------------------------------------------


def test_lists(client):
    lists = client.get_lists()
    assert [(x["id"], x["name"]) for x in lists] == [(301, "Newsletter"), (302, "Trials")]
    result = client.subscribe_to_list(302, ["bare@example.com", {"userId": "u-1"}])
    assert result["successCount"] == 2
    assert 302 in client.get_user_by_email("bare@example.com").email_list_ids
    result = client.unsubscribe_from_list(302, ["bare@example.com"])
    assert result["successCount"] == 1
    assert 302 not in client.get_user_by_email("bare@example.com").email_list_ids


def test_channels(client):
    channels = {c["id"]: c for c in client.get_channels()}
    assert channels[101]["channelType"] == "Marketing" and channels[103]["messageMedium"] == "Push"


def test_message_types_missing_policy_reads_opt_out(client):
    types = {t["id"]: t for t in client.get_message_types()}
    assert types[201]["subscriptionPolicy"] == "OptIn"
    assert types[203]["subscriptionPolicy"] == "OptOut"
    assert types[201]["channelId"] == 101


# -- templates, campaigns, journeys (pagination) -------------------------------------------------------


def test_templates_page_and_filters(client):
    page = client.get_templates_page()
    assert [t["templateId"] for t in page.items] == [401, 402, 404]
    assert (page.page, page.page_size, page.total, page.has_next) == (1, 1000, 3, False)
    assert [t["templateId"] for t in client.iter_templates(message_medium="Push")] == [404]
    assert [t["templateId"] for t in client.iter_templates(template_type="Base")] == []


def test_template_walker_uses_max_page_size_and_minimal_calls(make_client, emulator):
    client = make_client(BIG_KEY)
    ids = [t["templateId"] for t in client.iter_templates()]
    assert len(ids) == TEMPLATE_COUNT == len(set(ids))
    calls = emulator.requests(path="GET /api/templates")
    assert [c["query"]["page"] for c in calls] == [["1"], ["2"]]
    assert {c["query"]["pageSize"][0] for c in calls} == {"1000"}


def test_campaign_walker_stops_on_a_full_last_page(make_client, emulator):
    client = make_client(BIG_KEY)
    assert len(list(client.iter_campaigns())) == CAMPAIGN_COUNT
    calls = emulator.requests(path="GET /api/campaigns")
    assert len(calls) == 1 and calls[0]["query"]["pageSize"] == ["1000"]


def test_journey_walker(make_client, emulator):
    client = make_client(BIG_KEY)
    journeys = list(client.iter_journeys())
    assert len(journeys) == JOURNEY_COUNT
    calls = emulator.requests(path="GET /api/journeys")
    assert len(calls) == 3 and {c["query"]["pageSize"][0] for c in calls} == {"50"}
    page = client.get_journeys_page(page=3)
    assert (len(page.items), page.total, page.has_next) == (1, JOURNEY_COUNT, False)


def test_campaigns_and_journeys_pages(client):
    campaigns = client.get_campaigns_page()
    assert {c["id"] for c in campaigns.items} == {501, 502, 503} and not campaigns.has_next
    journeys = client.get_journeys_page()
    assert journeys.items[0]["triggerEventNames"] == ["trialStarted"]


def test_campaign_by_id_carries_its_template(client):
    campaign = client.get_campaign(501)
    assert campaign["id"] == 501 and "templateId" in campaign and campaign["campaignState"]
    with pytest.raises(IterableError) as unknown:
        client.get_campaign(999_999)
    assert unknown.value.status == 404


def test_get_email_and_push_template(client):
    email = client.get_email_template(401)
    assert email["templateId"] == 401 and email["subject"] == "Your week" and email["messageTypeId"] == 201
    push = client.get_push_template(404)
    assert push["templateId"] == 404 and push["title"] == "New activity"


# -- sends and events ------------------------------------------------------------------------------------


def test_email_and_push_target(client, emulator):
    result = client.email_target(501, recipient_email="opted.in@example.com", data_fields={"week": 3})
    assert result["code"] == "Success" and "501" in result["msg"]
    client.push_target(503, recipient_user_id="u-1")
    sends = emulator.sends()
    assert [(s["campaignId"], s["email"]) for s in sends] == [
        (501, "opted.in@example.com"),
        (503, "opted.in@example.com"),
    ]


def test_template_proofs(client, emulator):
    assert client.email_template_proof(401, recipient_email="bare@example.com")["code"] == "Success"
    assert client.push_template_proof(404, recipient_user_id="u-1")["code"] == "Success"
    assert len(emulator.requests(path="POST /api/templates/email/proof")) == 1
    assert len(emulator.requests(path="POST /api/templates/push/proof")) == 1


def test_track_track_bulk_and_get_events(client):
    result = client.track("trialStarted", email="bare@example.com", data_fields={"plan": "trial"}, event_id="e-1")
    assert result["code"] == "Success"
    bulk = client.track_bulk(
        [{"eventName": "clicked", "userId": "u-2"}, {"eventName": "opened", "email": "bare@example.com"}]
    )
    assert bulk["successCount"] == 2
    names = [e.get("eventName") for e in client.get_events("bare@example.com", limit=10)]
    assert sorted(names) == ["clicked", "opened", "trialStarted"]
    assert len(client.get_events(user_id="u-2", limit=1)) == 1


def test_track_needs_an_event_name(client, emulator):
    with pytest.raises(ValueError):
        client.track("", email="bare@example.com")
    assert emulator.requests() == []


# -- data centres, the factory, and what goes on the wire --------------------------------------------------


def test_eu_project_on_the_eu_host(make_client):
    client = make_client(EU_KEY, data_center="EU")
    assert client.get_user_by_email("kunde@example.de").user_id == "eu-1"
    assert [c["id"] for c in client.get_channels()] == [121]


def test_client_for_project_against_the_emulator(emulator, monkeypatch):
    clear_client_cache()
    monkeypatch.setenv("ITERABLE_API_KEY_CLIENT_TEST", US_KEY)
    project = SimpleNamespace(
        pk=1, data_center="US", api_key_env="ITERABLE_API_KEY_CLIENT_TEST", api_base_url=emulator.us_url
    )
    client = client_for_project(project)
    assert client.base_url == emulator.us_url
    assert client.get_user_by_id("u-1").email == "opted.in@example.com"
    clear_client_cache()


def test_every_call_has_a_timeout_the_key_header_and_no_redirects(client, emulator):
    seen = []
    original = client._session.request

    def spy(method, url, **kwargs):
        seen.append((url, kwargs))
        return original(method, url, **kwargs)

    client._session.request = spy
    client.get_channels()
    client.update_user(email="bare@example.com", data_fields={"a": 1})
    client.email_target(501, recipient_email="opted.in@example.com")
    assert len(seen) == 3
    for url, kwargs in seen:
        assert kwargs["timeout"] == (1.0, 2.0) and kwargs["allow_redirects"] is False
        assert US_KEY not in url
    recorded = emulator.requests()
    assert all(r["api_key_present"] for r in recorded)
    assert all(US_KEY not in str(r["query"]) for r in recorded)


def test_counting_calls_counts_logical_calls_in_this_context_only(client):
    import threading

    from catalog.iterable.client import counting_calls

    with counting_calls() as calls:
        client.get_channels()
        templates = len(list(client.iter_templates(page_size=1)))
        other = threading.Thread(target=client.get_message_types)  # another thread: its own context
        other.start()
        other.join()
    client.get_channels()  # outside: not counted
    assert calls["GET /api/channels"] == 1
    assert templates >= 2 and calls["GET /api/templates"] in {templates, templates + 1}  # a page per template
    assert "GET /api/messageTypes" not in calls
