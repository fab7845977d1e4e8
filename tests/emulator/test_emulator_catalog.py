"""Catalog reads: channels, message types, templates, campaigns, journeys, pagination."""

from __future__ import annotations

import pytest
import requests


def is_epoch_ms(value) -> bool:
    return isinstance(value, int) and value > 10**12


def test_channels(us, check_schema):
    body = us.get("/api/channels").json()
    check_schema("ChannelsResponse", body)
    assert body["channels"][0] == {
        "id": 1,
        "name": "Marketing Email",
        "channelType": "Marketing",
        "messageMedium": "Email",
    }


def test_message_types(us, check_schema):
    body = us.get("/api/messageTypes").json()
    types = {mt["id"]: mt for mt in body["messageTypes"]}
    assert types[10]["subscriptionPolicy"] == "OptIn" and types[11]["subscriptionPolicy"] == "OptOut"
    assert types[10]["channelId"] == 1
    assert is_epoch_ms(types[10]["createdAt"]) and is_epoch_ms(types[10]["updatedAt"])
    # Like old responses, a type seeded without a policy has none (clients treat it as OptOut).
    assert "subscriptionPolicy" not in types[14]
    check_schema("MessageTypesResponse", {"messageTypes": [t for t in body["messageTypes"] if t["id"] != 14]})


def test_templates_list_and_filters(us, check_schema):
    body = us.get("/api/templates", params={"page": 1, "pageSize": 20}).json()
    check_schema("GetTemplatesResponse", body)
    assert body["totalTemplatesCount"] == 6
    first = body["templates"][0]
    assert first == {
        "templateId": 30,
        "name": "Digest",
        "messageTypeId": 10,
        "campaignId": 40,
        "clientTemplateId": "digest",
        "createdAt": 1612300000000,
        "updatedAt": 1612300000000,
        "creatorUserId": first["creatorUserId"],
    }
    push = us.get("/api/templates", params={"messageMedium": "Push"}).json()
    assert [t["templateId"] for t in push["templates"]] == [33]
    base = us.get("/api/templates", params={"templateType": "Base", "messageMedium": "Email"}).json()
    assert [t["templateId"] for t in base["templates"]] == [34]
    desc = us.get("/api/templates", params={"sort": "-id"}).json()
    assert desc["templates"][0]["templateId"] == 35
    assert us.get("/api/templates", params={"templateType": "Nope"}).json()["code"] == "BadParams"
    assert us.get("/api/templates", params={"messageMedium": "Fax"}).json()["code"] == "BadParams"
    assert us.get("/api/templates", params={"sort": "colour"}).json()["code"] == "BadParams"


def test_templates_pagination(us2, check_schema):
    everything = us2.get("/api/templates").json()  # no page parameters: the spec's unpaginated form
    assert len(everything["templates"]) == 25 and "nextPageUrl" not in everything
    default = us2.get("/api/templates", params={"page": 1}).json()
    assert len(default["templates"]) == 20  # default pageSize
    assert default["totalTemplatesCount"] == 25
    assert "previousPageUrl" not in default
    nxt = requests.get(default["nextPageUrl"], headers={"Api-Key": us2.key}, timeout=5).json()
    check_schema("GetTemplatesResponse", nxt)
    assert [t["templateId"] for t in nxt["templates"]] == [1020, 1021, 1022, 1023, 1024]
    assert "nextPageUrl" not in nxt and "page=1" in nxt["previousPageUrl"]
    filtered = us2.get("/api/templates", params={"templateType": "Blast", "pageSize": 5, "page": 2}).json()
    assert filtered["totalTemplatesCount"] == 12
    assert "templateType=Blast" in filtered["nextPageUrl"]
    assert us2.get("/api/templates", params={"pageSize": 1000}).status_code == 200
    for bad in ({"pageSize": 1001}, {"pageSize": 0}, {"page": 0}, {"page": "x"}):
        resp = us2.get("/api/templates", params=bad)
        assert resp.status_code == 400 and resp.json()["code"] == "BadParams", bad


def test_email_template_get(us, check_schema):
    resp = us.get("/api/templates/email/get", params={"templateId": 30})
    assert resp.status_code == 200
    body = resp.json()
    check_schema("ApiEmailTemplateModel", body)
    assert body["templateId"] == 30 and body["subject"] == "Your digest" and body["messageTypeId"] == 10
    assert body["metadata"]["campaignId"] == 40 and is_epoch_ms(body["metadata"]["createdAt"])


def test_push_template_get(us, check_schema):
    body = us.get("/api/templates/push/get", params={"templateId": 33}).json()
    check_schema("ApiPushTemplateModel", body)
    assert (body["title"], body["message"], body["messageTypeId"]) == ("New reply", "Hi", 13)


@pytest.mark.parametrize(
    ("path", "template_id"),
    [("/api/templates/email/get", 42), ("/api/templates/email/get", 33), ("/api/templates/push/get", 30)],
)
def test_template_get_unknown_or_wrong_medium(us, path, template_id):
    resp = us.get(path, params={"templateId": template_id})
    assert resp.status_code == 400
    assert resp.json() == {
        "msg": f"Template ID: {template_id} does not exist for this project",
        "code": "BadParams",
        "params": None,
    }


def test_template_get_parameter_errors(us):
    assert us.get("/api/templates/email/get").json()["code"] == "BadParams"
    assert us.get("/api/templates/email/get", params={"templateId": "abc"}).json()["code"] == "BadParams"


def test_campaigns(us, us2, check_schema):
    body = us.get("/api/campaigns", params={"page": 1, "pageSize": 50}).json()
    check_schema("CampaignsResponse", body)
    assert body["totalCampaignsCount"] == 7
    first = body["campaigns"][0]
    assert (first["id"], first["type"], first["campaignState"], first["templateId"]) == (40, "Triggered", "Running", 30)
    assert is_epoch_ms(first["createdAt"])
    paged = us2.get("/api/campaigns", params={"page": 1}).json()
    assert len(paged["campaigns"]) == 20 and paged["totalCampaignsCount"] == 25
    assert len(us2.get("/api/campaigns").json()["campaigns"]) == 25
    running = us2.get("/api/campaigns", params={"campaignState": ["Running"], "pageSize": 100}).json()
    assert running["totalCampaignsCount"] == 13
    assert {c["campaignState"] for c in running["campaigns"]} == {"Running"}
    assert us2.get("/api/campaigns", params={"pageSize": 1000}).ok
    assert us2.get("/api/campaigns", params={"pageSize": 1001}).json()["code"] == "BadParams"


def test_journeys(us, us2, check_schema):
    body = us2.get("/api/journeys").json()
    check_schema("GetJourneysResponse", body)
    assert len(body["journeys"]) == 10  # default page size
    assert body["totalJourneysCount"] == 12  # archived ones are hidden by default
    assert all(not j["isArchived"] for j in body["journeys"])
    second = us2.get("/api/journeys", params={"page": 2}).json()
    assert [j["id"] for j in second["journeys"]] == [3010, 3011]
    archived = us2.get("/api/journeys", params={"state": "Archived"}).json()
    assert [j["id"] for j in archived["journeys"]] == [3012, 3013, 3014]
    assert us2.get("/api/journeys", params={"pageSize": 50}).ok
    too_big = us2.get("/api/journeys", params={"pageSize": 51})
    assert too_big.status_code == 400 and too_big.json()["code"] == "BadParams"
    journey = us.get("/api/journeys").json()["journeys"][0]
    assert journey["triggerEventNames"] == ["signedUp"] and journey["enabled"] is True
    assert is_epoch_ms(journey["createdAt"])
