"""A test send's data fields are typed inputs, one per field of the event's schema (objects as sub-fields,
arrays as repeatable rows), prefilled with each field's example and checked where they are typed."""

import re

import pytest
from django.urls import reverse

from catalog.models import EventField
from catalog.sends.forms import ProofSendForm

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def rich(sends):
    """The welcome notification's event with a field of every shape."""
    event = sends.welcome.event
    rows = [
        ("seats", "Long", "12"),
        ("price", "Double", "9.5"),
        ("contactEmail", "String", "ops@example.com"),
        ("homepage", "String", "https://example.com"),
        ("trialEndsAt", "Date", "2024-03-01 10:30:00 +00:00"),
        ("address", "Object", '{"city": "Oslo", "zip": 1234, "geo": {"lat": 59.9}}'),
        ("tags", "Array", '["blue", "green"]'),
        ("jobs", "Array", '[{"title": "Developer", "remote": true}]'),
        ("extras", "Object", ""),
    ]
    for i, (name, data_type, example) in enumerate(rows, start=100):
        EventField.objects.create(event=event, name=name, data_type=data_type, example=example, position=i)
    return sends


def form_page(client, notification):
    return client.get(reverse("catalog:proof_send", args=[notification.key])).content.decode()


def test_each_type_gets_its_input_prefilled_with_the_example(rich, client):
    client.force_login(rich.mia)
    page = form_page(client, rich.welcome)
    assert re.search(r'<input type="number" name="df_seats" value="12"', page)
    assert re.search(r'<input type="number" name="df_price" value="9.5" step="any"', page)
    assert re.search(r'<input type="email" name="df_contactEmail" value="ops@example.com"', page)
    assert re.search(r'<input type="url" name="df_homepage" value="https://example.com"', page)
    assert re.search(r'<input type="datetime-local" name="df_trialEndsAt" value="2024-03-01T10:30"', page)
    assert re.search(r'<input type="text" name="df_address.city" value="Oslo"', page)
    assert re.search(r'<input type="number" name="df_address.zip" value="1234"', page)
    assert re.search(r'<input type="number" name="df_address.geo.lat" value="59.9" step="any"', page)
    assert re.search(r'<input type="text" name="df_tags.0" value="blue"', page)
    assert re.search(r'<input type="text" name="df_tags.1" value="green"', page)
    assert 'name="df_tags.2"' in page  # an empty row to add one
    assert re.search(r'<input type="text" name="df_jobs.0.title" value="Developer"', page)
    assert re.search(r'<input type="checkbox" name="df_jobs.0.remote"[^>]* checked>', page)
    assert 'name="df_extras.0.key"' in page and 'name="df_extras.0.value"' in page
    assert "<textarea" not in page


def _bound(rich, **data):
    base = {"recipient": rich.own.pk, "mode": "template_proof", "submission_token": TOKEN}
    return ProofSendForm({**base, **data}, notification=rich.welcome, user=rich.mia)


def test_inputs_become_the_json_iterable_gets(rich):
    form = _bound(
        rich,
        **{
            "df_firstName": "Ada",
            "df_seats": "3",
            "df_price": "4.25",
            "df_trialEndsAt": "2024-03-01T10:30",
            "df_latest_trial_start_date": "2023-06-11",
            "df_address.city": "Bergen",
            "df_address.geo.lat": "60.4",
            "df_tags.0": "red",
            "df_tags.1": "",
            "df_tags.3": "blue",  # a row added in the browser: kept
            "df_jobs.0.title": "Tester",
            "df_jobs.0.remote": "on",
            "df_jobs.1.title": "",
            "df_extras.0.key": "source",
            "df_extras.0.value": "qa",
            "extra_name_0": "campaignNote",
            "extra_value_0": "hello",
            "extra_name_1": "nickname",  # a merge field offered by name, left empty: the profile fills it
            "extra_value_1": "",
        },
    )
    assert form.is_valid(), form.errors
    values = form.cleaned_data["data_fields_value"]
    assert values["firstName"] == "Ada" and values["seats"] == 3 and values["price"] == 4.25
    assert values["trialEndsAt"] == "2024-03-01 10:30:00 +00:00"
    assert values["latest_trial_start_date"] == "2023-06-11"
    assert values["address"] == {"city": "Bergen", "geo": {"lat": 60.4}}
    assert values["tags"] == ["red", "blue"]
    assert values["jobs"] == [{"title": "Tester", "remote": True}]
    assert values["extras"] == {"source": "qa"}
    assert values["campaignNote"] == "hello" and "nickname" not in values
    assert values["companyNamespace"] is False  # an unticked box is a no
    assert "contactEmail" not in values and "homepage" not in values  # left empty: left out


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("df_seats", "three", "Enter a whole number."),
        ("df_price", "cheap", "Enter a number."),
        ("df_contactEmail", "nope", "Enter a valid email address."),
        ("df_homepage", "not a site", "Enter a valid URL."),
        ("df_trialEndsAt", "yesterday", "Enter a valid date/time."),
        ("df_address.zip", "0x1", "Enter a whole number."),
    ],
)
def test_each_input_is_checked_where_it_is_typed(rich, client, name, value, message):
    client.force_login(rich.mia)
    response = client.post(
        reverse("catalog:proof_send", args=[rich.welcome.key]),
        {"recipient": rich.own.pk, "mode": "template_proof", "submission_token": TOKEN, "action": "preview",
         name: value},
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 400
    field_id = "id_" + name
    assert re.search(rf'id="{re.escape(field_id)}-errors">{re.escape(message)}', page), page
    assert f'value="{value}"' in page  # what was typed is kept


def test_the_api_still_takes_json_data_fields(rich, client_for):
    from catalog.models import ProofRecipient

    api = client_for("marketing")
    ProofRecipient.objects.create(project=rich.student, owner=api.user, email="qa.student@example.com")
    body = {
        "notification": rich.welcome.key,
        "email": "qa.student@example.com",
        "mode": "template_proof",
        "data_fields": {"firstName": "Ada", "company": "A", "latest_trial_start_date": "2023-06-11",
                        "seats": "many"},
    }  # fmt: skip
    response = api.post("/api/test-sends/preview/", body, format="json")
    assert response.status_code == 400 and "data_fields.seats" in response.content.decode()


def test_each_preview_offers_one_empty_row_not_one_more_each_time(sends, client):
    client.force_login(sends.mia)
    url = reverse("catalog:proof_send", args=[sends.digest.key])
    form = {"recipient": sends.own.pk, "mode": "campaign", "submission_token": TOKEN, "action": "preview",
            "extra_name_0": "firstName", "extra_value_0": "", "extra_name_1": "", "extra_value_1": "",
            "extra_name_2": "", "extra_value_2": ""}  # fmt: skip
    for _ in range(2):
        page = client.post(url, form).content.decode()
        assert re.findall(r'name="extra_name_(\d+)"', page) == ["0", "1"]
