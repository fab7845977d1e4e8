"""The catalog pages: search, filters, sorting, detail, forms with the guard's errors, query counts."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import AuditEvent, MessageType, Notification, Template

LIST = reverse("catalog:notification_list")


@pytest.fixture
def viewer(client_in_role):
    return client_in_role("viewer")


@pytest.fixture
def engineer(client_in_role):
    return client_in_role("engineering")


def listed_keys(response) -> list[str]:
    return [n.key for n in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "digest"}, ["weekly_digest"]),
        ({"q": "Weekly"}, ["weekly_digest"]),
        ({"q": "501"}, ["weekly_digest"]),  # template id
        ({"q": "402"}, ["receipt"]),  # campaign id
        ({"q": "SaaS Trials"}, ["trial_onboarding"]),  # event name
        ({"q": "Lifecycle"}, ["trial_onboarding", "weekly_digest"]),  # owner
        ({"q": "nothing like this"}, []),
        ({"status": "active", "audience": "employers"}, ["receipt", "trial_onboarding"]),
        ({"trigger_type": "custom_event"}, ["trial_onboarding"]),
        ({"policy": "OptOut"}, ["receipt"]),
        ({"has_violations": "true"}, ["receipt"]),  # no owner
        ({"has_violations": "false"}, ["trial_onboarding", "weekly_digest"]),
        ({"ordering": "-key"}, ["weekly_digest", "trial_onboarding", "receipt"]),
        ({"ordering": "audience"}, ["receipt", "trial_onboarding", "weekly_digest"]),
    ],
)
def test_list_searches_filters_and_sorts(ui_catalog, viewer, query, expected):
    response = viewer.get(LIST, query)
    assert response.status_code == 200
    keys = listed_keys(response)
    assert keys == expected if "ordering" in query else sorted(keys) == expected


def test_list_filters_by_related_objects(ui_catalog, viewer):
    c = ui_catalog
    assert sorted(listed_keys(viewer.get(LIST, {"owner": c.owner.pk}))) == ["trial_onboarding", "weekly_digest"]
    assert listed_keys(viewer.get(LIST, {"channel": c.transactional.pk})) == ["receipt"]
    assert listed_keys(viewer.get(LIST, {"message_type": c.transactional_type.pk})) == ["receipt"]
    assert len(listed_keys(viewer.get(LIST, {"project": c.project.pk}))) == 3


def test_bad_filter_values_are_reported_not_a_500(ui_catalog, viewer):
    response = viewer.get(LIST, {"project": "999999", "status": "nope", "page": "abc", "ordering": "bogus"})
    assert response.status_code == 200
    assert b"were not understood" in response.content


def make_notifications(catalog, count: int) -> None:
    """`count` notifications with an owner and a template each, written in bulk (the guard still runs)."""
    objs = Notification.objects.bulk_create(
        Notification(
            key=f"bulk_{i:05d}",
            name=f"Bulk {i}",
            audience="students",
            project=catalog.project,
            medium="Email",
            trigger_type="api_send",
            campaign_id=10_000 + i,
            message_type=catalog.opt_in,
            status="active",
        )
        for i in range(count)
    )
    Notification.owners.through.objects.bulk_create(
        Notification.owners.through(notification=n, owner=catalog.owner) for n in objs
    )
    Notification.templates.through.objects.bulk_create(
        Notification.templates.through(notification=n, template=catalog.template) for n in objs
    )


def queries_for(client, url, params=None) -> int:
    """On a warm request: the first fills the cached filter choices and pushes the session's expiry back."""
    client.get(url, params or {})
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured)


def test_list_and_pages_cost_the_same_at_5_and_200_notifications(ui_catalog, viewer, django_assert_max_num_queries):
    make_notifications(ui_catalog, 2)  # 5 in all
    urls = [
        (LIST, None),
        (LIST, {"q": "bulk", "ordering": "-updated"}),
        (LIST, {"owner": ui_catalog.owner.pk, "has_violations": "false"}),
        (reverse("catalog:home"), None),
        (reverse("catalog:entity_detail", kwargs={"entity": "messagetype", "pk": ui_catalog.opt_in.pk}), None),
        (reverse("catalog:entity_detail", kwargs={"entity": "owner", "pk": ui_catalog.owner.pk}), None),
    ]
    small = [queries_for(viewer, url, params) for url, params in urls]
    make_notifications_more = 195
    Notification.objects.filter(key__startswith="bulk_").delete()
    make_notifications(ui_catalog, 2 + make_notifications_more)
    assert Notification.objects.count() == 200
    large = [queries_for(viewer, url, params) for url, params in urls]
    # A list whose first page holds it all is its own count; past a page, one capped count, whatever the rows
    # (tests/perf/test_paging_counts.py).
    assert all(abs(big - few) <= 1 for few, big in zip(small, large, strict=True)), (small, large)
    with django_assert_max_num_queries(10):
        viewer.get(LIST)


def test_detail_shows_everything_the_catalog_knows(ui_catalog, viewer, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        response = viewer.get(reverse("catalog:notification_detail", kwargs={"key": "trial_onboarding"}))
    page = response.content.decode()
    assert "https://app.iterable.com/workflows/7001/edit" in page
    assert "Lifecycle Marketing" in page and "lifecycle@example.com" in page
    assert "Opt-in: only people who explicitly subscribed" in page
    assert "companyNamespace" in page and "&quot;companyNamespace&quot;: true" in page
    assert "&quot;employees&quot;: 42" in page
    # No sync has read Iterable yet: the verdict says so instead of "ok".
    assert "Not checked in Iterable yet" in page and "No violations or warnings" not in page
    assert '<h2 id="history">History</h2>' in page

    page = viewer.get(reverse("catalog:notification_detail", kwargs={"key": "weekly_digest"})).content.decode()
    assert "https://app.iterable.com/templates/editor?templateId=501" in page
    assert "https://app.iterable.com/campaigns/401" in page


def test_detail_links_to_the_eu_app_for_eu_projects(ui_catalog, viewer):
    ui_catalog.project.data_center = "EU"
    ui_catalog.project.save()
    page = viewer.get(reverse("catalog:notification_detail", kwargs={"key": "weekly_digest"})).content.decode()
    assert "https://app.eu.iterable.com/campaigns/401" in page


def test_detail_shows_the_guards_warnings(ui_catalog, viewer):
    page = viewer.get(reverse("catalog:notification_detail", kwargs={"key": "receipt"})).content.decode()
    assert "No owner:" in page and "has no owner" in page and "no-owner" not in page  # words, not codes


def test_unknown_notification_is_404(ui_catalog, viewer):
    assert viewer.get(reverse("catalog:notification_detail", kwargs={"key": "nope"})).status_code == 404


def test_message_type_page_shows_its_impact_and_the_guard(ui_catalog, viewer):
    url = reverse("catalog:entity_detail", kwargs={"entity": "messagetype", "pk": ui_catalog.opt_in.pk})
    response = viewer.get(url)
    assert sorted(n.key for n in response.context["users"]) == ["trial_onboarding", "weekly_digest"]
    assert b"Notifications may use this type." in response.content
    url = reverse("catalog:entity_detail", kwargs={"entity": "messagetype", "pk": ui_catalog.marketing_message.pk})
    page = viewer.get(url).content.decode()
    assert "The “Marketing Message” type:" in page and "Opt-out type on a Marketing channel:" in page
    assert "marketing-message-type" not in page and "optout-marketing" not in page


def test_event_page_shows_schema_payload_and_journeys(ui_catalog, viewer):
    url = reverse("catalog:entity_detail", kwargs={"entity": "customevent", "pk": ui_catalog.event.pk})
    page = viewer.get(url).content.decode()
    assert "&quot;companyNamespace&quot;: true" in page
    assert "Trial onboarding" in page


def notification_data(catalog, **changes):
    data = {
        "key": "new_digest",
        "name": "New digest",
        "description": "",
        "audience": "students",
        "project": catalog.project.pk,
        "medium": "Email",
        "trigger_type": "api_send",
        "campaign_id": "999",
        "templates": [catalog.template.pk],
        "message_type": catalog.opt_in.pk,
        "owners": [catalog.owner.pk],
        "status": "active",
        "tags": '["weekly"]',
        "code_location": "app/mailers/digest.rb",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_create_a_notification_is_saved_and_audited(ui_catalog, engineer):
    response = engineer.post(reverse("catalog:notification_create"), notification_data(ui_catalog))
    assert response.status_code == 302
    created = Notification.objects.get(key="new_digest")
    assert list(created.owners.all()) == [ui_catalog.owner]
    event = AuditEvent.objects.get(object_type="notification", object_id=str(created.pk))
    assert (event.action, event.actor_label) == ("create", "engineering-user")
    assert event.changes["name"] == {"before": None, "after": "New digest"}


def test_edit_shows_the_guards_error_beside_the_message_type(ui_catalog, engineer):
    url = reverse("catalog:notification_edit", kwargs={"key": "weekly_digest"})
    data = notification_data(ui_catalog, key="weekly_digest", message_type=ui_catalog.marketing_message.pk)
    response = engineer.post(url, data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any("Marketing Message" in e for e in errors["message_type"])
    page = response.content.decode()
    assert 'id="field-message_type"' in page and "Nothing was saved" in page
    assert Notification.objects.get(key="weekly_digest").message_type == ui_catalog.opt_in


def test_edit_refuses_a_forbidden_template_beside_the_templates_field(ui_catalog, engineer):
    url = reverse("catalog:notification_edit", kwargs={"key": "weekly_digest"})
    data = notification_data(ui_catalog, key="weekly_digest", templates=[ui_catalog.forbidden_template.pk])
    response = engineer.post(url, data)
    assert response.status_code == 400
    assert response.context["form"].errors["templates"]
    assert list(Notification.objects.get(key="weekly_digest").templates.all()) == [ui_catalog.template]


def test_edit_records_before_and_after(ui_catalog, engineer):
    url = reverse("catalog:notification_edit", kwargs={"key": "weekly_digest"})
    response = engineer.post(url, notification_data(ui_catalog, key="weekly_digest", name="Weekly digest v2"))
    assert response.status_code == 302
    event = AuditEvent.objects.filter(object_type="notification", action="update").first()
    assert event.changes["name"] == {"before": "Weekly digest", "after": "Weekly digest v2"}
    page = engineer.get(reverse("catalog:notification_detail", kwargs={"key": "weekly_digest"})).content.decode()
    assert "Weekly digest v2" in page


def test_changing_a_used_message_type_to_opt_out_is_refused_beside_the_policy(ui_catalog, engineer):
    t = ui_catalog.opt_in
    url = reverse("catalog:entity_edit", kwargs={"entity": "messagetype", "pk": t.pk})
    data = {"project": t.project_id, "iterable_id": t.iterable_id, "name": t.name, "channel": t.channel_id}
    response = engineer.post(url, {**data, "policy": "OptOut", "notes": ""})
    assert response.status_code == 400
    assert any("weekly_digest" in e for e in response.context["form"].errors["policy"])
    assert MessageType.objects.get(pk=t.pk).policy == "OptIn"


def test_entity_create_edit_and_delete(ui_catalog, engineer):
    create = reverse("catalog:entity_create", kwargs={"entity": "owner"})
    data = {"name": "Growth", "role": "technical", "email": "growth@example.com", "slack_channel": "#growth"}
    response = engineer.post(create, data)
    assert response.status_code == 302
    assert AuditEvent.objects.filter(object_type="owner", action="create", object_repr__startswith="Growth").exists()
    bad = engineer.post(create, {**data, "email": "not an email"})
    assert bad.status_code == 400 and "email" in bad.context["form"].errors


def test_deleting_something_in_use_is_refused_with_a_message(ui_catalog, engineer):
    url = reverse("catalog:entity_delete", kwargs={"entity": "messagetype", "pk": ui_catalog.opt_in.pk})
    response = engineer.post(url, follow=True)
    assert response.status_code == 200
    assert b"is still used and was not deleted" in response.content
    assert MessageType.objects.filter(pk=ui_catalog.opt_in.pk).exists()


def test_deleting_a_notification_is_audited(ui_catalog, engineer):
    response = engineer.post(reverse("catalog:notification_delete", kwargs={"key": "receipt"}))
    assert response.status_code == 302
    assert not Notification.objects.filter(key="receipt").exists()
    assert AuditEvent.objects.filter(object_type="notification", action="delete", object_repr="receipt").exists()


def test_csv_export_follows_the_filters(ui_catalog, viewer):
    response = viewer.get(reverse("catalog:notification_csv"), {"audience": "employers", "ordering": "key"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert [r["key"] for r in rows] == ["receipt", "trial_onboarding"]
    assert rows[0]["warnings"] == "1" and rows[0]["violation_codes"] == "no-owner"


def test_template_page_links_to_iterable(ui_catalog, viewer):
    url = reverse("catalog:entity_detail", kwargs={"entity": "template", "pk": ui_catalog.template.pk})
    assert b"https://app.iterable.com/templates/editor?templateId=501" in viewer.get(url).content
    assert Template.objects.count() == 2


def test_every_page_of_the_demo_catalog_renders(db, client_in_role):
    from django.core.management import call_command

    from catalog import models
    from catalog.core.views import ENTITIES

    call_command("seed_demo")
    client = client_in_role("engineering")
    for key in Notification.objects.values_list("key", flat=True):
        for name in ("notification_detail", "notification_edit"):
            assert client.get(reverse(f"catalog:{name}", kwargs={"key": key})).status_code == 200, key
    for entity in ENTITIES.values():
        for pk in entity.model.objects.values_list("pk", flat=True):
            url = reverse("catalog:entity_detail", kwargs={"entity": entity.name, "pk": pk})
            assert client.get(url).status_code == 200, url
    assert models.Journey.objects.exists()


def test_list_header_links_sort_and_say_how_the_list_is_sorted(ui_catalog, viewer):
    page = viewer.get(LIST, {"audience": "employers", "ordering": "name", "page": "1"}).content.decode()
    name = '<th scope="col" aria-sort="ascending"><a href="?audience=employers&amp;ordering=-name">Name</a></th>'
    assert name in page
    assert '<th scope="col" aria-sort="none"><a href="?audience=employers&amp;ordering=key">Key</a></th>' in page
    assert '<th scope="col">Owners</th>' in page
    page = viewer.get(LIST, {"ordering": "-name"}).content.decode()
    assert '<th scope="col" aria-sort="descending"><a href="?ordering=name">Name</a></th>' in page


def test_list_rows_escape_what_people_typed(ui_catalog, viewer):
    Notification.objects.filter(key="receipt").update(name='<script>alert("x")</script> & co')
    page = viewer.get(LIST).content.decode()
    assert '/notifications/receipt/">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</a></th>' in page
    assert "<script>alert" not in page
