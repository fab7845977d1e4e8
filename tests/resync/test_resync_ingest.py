"""Taking in the source of truth: good rows kept, bad rows reported with line and reason."""

import pytest
from django.core.exceptions import ValidationError

from catalog.models import AuditEvent, ContactPreference
from catalog.services.resync_ingest import preference_import_csv, preference_upsert


def test_upsert_keeps_good_rows_and_reports_bad_ones(project, django_user_model):
    user = django_user_model.objects.create_user("ops", password="a long test password")
    record = preference_upsert(
        project=project,
        actor=user,
        rows=[
            {"email": "Ada@Example.com", "unsubscribed_channel_ids": [3], "subscribedMessageTypeIds": [11]},
            {"email": "not-an-email"},
            {"email": "bob@example.com", "unsubscribed_channel_ids": [2]},  # channel 2 is not managed
            {"email": "cy@example.com", "subscribed_message_type_ids": [13]},  # not in scope, opt-out type
            {"email": "dee@example.com", "unsubscribed_channel_ids": [1], "subscribed_message_type_ids": [12]},
            {"email": "ada@example.com", "email_list_ids": [21]},
            {"email": "eve@example.com", "unsubscribed_channels": [1]},
            "not a row",
        ],
    )
    assert (record.total_rows, record.accepted, record.rejected) == (8, 1, 7)
    by_line = {e["line"]: e for e in record.errors}
    assert "invalid email" in by_line[2]["errors"][0]
    assert "not managed" in by_line[3]["errors"][0]
    assert any("not managed" in m for m in by_line[4]["errors"])
    assert any("channel is unsubscribed" in m for m in by_line[5]["errors"])
    assert by_line[6]["errors"] == ["duplicate of line 1"]
    assert "unknown field" in by_line[7]["errors"][0]
    assert by_line[8]["errors"] == ["a row must be an object"]
    ada = ContactPreference.objects.get(project=project, email="ada@example.com")
    assert ada.unsubscribed_channel_ids == [3] and ada.subscribed_message_type_ids == [11]
    assert ada.email_list_ids is None  # never mentioned: the truth says nothing
    assert ada.changed_by_label == "ops" and ada.source.startswith("API upsert #")
    assert list(record.contacts.all()) == [ada]
    assert AuditEvent.objects.filter(action="preferences_import", object_id=str(record.pk)).exists()


def test_omitted_keeps_null_clears_and_unchanged_rows_do_not_bump(project):
    preference_upsert(
        project=project,
        actor="t",
        rows=[{"email": "a@example.com", "unsubscribed_channel_ids": [1], "email_list_ids": [21]}],
    )
    first = ContactPreference.objects.get(email="a@example.com")
    again = preference_upsert(project=project, actor="t", rows=[{"email": "a@example.com", "email_list_ids": [21]}])
    assert again.changed == 0
    assert ContactPreference.objects.get(pk=first.pk).changed_at == first.changed_at
    preference_upsert(project=project, actor="t", rows=[{"email": "a@example.com", "email_list_ids": None}])
    contact = ContactPreference.objects.get(pk=first.pk)
    assert contact.email_list_ids is None and contact.unsubscribed_channel_ids == [1]
    assert contact.changed_at > first.changed_at


def test_csv_lines_and_cells(project):
    text = (
        "email,unsubscribed_channel_ids,subscribed_message_type_ids,email_list_ids\n"
        "a@example.com,3 ; ,11,21|22\n"
        "b@example.com,,,\n"
        "\n"
        "c@example.com,x,,\n"
        "d@example.com,1\n"
    )
    record = preference_import_csv(project=project, actor="t", file=text.encode(), filename="prefs.csv")
    assert (record.accepted, record.rejected) == (2, 2)
    assert [(e["line"], e["email"]) for e in record.errors] == [(5, "c@example.com"), (6, "")]
    assert "not an id: x" in record.errors[0]["errors"][0]
    a = ContactPreference.objects.get(email="a@example.com")
    assert (a.unsubscribed_channel_ids, a.subscribed_message_type_ids, a.email_list_ids) == ([3], [11], [21, 22])
    b = ContactPreference.objects.get(email="b@example.com")
    assert b.unsubscribed_channel_ids == [] and b.unsubscribed_message_type_ids is None  # column absent
    assert "prefs.csv" in a.source


def test_csv_header_problems_refuse_the_file(project):
    with pytest.raises(ValidationError, match="no email column"):
        preference_import_csv(project=project, actor="t", file="mail,x\n")
    with pytest.raises(ValidationError, match="Unknown column"):
        preference_import_csv(project=project, actor="t", file="email,unsubscribed\n")
    with pytest.raises(ValidationError, match="empty"):
        preference_import_csv(project=project, actor="t", file="")


def test_opt_in_rows_refused_where_the_project_does_not_allow_them(project):
    from catalog.services.resync import resync_settings_update

    resync_settings_update(project=project, actor="t", opt_in_enabled=False)
    record = preference_upsert(
        project=project, actor="t", rows=[{"email": "a@example.com", "subscribed_message_type_ids": [11]}]
    )
    assert record.rejected == 1 and "not enabled" in record.errors[0]["errors"][0]
