"""The users & roles page: admins only, every action a POST that says what happened, refusals in words."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from catalog.people.services import user_role

PEOPLE = reverse("catalog:people_list")


def _pages(pk: int) -> list[tuple[str, str]]:
    return [
        ("get", PEOPLE),
        ("post", PEOPLE),
        ("post", reverse("catalog:people_role", args=[pk])),
        ("post", reverse("catalog:people_deactivate", args=[pk])),
        ("post", reverse("catalog:people_reactivate", args=[pk])),
        ("post", reverse("catalog:people_password_link", args=[pk])),
    ]


@pytest.mark.parametrize("role", [None, "viewer", "marketing", "engineering"])
def test_every_other_role_gets_403_and_changes_nothing(client, user_in_role, role):
    target = user_in_role("viewer", username="target")
    client.force_login(user_in_role(role, username=f"someone-{role}"))
    for method, url in _pages(target.pk):
        data = {"email": "new@example.com", "role": "admin", f"u{target.pk}-role": "admin"}
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, url
    target.refresh_from_db()
    assert target.is_active and user_role(target) == "viewer"
    assert not User.objects.filter(username="new@example.com").exists()


def test_anonymous_goes_to_the_login_page(client, user_in_role):
    target = user_in_role("viewer", username="target")
    for method, url in _pages(target.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_admin_lists_people_with_their_role(admin_page, user_in_role):
    user_in_role("marketing", username="mia")
    response = admin_page.get(PEOPLE)
    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(r"mia</th>\s*<td data-label=\"Role\">Marketing", body)
    assert "admin-page</th>" not in body or "(you)" in body
    # The admin's own row has no Deactivate button.
    own = body.split("admin-page")[1].split("</tr>")[0]
    assert "Deactivate" not in own


def test_invite_shows_the_link_once(admin_page):
    response = admin_page.post(PEOPLE, {"email": "lee@example.com", "role": "engineering"})
    assert response.status_code == 200
    body = response.content.decode()
    link = re.search(r"<code>(http://testserver/welcome/[^<]+)</code>", body).group(1)
    assert "it will not be shown again" in body
    assert user_role(User.objects.get(username="lee@example.com")) == "engineering"
    assert response["Cache-Control"].startswith("max-age=0")
    listed = admin_page.get(PEOPLE).content.decode()
    assert link not in listed
    assert "Invited: no password yet" in listed.split("lee@example.com")[1].split("</tr>")[0]
    assert "Invited" not in listed.split("admin-page")[1].split("</tr>")[0]


def test_invite_with_bad_input_keeps_what_was_typed_and_says_why(admin_page, user_in_role):
    user_in_role("viewer", username="kim@example.com")
    response = admin_page.post(PEOPLE, {"email": "kim@example.com", "role": "marketing"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "already has an account" in body and 'value="kim@example.com"' in body
    response = admin_page.post(PEOPLE, {"email": "nope", "role": "marketing"})
    assert response.status_code == 400 and "Enter a valid email address" in response.content.decode()


def test_role_change_deactivate_reactivate_from_the_page(admin_page, user_in_role):
    kim = user_in_role("viewer", username="kim")
    response = admin_page.post(
        reverse("catalog:people_role", args=[kim.pk]), {f"u{kim.pk}-role": "marketing"}, follow=True
    )
    assert "kim is now marketing." in response.content.decode()
    assert user_role(kim) == "marketing"
    admin_page.post(reverse("catalog:people_deactivate", args=[kim.pk]))
    kim.refresh_from_db()
    assert not kim.is_active
    response = admin_page.get(PEOPLE)
    assert "Deactivated" in response.content.decode()
    admin_page.post(reverse("catalog:people_reactivate", args=[kim.pk]))
    kim.refresh_from_db()
    assert kim.is_active


def test_refusals_are_messages_not_errors(admin_page):
    me = admin_page.user
    response = admin_page.post(reverse("catalog:people_deactivate", args=[me.pk]), follow=True)
    assert "You cannot deactivate yourself" in response.content.decode()
    response = admin_page.post(reverse("catalog:people_role", args=[me.pk]), {f"u{me.pk}-role": "viewer"}, follow=True)
    assert "last active admin" in response.content.decode()
    response = admin_page.post(reverse("catalog:people_role", args=[me.pk]), {f"u{me.pk}-role": "owner"}, follow=True)
    assert "Pick one of the roles" in response.content.decode()
    me.refresh_from_db()
    assert me.is_active and user_role(me) == "admin"
    assert admin_page.post(reverse("catalog:people_role", args=[99999]), {}).status_code == 404


def test_a_new_password_link_from_the_page(admin_page, user_in_role):
    kim = user_in_role("viewer", username="kim")
    response = admin_page.post(reverse("catalog:people_password_link", args=[kim.pk]))
    assert response.status_code == 200
    assert re.search(r"<code>http://testserver/welcome/\w+/[\w-]+/</code>", response.content.decode())


def test_a_used_or_forged_link_says_so(db, client):
    response = client.get(reverse("catalog:people_set_password", args=["MQ", "nonsense"]))
    assert response.status_code == 200 and "This link no longer works" in response.content.decode()
