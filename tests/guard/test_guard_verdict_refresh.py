"""Stored verdicts stay fresh when a message type changes: in the request for a few users, in a background
task for many, in bounded batches either way."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.guard import verdicts
from catalog.models import Notification


def _many_users(small_catalog, count: int) -> None:
    Notification.objects.bulk_create(
        Notification(
            key=f"many_{i}",
            name=f"Many {i}",
            audience="students",
            project=small_catalog.project,
            medium="Email",
            trigger_type="api_send",
            campaign_id=1000 + i,
            message_type=small_catalog.opt_in,
            status="active",
        )
        for i in range(count)
    )


def test_few_users_are_refreshed_in_the_request(small_catalog):
    small_catalog.opt_in.deprecated = True
    small_catalog.opt_in.save()
    assert "deprecated-message-type" in Notification.objects.get(key="weekly_digest").verdict_codes


def test_many_users_are_refreshed_in_a_task_after_commit(
    small_catalog, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(verdicts, "VERDICT_INLINE_LIMIT", 3)
    _many_users(small_catalog, 5)
    small_catalog.opt_in.deprecated = True
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        small_catalog.opt_in.save()
    assert len(callbacks) == 1
    assert "deprecated-message-type" not in Notification.objects.get(key="many_0").verdict_codes
    callbacks[0]()  # the queue runs tasks synchronously in the tests
    users = Notification.objects.filter(message_type=small_catalog.opt_in)
    assert all("deprecated-message-type" in n.verdict_codes for n in users)


def test_refresh_works_in_bounded_batches(small_catalog, monkeypatch):
    monkeypatch.setattr(verdicts, "VERDICT_BATCH", 4)
    _many_users(small_catalog, 10)
    with CaptureQueriesContext(connection) as queries:
        changed = verdicts.refresh_verdicts(Notification.objects.all())
    assert changed == 10  # the new rows had no stored verdict yet (no owner warning)
    longest = max(len(q["sql"]) for q in queries.captured_queries)
    # No statement holds every row: a batch of 4 ids, whatever the total.
    assert longest < 4000, longest
    assert all(n.verdict_warnings == 1 for n in Notification.objects.filter(key__startswith="many_"))


@pytest.mark.parametrize("model", ["messagetype", "channel", "template"])
def test_the_task_recomputes_the_users_of_each_kind(small_catalog, model):
    Notification.objects.filter(key="weekly_digest").update(verdict_codes=["stale"], verdict_errors=0)
    pk = {"messagetype": small_catalog.opt_in, "channel": small_catalog.marketing, "template": small_catalog.template}
    assert verdicts.verdicts_refresh_run(model, pk[model].pk) >= 1
    assert Notification.objects.get(key="weekly_digest").verdict_codes != ["stale"]


def test_home_and_list_cost_the_same_queries_with_more_flagged_notifications(small_catalog, user_in_role, client):
    from django.urls import reverse

    client.force_login(user_in_role("viewer"))

    def cost(url):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    # No owner: each has a warning, so each is listed on home. Both sizes fill more than the list's first page (a
    # list that fits on it is its own count: tests/perf/test_paging_counts.py).
    _many_users(small_catalog, 60)
    verdicts.refresh_verdicts(Notification.objects.all())
    few = {url: cost(url) for url in (reverse("catalog:home"), reverse("catalog:notification_list"))}
    Notification.objects.filter(key__startswith="many_").delete()
    _many_users(small_catalog, 150)
    verdicts.refresh_verdicts(Notification.objects.all())
    many = {url: cost(url) for url in few}
    assert many == few


def test_stored_verdicts_agree_with_the_verdict_read_one_notification_at_a_time(small_catalog):
    """The refresh builds its facts from plain rows; the pages judge one model instance at a time. Both must
    reach the same codes and counts for every shape the guard lets in: a draft, no owner, several templates
    (one without a type), a deprecated type, an Iterable-side finding."""
    from django.utils import timezone

    from catalog.models import FindingCategory, SyncFinding, SyncRun
    from tests.factories import NotificationFactory, TemplateFactory

    draft = NotificationFactory(
        key="draft_one", name="Draft", status="draft", message_type=small_catalog.transactional_type, campaign_id=None
    )
    untyped = TemplateFactory(message_type=None, project=small_catalog.project, iterable_id=503, name="No type")
    mixed = NotificationFactory(
        key="mixed", name="Mixed", message_type=small_catalog.opt_in, campaign_id=403,
        templates=[small_catalog.template, untyped],
    )  # fmt: skip
    small_catalog.opt_in.deprecated = True
    small_catalog.opt_in.save()
    run = SyncRun.objects.create(project=small_catalog.project, status="succeeded", started_at=timezone.now())
    SyncFinding.objects.create(
        run=run, project=small_catalog.project, notification=small_catalog.digest, category=FindingCategory.GUARD,
        code="iterable-forbidden-type", severity="error", iterable_id="501",
        message="Template 501 is on Marketing Message in Iterable.",
    )  # fmt: skip
    Notification.objects.update(verdict_codes=["stale"], verdict_errors=9, verdict_warnings=9)
    assert verdicts.refresh_verdicts(Notification.objects.all()) == 4
    judged = [small_catalog.digest, small_catalog.receipt, draft, mixed]
    for notification in Notification.objects.filter(pk__in=[n.pk for n in judged]):
        found = verdicts.notification_verdict(notification)
        assert notification.verdict_codes == sorted({v.code for v in found}), notification.key
        assert notification.verdict_errors == sum(v.is_error for v in found), notification.key
        assert notification.verdict_warnings == len(found) - notification.verdict_errors, notification.key
    assert Notification.objects.get(key="weekly_digest").verdict_errors == 1
    assert "deprecated-message-type" in Notification.objects.get(key="mixed").verdict_codes
