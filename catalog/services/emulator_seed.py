"""Builds the local Iterable emulator's seed from the demo catalog, so the demo's Iterable matches it.

The API keys come from the environment variables the demo projects name (dev.py makes them once per
machine); they are written only into the emulator's seed file, never into the database.
"""

import os
import random

from catalog import demo

CREATED_MS = 1_700_000_000_000


class SeedKeyMissing(Exception):
    """A demo project's API key variable is not set."""


def _contacts(project: str, channels: dict[str, int], types: dict[str, int], lists: list[dict]) -> list[dict]:
    """Demo contacts in every subscription state the lookup page explains, deterministic per project."""
    rng = random.Random(f"demo-contacts-{project}")
    prefix = "student" if project == demo.STUDENT else "employer"
    opt_in_types = [types[n] for n in ("GitLab Marketing", "Push Marketing") if n in types]
    users = []
    for email, user_id in demo.TEST_RECIPIENTS[project]:
        users.append(
            {
                "email": email,
                "userId": user_id,
                "dataFields": {"firstName": "QA", "subscribedMessageTypeIds": opt_in_types},
            }
        )
    for n in range(1, demo.DEMO_CONTACTS[project] + 1):
        fields: dict = {
            "firstName": rng.choice(["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara"]),
            "signupSource": rng.choice(["web", "ios", "android", "import"]),
            "signupDate": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 10:00:00 +00:00",
        }
        state = rng.random()
        if state < 0.3:
            pass  # never touched subscriptions: Iterable omits every subscription array
        elif state < 0.7:
            fields["subscribedMessageTypeIds"] = rng.sample(opt_in_types, k=rng.randint(1, len(opt_in_types)))
        elif state < 0.8:
            fields["unsubscribedChannelIds"] = [channels["Marketing Channel"]]
        elif state < 0.9:
            fields["unsubscribedMessageTypeIds"] = [types["Transactional"]]
            fields["subscribedMessageTypeIds"] = [types["GitLab Marketing"]]
        else:
            fields["subscribedMessageTypeIds"] = []
            fields["unsubscribedMessageTypeIds"] = [types["GitLab Marketing"]]
        if lists and rng.random() < 0.4:
            fields["emailListIds"] = [rng.choice(lists)["id"]]
        if project == demo.STUDENT and rng.random() < 0.5:
            fields["devices"] = [
                {
                    "token": f"demo-push-token-{n:04d}-{rng.getrandbits(64):016x}",
                    "platform": rng.choice(["APNS", "GCM"]),
                    "applicationName": "student-app",
                    "endpointEnabled": True,
                }
            ]
        users.append(
            {"email": f"{prefix}.{n:04d}@example.com", "userId": f"{prefix[:3]}-{n:04d}", "dataFields": fields}
        )
    return users


def emulator_seed_build() -> dict:
    """The emulator seed for the demo: the demo catalog as Iterable holds it, plus demo contacts."""
    projects = []
    for spec in demo.PROJECTS:
        name = spec["name"]
        key = os.environ.get(spec["api_key_env"])
        if not key:
            raise SeedKeyMissing(f"Set {spec['api_key_env']} to the demo API key for {name}.")
        schema = demo.SCHEMAS[name]
        channels = {c["name"]: c["iterable_id"] for c in schema["channels"]}
        types = {m["name"]: m["iterable_id"] for m in schema["message_types"]}
        templates = [
            {
                "templateId": t["iterable_id"],
                "name": t["name"],
                "messageTypeId": types[t["message_type"]],
                "messageMedium": t["medium"],
                "templateType": "Triggered" if t["campaign_id"] else "Workflow",
                **({"campaignId": t["campaign_id"]} if t["campaign_id"] else {}),
                "clientTemplateId": t["client_template_id"],
                "createdAt": CREATED_MS,
            }
            for t in demo.templates_for(name)
        ] + [
            {
                "templateId": t["templateId"],
                "name": t["name"],
                "messageTypeId": types[t["messageType"]],
                "messageMedium": t["messageMedium"],
                "templateType": t["templateType"],
                "createdAt": CREATED_MS,
            }
            for t in demo.FORBIDDEN_TEMPLATES[name]
        ]
        campaigns = [
            {
                "id": n["campaign_id"],
                "name": n["name"],
                "type": "Triggered",
                "campaignState": "Finished" if n["status"] == "deprecated" else "Running",
                "messageMedium": n["medium"],
                "templateId": n["templates"][0],
                "createdAt": CREATED_MS,
            }
            for n in demo.notifications_for(name)
            if n["campaign_id"]
        ]
        projects.append(
            {
                "id": spec["iterable_project_id"],
                "name": name,
                "data_center": spec["data_center"],
                "api_keys": [key],
                "features": {"opt_in_message_types": True, "subscriptions_api": name == demo.STUDENT},
                "channels": [
                    {
                        "id": c["iterable_id"],
                        "name": c["name"],
                        "channelType": c["channel_type"],
                        "messageMedium": c["medium"],
                    }
                    for c in schema["channels"]
                ],
                "message_types": [
                    {
                        "id": m["iterable_id"],
                        "name": m["name"],
                        "channelId": m["channel"],
                        "subscriptionPolicy": m["policy"],
                        "createdAt": CREATED_MS,
                    }
                    for m in schema["message_types"]
                ],
                "lists": [{**lst, "listType": "Standard", "createdAt": CREATED_MS} for lst in demo.LISTS[name]],
                "templates": templates,
                "campaigns": campaigns,
                "journeys": [
                    {
                        "id": j["iterable_id"],
                        "name": j["name"],
                        "enabled": j["state"] == "enabled",
                        "isArchived": j["state"] == "archived",
                        "triggerEventNames": j["trigger_event_names"],
                        "createdAt": CREATED_MS,
                    }
                    for j in demo.JOURNEYS[name]
                ],
                "users": _contacts(name, channels, types, demo.LISTS[name]),
            }
        )
    return {"projects": projects, "config": {"ineligible_send_mode": "skip"}}
