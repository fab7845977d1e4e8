"""The seed of the emulator contract tests: one US project with what every departure needs.

Distinctive ids so a test that reads the wrong row fails loudly. Catalog timestamps are epoch ms,
spread one day apart so the date-range filters have something to cut.
"""

from __future__ import annotations

KEY = "contract-us-key-7d1f"
PROJECT_ID = 8374
DAY_MS = 86_400_000
T0 = 1_650_000_000_000  # 2022-04-15 05:20:00 UTC

TEMPLATE_COUNT = 25  # more than the old default page of 20
CAMPAIGN_COUNT = 25

STATIC_LIST = 61
DYNAMIC_LIST = 62
OPT_IN_TYPE = 71
OPT_OUT_TYPE = 72
EMAIL_CAMPAIGN = 4000  # Triggered, Email, Running, template 3000
PUSH_CAMPAIGN = 4001  # Triggered, Push, Running, template 3001
BLAST_CAMPAIGN = 4002  # Blast, Email
LOCALE_TEMPLATE = 3000  # has an "fr" locale besides the default "en"

WEBHOOK = 91
WEBHOOK_OFF = 92

KNOWN = "ada@example.com"
KNOWN_ID = "ada-1"


def _template(i: int) -> dict:
    medium = "Push" if i == 1 else "Email"
    tpl = {
        "templateId": 3000 + i,
        "name": f"Template {i:02d}",
        "messageTypeId": OPT_OUT_TYPE,
        "messageMedium": medium,
        "templateType": "Triggered" if i < 2 else "Base",
        "createdAt": T0 + i * DAY_MS,
        "updatedAt": T0 + i * DAY_MS,
    }
    if i == 0:
        tpl.update(
            {
                "campaignId": EMAIL_CAMPAIGN,
                "subject": "Hello {{firstName}}",
                "html": "<p>Hi {{firstName}}, your plan is {{ plan }}.{{#if vip}} VIP!{{/if}}</p>",
                "plainText": "Hi {{firstName}}",
                "locale": "en",
                "locales": {"fr": {"subject": "Bonjour {{firstName}}", "html": "<p>Salut {{firstName}}</p>"}},
            }
        )
    if i == 1:
        tpl.update({"campaignId": PUSH_CAMPAIGN, "title": "Hi", "message": "Push for {{firstName}}"})
    return tpl


def _campaign(i: int) -> dict:
    camp = {
        "id": 4000 + i,
        "name": f"Campaign {i:02d}",
        "type": "Blast" if i == 2 else "Triggered",
        "campaignState": "Running",
        "messageMedium": "Push" if i == 1 else "Email",
        "templateId": 3000 + i,
        "createdAt": T0 + i * DAY_MS,
        "updatedAt": T0 + i * DAY_MS,
    }
    return camp


SEED = {
    "projects": [
        {
            "id": PROJECT_ID,
            "name": "Contract US",
            "data_center": "US",
            "api_keys": [KEY],
            "features": {"opt_in_message_types": True, "subscriptions_api": True},
            "channels": [
                {"id": 51, "name": "Marketing Email", "channelType": "Marketing", "messageMedium": "Email"},
                {"id": 52, "name": "Marketing Push", "channelType": "Marketing", "messageMedium": "Push"},
            ],
            "message_types": [
                {"id": OPT_IN_TYPE, "name": "News", "channelId": 51, "subscriptionPolicy": "OptIn"},
                {"id": OPT_OUT_TYPE, "name": "Account", "channelId": 51, "subscriptionPolicy": "OptOut"},
            ],
            "lists": [
                {"id": STATIC_LIST, "name": "Newsletter", "listType": "Standard"},
                {"id": DYNAMIC_LIST, "name": "Active last 30 days", "listType": "Dynamic"},
            ],
            "templates": [_template(i) for i in range(TEMPLATE_COUNT)],
            "campaigns": [_campaign(i) for i in range(CAMPAIGN_COUNT)],
            "users": [{"email": KNOWN, "userId": KNOWN_ID, "dataFields": {"firstName": "Ada"}}],
            "webhooks": [
                {"id": WEBHOOK, "endpoint": "https://hooks.example.com/iterable", "triggeredSendEnabled": True},
                {"id": WEBHOOK_OFF, "endpoint": "https://hooks.example.com/off", "enabled": False},
            ],
        }
    ]
}
