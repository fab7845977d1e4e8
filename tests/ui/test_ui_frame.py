"""The frame every page shares: grouped navigation showing each role only what it may open, a current-page
marker, and the error pages (400, 403 naming the role needed, 404, 500 without a database, CSRF) inside it."""

import re
from html import unescape

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from catalog.views import errors

ROLES = ["viewer", "marketing", "engineering", "admin"]


def _nav(body: str) -> str:
    return re.search(r'<nav id="site-nav".*?</nav>', body, re.S).group(0)


def _links(body: str) -> dict[str, str]:
    """label → href of every link in the main navigation."""
    found = re.findall(r'<li><a href="([^"]+)"[^>]*>([^<]+)</a>', _nav(body))
    return {unescape(label): unescape(href) for href, label in found}


def _current(body: str) -> list[str]:
    return [
        unescape(label)
        for label in re.findall(r'<a href="[^"]+" class="current" aria-current="page">([^<]+)</a>', _nav(body))
    ]


EXPECTED = {
    "viewer": {"Notifications", "Message types", "Channels", "Templates", "Journeys", "Events", "Owners", "Projects",
               "Iterable sync", "Activity", "API tokens", "API docs"},
    "marketing": {"Contact lookup", "Test sends"},
    "engineering": {"Import", "Resync"},
    "admin": {"Users & roles"},
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_the_links_it_may_open_and_each_opens(ui_catalog, client_in_role, role):
    client = client_in_role(role)
    links = _links(client.get(reverse("catalog:notification_list")).content.decode())
    wanted = set().union(*(EXPECTED[r] for r in ROLES[: ROLES.index(role) + 1]))
    # Pages other helpers are still building (seed jobs, live health) appear once their URL exists.
    assert set(links) - {"Seed jobs", "Live health"} == wanted
    for label, href in links.items():
        assert client.get(href).status_code == 200, label


def test_links_are_grouped(admin_page, ui_catalog):
    nav = _nav(admin_page.get(reverse("catalog:home")).content.decode())
    groups = re.findall(r'<span class="nav-group-label"[^>]*>([^<]+)</span>', nav)
    assert groups == ["Catalog", "Contacts", "Iterable", "Admin"]
    admin_group = nav.split(">Admin</span>")[1].split("</ul>")[0]
    assert [unescape(label) for label in re.findall(r">([^<]+)</a>", admin_group)] == [
        "Activity", "Users & roles", "API tokens", "API docs",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("url", "current"),
    [
        ("/notifications/", "Notifications"),
        ("/notifications/weekly_digest/", "Notifications"),
        ("/notifications/weekly_digest/edit/", "Notifications"),
        ("/notifications/weekly_digest/test-send/", "Notifications"),
        ("/channels/", "Channels"),
        ("CHANNEL", "Channels"),
        ("/events/", "Events"),
        ("/catalog/import/", "Import"),
        ("/test-sends/", "Test sends"),
        ("/test-recipients/", "Test sends"),
        ("/sync/findings/", "Iterable sync"),
        ("/people/", "Users & roles"),
        ("/api/tokens/", "API tokens"),
        ("/", None),
    ],
)
def test_the_current_page_is_marked_in_the_navigation(admin_page, ui_catalog, url, current):
    if url == "CHANNEL":
        url = reverse("catalog:entity_detail", kwargs={"entity": "channel", "pk": ui_catalog.marketing.pk})
    body = admin_page.get(url).content.decode()
    assert _current(body) == ([current] if current else [])
    group = re.search(r'<div class="nav-group current">\s*<span[^>]*>([^<]+)<', body)
    assert (group is not None) == (current is not None)
    assert ('class="brand" href="/" aria-current="page"' in body) == (url == "/")


def test_the_menu_button_and_script_are_there_for_signed_in_people(admin_page, client, db):
    body = admin_page.get(reverse("catalog:home")).content.decode()
    assert 'class="nav-toggle" aria-expanded="false" aria-controls="site-nav"' in body
    assert "/static/js/nav.js" in body
    login = Client().get(reverse("login")).content.decode()
    assert "nav-toggle" not in login and 'id="site-nav"' not in login


def test_403_names_the_role_the_page_needs(ui_catalog, client_in_role):
    client = client_in_role("viewer")
    response = client.get(reverse("catalog:contact_lookup"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "You may not open this page" in body
    assert "needs the <strong>marketing</strong> role" in body and "Your role is <strong>viewer</strong>" in body
    assert 'id="site-nav"' in body  # inside the normal frame
    response = client.get(reverse("catalog:people_list"))
    assert "needs the <strong>admin</strong> role" in response.content.decode()
    response = client.get(reverse("catalog:entity_edit", kwargs={"entity": "channel", "pk": ui_catalog.marketing.pk}))
    assert response.status_code == 403 and "needs the <strong>engineering</strong> role" in response.content.decode()


def test_403_for_someone_without_a_role(ui_catalog, client_in_role):
    body = client_in_role(None).get(reverse("catalog:notification_list")).content.decode()
    assert "needs the <strong>viewer</strong> role" in body and "You have no role yet" in body


def test_404_is_inside_the_frame(admin_page):
    response = admin_page.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "There is nothing here" in body and "<code>/no/such/page/</code>" in body and 'id="site-nav"' in body
    response = admin_page.get("/notifications/no_such_key/")
    assert response.status_code == 404 and "There is nothing here" in response.content.decode()


def test_500_needs_neither_the_database_nor_a_user(django_db_blocker):
    request = RequestFactory().get("/anything/")
    with django_db_blocker.block():
        response = errors.server_error(request)
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body and "/static/css/app.css" in body
    assert 'id="site-nav"' not in body


def test_400_for_a_foreign_host(db):
    response = Client().get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert "The request could not be understood" in response.content.decode()


def test_a_form_sent_without_its_csrf_token_explains_itself(user_in_role):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_in_role("admin"))
    response = client.post(reverse("catalog:people_list"), {"email": "x@example.com", "role": "viewer"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "This form expired" in body and "nothing was saved" in body and "/static/css/app.css" in body
    assert "Log out" in body  # in the frame, with the menu and who is signed in


def test_tokens_page_is_in_the_frame_without_inline_style(client_in_role, db):
    body = client_in_role("viewer").get(reverse("api:tokens")).content.decode()
    assert 'id="site-nav"' in body and "<style" not in body and " style=" not in body
    assert _current(body) == ["API tokens"]


def test_the_demo_lists_contacts_to_try_where_staff_type_one_in(client_in_role, db, settings):
    client = client_in_role("marketing")
    assert "Demo contacts to try" not in client.get(reverse("catalog:contact_lookup")).content.decode()
    settings.ITERABLE_EMULATOR_URL = "http://127.0.0.1:9"
    body = client.get(reverse("catalog:contact_lookup")).content.decode()
    assert "Demo contacts to try" in body
    assert "<code>qa.student@example.com</code>" in body and "a QA test recipient" in body
    # One seeded contact of each subscription state, said in words.
    for state in ["never chose any subscription", "subscribed to GitLab Marketing",
                  "unsubscribed from the channel Marketing Channel", "unsubscribed from GitLab Marketing"]:  # fmt: skip
        assert state in body, state
    assert "Ids" not in body.split("Demo contacts to try")[1].split("</details>")[0]
    assert "Demo contacts to try" in client.get(reverse("catalog:proof_send_list")).content.decode()
    assert "Demo contacts to try" not in client.get(reverse("catalog:notification_list")).content.decode()


def test_changing_ones_password_happens_inside_the_frame(client, user_in_role):
    user = user_in_role("viewer", username="vic")
    client.force_login(user)
    page = client.get(reverse("password_change")).content.decode()
    assert "Change your password" in page and 'id="site-nav"' in page and "Django administration" not in page
    new = "another long password 7"
    data = {"old_password": "wrong", "new_password1": new, "new_password2": new}
    refused = client.post(reverse("password_change"), data)
    assert refused.status_code == 200 and "has-error" in refused.content.decode()
    done = client.post(reverse("password_change"), {**data, "old_password": "a long test password"}, follow=True)
    assert "Password changed" in done.content.decode()
    user.refresh_from_db()
    assert user.check_password(new)
