"""The per-request journal behind atomic writes: whatever a request changed, rollback() puts back."""

from __future__ import annotations

import copy

from iterable_emulator.state import State

SEED = {
    "projects": [
        {
            "id": 1,
            "api_keys": ["k"],
            "users": [
                {"email": "a@example.com", "userId": "ua", "dataFields": {"plan": "free"}},
                {"email": "b@example.com", "userId": "ub"},
            ],
        }
    ]
}


def _view(project):
    return copy.deepcopy(project.users), dict(project.users_by_id), set(project.forgotten_emails)


def test_rollback_undoes_creates_deletes_id_moves_field_changes_and_forgets():
    project = State(SEED).projects[1]
    before = _view(project)
    project.begin()
    a = project.get_user("a@example.com")
    project.journal(a)
    a["dataFields"]["plan"] = "pro"
    project.set_user_id(a, "ua-2")  # moves an index key
    project.delete_user(project.get_user("b@example.com"))
    project.create_user("c@example.com", "ub")  # reuses the deleted user's id
    project.forgotten_emails.add("b@example.com")
    project.rollback()
    assert _view(project) == before
    assert project.get_user_by_id("ua")["dataFields"]["plan"] == "free"
    assert project.get_user_by_id("ub")["email"] == "b@example.com"


def test_commit_keeps_everything_and_ends_the_journal():
    project = State(SEED).projects[1]
    project.begin()
    project.create_user("c@example.com", "uc")
    project.commit()
    project.rollback()  # nothing open: a no-op
    assert project.get_user_by_id("uc")["email"] == "c@example.com"
