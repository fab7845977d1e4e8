"""What the list page keeps between requests to stay cheap (the projects' last syncs, the navigation per set of
permissions) never shows a person something stale after a change made in this process."""

import re

from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from catalog import models

LIST = reverse("catalog:notification_list")


def _badges(body: str) -> set[str]:
    return set(re.findall(r'<span class="badge ([a-z-]+)"', body.split('id="notifications"')[1]))


def test_a_finished_sync_turns_not_checked_into_ok_at_once(small_catalog, client_in_role):
    client = client_in_role("viewer")
    assert "not-checked" in _badges(client.get(LIST).content.decode())  # kept now: no sync has succeeded
    now = timezone.now()
    run = models.SyncRun.objects.create(
        project=small_catalog.project, trigger="schedule", started_at=now, finished_at=now, status="succeeded"
    )
    body = client.get(LIST).content.decode()
    assert "not-checked" not in _badges(body) and "ok" in _badges(body)
    detail = client.get(reverse("catalog:notification_detail", kwargs={"key": "weekly_digest"})).content.decode()
    assert "Not checked in Iterable" not in detail
    run.delete()
    assert "not-checked" in _badges(client.get(LIST).content.decode())


def _nav_labels(body: str) -> set[str]:
    nav = re.search(r'<nav id="site-nav".*?</nav>', body, re.S).group(0)
    return set(re.findall(r"<li><a href=\"[^\"]+\"[^>]*>([^<]+)</a>", nav))


def test_the_navigation_follows_a_change_of_role_at_once(small_catalog, client, user_in_role):
    user = user_in_role("viewer", username="changing-role")
    client.force_login(user)
    assert "Import" not in _nav_labels(client.get(LIST).content.decode())
    user.groups.add(Group.objects.get(name="engineering"))
    assert "Import" in _nav_labels(client.get(LIST).content.decode())
    user.groups.clear()
    user.groups.add(Group.objects.get(name="viewer"))
    assert "Import" not in _nav_labels(client.get(LIST).content.decode())


def test_the_navigation_marks_the_page_it_is_on(small_catalog, client_in_role):
    client = client_in_role("engineering")

    def current(url: str) -> list[str]:
        body = client.get(url).content.decode()
        return re.findall(r'<a href="[^"]+" class="current" aria-current="page">([^<]+)</a>', body)

    assert current(LIST) == ["Notifications"]
    assert current(reverse("catalog:entity_list", kwargs={"entity": "channel"})) == ["Channels"]
    assert current(LIST) == ["Notifications"]  # the kept navigation of another page is not reused here
