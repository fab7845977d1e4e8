"""The catalog's forms in people's words, without a browser: tags as text or one value per chip (never JSON typed
by hand), pickers limited to the project and medium, refusals in sentences, entity forms without JSON."""

import re

import pytest
from django.urls import reverse

from catalog.core.forms import NotificationForm, model_form_for
from catalog.core.widgets import split_tags
from catalog.models import Channel, IterableProject, Journey, MessageType, Notification, Owner, Template

EDIT = reverse("catalog:notification_edit", args=["weekly_digest"])


@pytest.fixture
def engineer(client_in_role):
    return client_in_role("engineering")


@pytest.fixture
def twin(small_catalog):
    project = IterableProject.objects.create(name="Twin", data_center="EU", api_key_env="ITERABLE_API_KEY_TWIN")
    channel = Channel.objects.create(
        project=project, iterable_id=1, name="Twin Channel", medium="Email", channel_type="Marketing"
    )
    twin_type = MessageType.objects.create(project=project, iterable_id=11, name="Twin Type", channel=channel)
    template = Template.objects.create(
        project=project, iterable_id=601, name="Twin Digest", medium="Email", message_type=twin_type
    )
    return type("Twin", (), {"project": project, "type": twin_type, "template": template})


def posted(c, **changes) -> dict:
    digest = c.digest
    data = {
        "key": digest.key, "name": digest.name, "description": "", "status": digest.status,
        "audience": digest.audience, "project": digest.project.pk, "medium": digest.medium,
        "message_type": c.opt_in.pk, "templates": [c.template.pk], "trigger_type": digest.trigger_type,
        "campaign_id": digest.campaign_id, "event": "", "journey": "", "owners": [c.owner.pk], "tags": "",
        "code_location": "",
    }  # fmt: skip
    return {**data, **changes}


@pytest.mark.parametrize(
    ("given", "tags"),
    [
        ("digest, students ,weekly", ["digest", "students", "weekly"]),
        (["digest", "students"], ["digest", "students"]),  # one value per chip
        (["a, b", "b", " c "], ["a", "b", "c"]),
        ("one\ntwo\r\nthree", ["one", "two", "three"]),
        ('["x", "y"]', ["x", "y"]),  # a JSON list (the admin's old field) reads as its tags
        ("", []),
        (" , ,", []),
    ],
)
def test_tags_are_text_or_chips(given, tags):
    assert split_tags(given) == tags


def test_tags_posted_without_javascript_as_text(small_catalog, engineer):
    response = engineer.post(EDIT, posted(small_catalog, tags="digest, students"))
    assert response.status_code == 302
    assert Notification.objects.get(key="weekly_digest").tags == ["digest", "students"]
    page = engineer.get(EDIT).content.decode()
    assert 'value="digest, students"' in page and "data-tag-input" in page
    assert "[&quot;" not in page and '["' not in page  # no JSON shown to anyone


def test_tags_posted_by_chips_and_all_removed(small_catalog, engineer):
    data = posted(small_catalog)
    data["tags"] = ["digest", "students"]
    assert engineer.post(EDIT, data).status_code == 302
    assert Notification.objects.get(key="weekly_digest").tags == ["digest", "students"]
    data.pop("tags")  # every chip removed: nothing is posted under the name
    assert engineer.post(EDIT, data).status_code == 302
    assert Notification.objects.get(key="weekly_digest").tags == []


@pytest.mark.parametrize(
    ("tags", "sentence"),
    [
        ("x" * 101, "is longer than 100 characters"),
        (",".join(f"t{i}" for i in range(51)), "At most 50 tags"),
        ("bad\x00tag", "cannot hold control characters"),
    ],
)
def test_bad_tags_are_refused_in_a_sentence_and_nothing_is_lost(small_catalog, engineer, tags, sentence):
    response = engineer.post(EDIT, posted(small_catalog, name="Renamed", tags=tags))
    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert 'value="Renamed"' in response.content.decode()  # what was typed is still there
    assert Notification.objects.get(key="weekly_digest").name == "Weekly digest"


def test_pickers_offer_the_projects_objects_of_the_medium(small_catalog, twin):
    Template.objects.create(
        project=small_catalog.project, iterable_id=503, name="Push nudge", medium="Push",
        message_type=small_catalog.opt_in,
    )  # fmt: skip
    form = NotificationForm(instance=small_catalog.digest)
    offered = {value.instance.name for value, _ in form.fields["templates"].choices if value}
    assert offered == {"Digest", "Old newsletter"}  # not Twin's, not the push one
    # A changed project (the page reloads its pickers with ?project=): that project's objects.
    form = NotificationForm(instance=small_catalog.digest, scope={"project": str(twin.project.pk)})
    offered = {value.instance.name for value, _ in form.fields["templates"].choices if value}
    assert offered == {"Twin Digest", "Digest"}  # Twin's, and the one still chosen
    types = {value.instance.name for value, _ in form.fields["message_type"].choices if value}
    assert types == {"Twin Type", "GitLab Marketing"}


def offered(html: str, name: str) -> dict[str, bool]:
    """A picker's options on a page: each one's words, and whether it is chosen."""
    found = re.findall(rf'(<input type="\w+" name="{name}" value="\d+"[^>]*>) <span class="picker-label">([^<]*)', html)
    return {words: " checked" in tag for tag, words in found}


def test_editing_a_notification_offers_every_owner_not_only_its_own(small_catalog, engineer):
    for name in ("Growth", "Platform", "Support"):
        Owner.objects.create(name=name, role="technical", email=f"{name.lower()}@example.com")
    everyone = {"Lifecycle Marketing", "Growth", "Platform", "Support"}
    new = offered(engineer.get(reverse("catalog:notification_create")).content.decode(), "owners")
    assert set(new) == everyone and not any(new.values())
    edit = offered(engineer.get(EDIT).content.decode(), "owners")
    assert set(edit) == everyone  # another owner can be added
    assert [name for name, chosen in edit.items() if chosen] == ["Lifecycle Marketing"]
    response = engineer.post(EDIT, posted(small_catalog, owners=list(Owner.objects.values_list("pk", flat=True))))
    assert response.status_code == 302
    assert set(Notification.objects.get(key="weekly_digest").owners.values_list("name", flat=True)) == everyone


def test_without_a_project_a_chosen_value_does_not_hide_the_others(small_catalog, twin):
    """A form posted back without its project and medium (the person cleared them) still offers every project's
    objects, the chosen ones among them."""
    data = {**posted(small_catalog), "key": "new_one", "project": "", "medium": ""}
    form = NotificationForm(data)
    templates = {value.instance.name for value, _ in form.fields["templates"].choices if value}
    assert templates == {"Digest", "Old newsletter", "Twin Digest"}
    types_form = model_form_for(MessageType, ["project", "iterable_id", "name", "channel", "policy"])(
        {"project": "", "iterable_id": 12, "name": "New", "channel": twin.type.channel_id, "policy": "OptIn"}
    )
    channels = {value.instance.name for value, _ in types_form.fields["channel"].choices if value}
    assert channels == set(Channel.objects.values_list("name", flat=True)) and len(channels) > 1


def test_the_page_reloads_a_projects_pickers(small_catalog, twin, engineer):
    page = engineer.get(EDIT, {"project": twin.project.pk, "medium": "Email", "templates": [twin.template.pk]})
    html = page.content.decode()
    pickers = html[html.index('id="project-pickers"') :]
    assert "Twin Digest" in pickers and "Twin Type" in pickers and "Old newsletter" not in pickers
    assert 'hx-get="/notifications/weekly_digest/edit/"' in html and 'hx-select="#project-pickers"' in html
    options = pickers.split('<li class="picker-option')[1:]
    chosen = next(o for o in options if "Twin Digest" in o)
    assert " checked" in chosen  # the value the page was given stays chosen


def test_a_template_of_another_project_is_refused_in_a_sentence(small_catalog, twin, engineer):
    response = engineer.post(EDIT, posted(small_catalog, templates=[twin.template.pk]))
    assert response.status_code == 400
    text = response.content.decode()
    assert "belongs to the Iterable project" in text and "Twin" in text
    assert "not one of the available choices" not in text


def test_a_template_of_another_medium_is_refused_in_a_sentence(small_catalog, engineer):
    push = Template.objects.create(
        project=small_catalog.project, iterable_id=503, name="Push nudge", medium="Push",
        message_type=small_catalog.opt_in,
    )  # fmt: skip
    response = engineer.post(EDIT, posted(small_catalog, templates=[push.pk]))
    assert response.status_code == 400
    assert "is a Push template; this notification is sent by Email" in response.content.decode()
    assert list(Notification.objects.get(key="weekly_digest").templates.all()) == [small_catalog.template]


def test_a_forbidden_type_is_greyed_out_with_its_reason_and_refused_if_forced(small_catalog, engineer):
    html = engineer.get(EDIT).content.decode()
    option = html[html.index("Marketing Message") - 400 : html.index("Marketing Message") + 600]
    assert "disabled" in option and "Not allowed" in option and "is-refused" in option
    response = engineer.post(EDIT, posted(small_catalog, message_type=small_catalog.marketing_message.pk))
    assert response.status_code == 400
    assert "Marketing Message" in response.content.decode()
    assert Notification.objects.get(key="weekly_digest").message_type == small_catalog.opt_in


def test_a_journeys_trigger_events_are_chips_not_json(small_catalog, engineer):
    form_class = model_form_for(Journey, ["project", "iterable_id", "name", "trigger_event_names", "state"])
    form = form_class(
        {
            "project": small_catalog.project.pk,
            "iterable_id": 9001,
            "name": "Onboarding",
            "state": "enabled",
            "trigger_event_names": "SaaS Trials, Signed up",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["trigger_event_names"] == ["SaaS Trials", "Signed up"]
    url = reverse("catalog:entity_create", args=["journey"])
    html = engineer.get(url).content.decode()
    assert "<textarea" not in html.split('id="field-trigger_event_names"')[1].split("</div>")[0]
    assert "data-tag-input" in html


def test_entity_pickers_are_the_projects(small_catalog, twin, engineer):
    url = reverse("catalog:entity_edit", args=["template", small_catalog.template.pk])
    html = engineer.get(url).content.decode()
    pickers = html[html.index('id="field-message_type"') :]
    assert "GitLab Marketing" in pickers and "Twin Type" not in pickers
    response = engineer.post(
        url,
        {
            "project": small_catalog.project.pk,
            "iterable_id": 501,
            "name": "Digest",
            "medium": "Email",
            "message_type": twin.type.pk,
            "campaign_id": 401,
            "client_template_id": "",
        },
    )
    assert response.status_code == 400
    assert Template.objects.get(pk=small_catalog.template.pk).message_type == small_catalog.opt_in


@pytest.mark.django_db
def test_the_admin_shows_a_notification_to_staff_who_may_only_view_it(small_catalog):
    """The admin leaves every field out of the form of a user who may only view: the form must not expect them."""
    from django.contrib.auth.models import Permission, User
    from django.test import Client

    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_notification"]))
    client = Client()
    client.force_login(viewer)
    digest = Notification.objects.get(key="weekly_digest")
    page = client.get(reverse("admin:catalog_notification_change", args=[digest.pk]))
    assert page.status_code == 200
    assert digest.name in page.content.decode() and 'name="message_type"' not in page.content.decode()
