"""The resync tests' Iterable seed and helpers (a uniquely named module: test files import it, never conftest)."""

from __future__ import annotations

from testkit.emulator_seeds import MARKETING_EMAIL, TRANSACTIONAL_EMAIL, emulator_project

KEY = "resync-test-key-000000000000"
KEY_ENV = "ITERABLE_API_KEY_RESYNC_TEST"
PROJECT_ID = 4242

CHANNELS = [
    MARKETING_EMAIL,
    TRANSACTIONAL_EMAIL,
    {"id": 3, "name": "Marketing Push", "channelType": "Marketing", "messageMedium": "Push"},
]
MESSAGE_TYPES = [
    {"id": 11, "name": "Newsletter", "channelId": 1, "subscriptionPolicy": "OptIn"},
    {"id": 12, "name": "Product news", "channelId": 1, "subscriptionPolicy": "OptIn"},
    {"id": 13, "name": "Receipts", "channelId": 2, "subscriptionPolicy": "OptOut"},
    {"id": 14, "name": "Push promos", "channelId": 3, "subscriptionPolicy": "OptIn"},
]
LISTS = [{"id": 21, "name": "Beta"}, {"id": 22, "name": "Webinar"}, {"id": 23, "name": "Marketer's own list"}]


def seed(users=(), *, opt_in=True) -> dict:
    return emulator_project(project_id=PROJECT_ID, name="Resync", key=KEY, channels=CHANNELS,
                            message_types=MESSAGE_TYPES, lists=LISTS, users=users, opt_in=opt_in)  # fmt: skip


# Iterable's state before the resync: ids outside the source of truth's scope that must survive.
SEED_USERS = [
    {
        "email": "ada@example.com",
        "dataFields": {
            "unsubscribedChannelIds": [2],  # transactional: not managed by the truth
            "subscribedMessageTypeIds": [14],  # push promos: not managed
            "emailListIds": [23],  # a marketer's list: not managed
        },
    },
    {"email": "bob@example.com", "dataFields": {"subscribedMessageTypeIds": [11]}},
]
SEED = seed(SEED_USERS)


def iterable_user(emulator, email: str) -> dict:
    """A user's subscription arrays as the emulator holds them (missing arrays read as [])."""
    with emulator.state.lock:
        project = emulator.state.projects[PROJECT_ID]
        user = project.get_user(email)
        fields = dict(user["dataFields"]) if user else {}
    return {
        name: sorted(fields.get(name) or [])
        for name in ("unsubscribedChannelIds", "unsubscribedMessageTypeIds", "subscribedMessageTypeIds", "emailListIds")
    }
