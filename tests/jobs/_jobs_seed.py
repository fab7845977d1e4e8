"""The jobs tests' Iterable seed and helpers (a uniquely named module: test files import it, never conftest)."""

from __future__ import annotations

from testkit.emulator_seeds import MARKETING_EMAIL, TRANSACTIONAL_EMAIL, emulator_project

KEY = "jobs-test-key-0000000000000000"
KEY_ENV = "ITERABLE_API_KEY_JOBS_TEST"
PROJECT_ID = 5151

CHANNELS = [MARKETING_EMAIL, TRANSACTIONAL_EMAIL]
MESSAGE_TYPES = [
    {"id": 11, "name": "GitLab Marketing", "channelId": 1, "subscriptionPolicy": "OptIn"},
    {"id": 13, "name": "Transactional", "channelId": 2, "subscriptionPolicy": "OptOut"},
]
LISTS = [
    {"id": 21, "name": "Beta testers", "channelId": 1},
    {"id": 22, "name": "Engaged last 30 days", "listType": "Dynamic"},
]
USERS = [
    {"email": "ada@example.com", "userId": "u-ada", "dataFields": {"firstName": "Ada", "plan": "free",
                                                                  "emailListIds": [21], "devices": [{"token": "t"}]}},
    {"email": "bob@example.com", "dataFields": {"firstName": "Bob", "unsubscribedChannelIds": [2]}},
]  # fmt: skip


def seed(users=USERS) -> dict:
    return emulator_project(project_id=PROJECT_ID, name="Jobs", key=KEY, channels=CHANNELS,
                            message_types=MESSAGE_TYPES, lists=LISTS, users=users)  # fmt: skip


def iterable_user(emulator, email: str) -> dict | None:
    with emulator.state.lock:
        user = emulator.state.projects[PROJECT_ID].get_user(email)
        return {**user, "dataFields": dict(user["dataFields"])} if user else None
