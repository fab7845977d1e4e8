"""Building blocks of the emulator seeds the slices' tests start Iterable with (tests/<slice>/_<slice>_seed.py
say which channels, message types, lists and people their project holds)."""

from __future__ import annotations

from collections.abc import Iterable

MARKETING_EMAIL = {"id": 1, "name": "Marketing Email", "channelType": "Marketing", "messageMedium": "Email"}
TRANSACTIONAL_EMAIL = {"id": 2, "name": "Transactional Email", "channelType": "Transactional", "messageMedium": "Email"}


def emulator_project(
    *,
    project_id: int,
    name: str,
    key: str,
    channels: list[dict],
    message_types: list[dict],
    lists: list[dict],
    users: Iterable[dict] = (),
    opt_in: bool = True,
) -> dict:
    """A seed holding one project (the subscriptions API off: the bulk endpoints are the ones used)."""
    return {
        "projects": [
            {
                "id": project_id,
                "name": name,
                "api_keys": [key],
                "features": {"opt_in_message_types": opt_in, "subscriptions_api": False},
                "channels": channels,
                "message_types": message_types,
                "lists": lists,
                "users": list(users),
            }
        ]
    }
