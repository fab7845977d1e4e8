"""Users & roles rules: invite, change role, deactivate and reactivate, each audited; never the last admin."""

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.urls import resolve, reverse

from catalog.models import AuditEvent
from catalog.people.services import (
    user_deactivate,
    user_invite,
    user_reactivate,
    user_role,
    user_role_change,
    user_set_password_link,
)


@pytest.fixture
def boss(user_in_role):
    return user_in_role("admin", username="boss")


def _events(user, action):
    return AuditEvent.objects.filter(object_type="user", object_id=str(user.pk), action=action)


def test_invite_makes_a_user_in_the_role_without_a_password_and_a_one_time_link(boss, client):
    invitation = user_invite(actor=boss, email="  New.Person@Example.com ", role="marketing")
    user = invitation.user
    assert (user.username, user.email, user_role(user), user.is_active) == (
        "new.person@example.com", "new.person@example.com", "marketing", True,
    )  # fmt: skip
    assert not user.has_usable_password()
    event = _events(user, "invite").get()
    assert event.actor == boss and event.changes == {"role": {"before": None, "after": "marketing"}}

    match = resolve(invitation.set_password_path)
    assert match.view_name == "catalog:people_set_password"
    assert default_token_generator.check_token(user, match.kwargs["token"])
    # The link works once: setting the password changes what the token was made from.
    page = client.get(invitation.set_password_path, follow=True)
    assert page.context["validlink"]
    form_url = page.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": "a long new password 42", "new_password2": "a long new password 42"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a long new password 42")
    assert not client.get(invitation.set_password_path, follow=True).context["validlink"]


@pytest.mark.parametrize(
    ("email", "role", "field"),
    [("not an address", "viewer", "email"), ("", "viewer", "email"), ("x@example.com", "owner", "role"),
     ("x@example.com", "", "role")],
)  # fmt: skip
def test_invite_refuses_bad_input_by_field(boss, email, role, field):
    with pytest.raises(ValidationError) as refused:
        user_invite(actor=boss, email=email, role=role)
    assert field in refused.value.message_dict
    assert not User.objects.exclude(pk=boss.pk).exists()


def test_invite_refuses_an_address_that_has_an_account_whatever_its_case(boss, user_in_role):
    user_in_role("viewer", username="kim@example.com")
    with pytest.raises(ValidationError, match="already has an account"):
        user_invite(actor=boss, email="KIM@example.com", role="admin")
    assert User.objects.filter(username__iexact="kim@example.com").count() == 1


def test_role_change_replaces_the_role_and_is_audited(boss, user_in_role):
    kim = user_in_role("viewer", username="kim")
    user_role_change(actor=boss, user=kim, role="engineering")
    assert user_role(kim) == "engineering"
    assert list(kim.groups.values_list("name", flat=True)) == ["engineering"]
    assert _events(kim, "role_change").get().changes == {"role": {"before": "viewer", "after": "engineering"}}
    kim = User.objects.get(pk=kim.pk)  # a fresh copy: permissions are cached per object
    assert kim.has_perm("catalog.run_sync") and not kim.has_perm("auth.change_user")
    user_role_change(actor=boss, user=kim, role="engineering")  # no change, no event
    assert _events(kim, "role_change").count() == 1


def test_the_last_admin_keeps_the_role(boss, user_in_role):
    with pytest.raises(ValidationError, match="last active admin"):
        user_role_change(actor=boss, user=boss, role="viewer")
    assert user_role(boss) == "admin"
    # With a second active admin, either may step down.
    second = user_in_role("admin", username="second")
    user_role_change(actor=second, user=boss, role="viewer")
    assert user_role(boss) == "viewer"
    with pytest.raises(ValidationError, match="last active admin"):
        user_role_change(actor=second, user=second, role="engineering")


def test_an_inactive_admin_does_not_count(boss, user_in_role):
    gone = user_in_role("admin", username="gone")
    user_deactivate(actor=boss, user=gone)
    with pytest.raises(ValidationError, match="last active admin"):
        user_role_change(actor=boss, user=boss, role="viewer")


def test_deactivate_stops_sign_in_and_tokens_keeps_the_row_and_is_audited(boss, user_in_role, client):
    from catalog.tokens.services import TokenError, api_token_authenticate, api_token_create

    kim = user_in_role("marketing", username="kim")
    _, raw = api_token_create(actor=kim, user=kim, name="script")
    user_deactivate(actor=boss, user=kim)
    kim.refresh_from_db()
    assert kim.is_active is False
    signed_in = client.post(reverse("login"), {"username": "kim", "password": "a long test password"})
    assert signed_in.status_code == 200 and "_auth_user_id" not in client.session
    with pytest.raises(TokenError):
        api_token_authenticate(raw)
    assert _events(kim, "deactivate").get().changes == {"active": {"before": True, "after": False}}

    user_reactivate(actor=boss, user=kim)
    kim.refresh_from_db()
    assert kim.is_active and user_role(kim) == "marketing"
    assert _events(kim, "reactivate").count() == 1


def test_an_admin_cannot_deactivate_themself(boss, user_in_role):
    user_in_role("admin", username="second")
    with pytest.raises(ValidationError, match="yourself"):
        user_deactivate(actor=boss, user=boss)
    boss.refresh_from_db()
    assert boss.is_active


def test_the_last_admin_cannot_be_deactivated(boss, user_in_role):
    # Only reachable by another actor than a person (a command, a script): a person would be deactivating themself.
    with pytest.raises(ValidationError, match="last active admin"):
        user_deactivate(actor="manage.py", user=boss)
    second = user_in_role("admin", username="second")
    user_deactivate(actor=second, user=boss)
    boss.refresh_from_db()
    assert not boss.is_active


def test_a_new_password_link_for_an_active_person_only(boss, user_in_role):
    kim = user_in_role("viewer", username="kim")
    path = user_set_password_link(actor=boss, user=kim)
    assert default_token_generator.check_token(kim, resolve(path).kwargs["token"])
    assert _events(kim, "password_link").count() == 1
    assert "token" not in str(_events(kim, "password_link").get().changes)
    user_deactivate(actor=boss, user=kim)
    with pytest.raises(ValidationError, match="Reactivate"):
        user_set_password_link(actor=boss, user=kim)
