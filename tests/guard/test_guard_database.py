"""The database holds the guard: every door that writes rows, raw SQL included, is refused by the database
itself on SQLite and PostgreSQL, and the refusal reaches people as the guard's sentence."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from catalog.guard import lookalikes, policy
from catalog.guard.enforcement import guard_error_from_db
from catalog.models import Channel, CustomEvent, IterableProject, Journey, MessageType, Notification, Template

MARKER = "GUARD "


def raw(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def refused_by_database(sql: str, params=()) -> dict:
    """Run raw SQL that must be refused; return the refusal's payload."""
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        raw(sql, params)
    text = str(raised.value)
    assert MARKER in text, text
    return json.loads(text[text.index(MARKER) + len(MARKER) :].split("\n")[0].rsplit("}", 1)[0] + "}")


def violations_stored() -> list[str]:
    """Every notification that, as stored, uses a forbidden type (itself or through a template)."""
    found = []
    for n in Notification.objects.select_related("message_type__channel").prefetch_related(
        "templates__message_type__channel"
    ):
        types = [n.message_type, *(t.message_type for t in n.templates.all() if t.message_type)]
        for t in types:
            if policy.is_marketing_message(t.name) or (t.channel.channel_type == "Marketing" and t.policy != "OptIn"):
                found.append(n.key)
    return found


# -- raw SQL, one door each ---------------------------------------------------------------------------------


def test_raw_update_of_a_notification_onto_a_forbidden_type(small_catalog):
    payload = refused_by_database(
        "UPDATE catalog_notification SET message_type_id = %s WHERE id = %s",
        [small_catalog.marketing_message.pk, small_catalog.digest.pk],
    )
    assert payload["code"] == "marketing-message-type"
    assert violations_stored() == []


def test_raw_insert_of_a_notification_on_a_forbidden_type(small_catalog):
    promos = MessageType.objects.create(
        project=small_catalog.project,
        iterable_id=77,
        name="Promos",
        channel=small_catalog.transactional,
        policy="OptOut",
    )
    raw("UPDATE catalog_messagetype SET channel_id = %s WHERE id = %s", [small_catalog.marketing.pk, promos.pk])
    payload = refused_by_database(
        "INSERT INTO catalog_notification (key, name, description, audience, project_id, medium, trigger_type, "
        "campaign_id, message_type_id, status, tags, code_location, created_at, updated_at, verdict_codes, "
        "verdict_errors, verdict_warnings) VALUES ('sneaky', 'Sneaky', '', 'students', %s, 'Email', 'api_send', "
        "1, %s, 'draft', '[]', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '[]', 0, 0)",
        [small_catalog.project.pk, promos.pk],
    )
    assert payload["code"] == "optout-marketing"
    assert not Notification.objects.filter(key="sneaky").exists()


def test_raw_policy_flip_of_a_used_marketing_type(small_catalog):
    payload = refused_by_database(
        "UPDATE catalog_messagetype SET policy = 'OptOut' WHERE id = %s", [small_catalog.opt_in.pk]
    )
    assert payload["code"] == "optout-marketing"
    assert MessageType.objects.get(pk=small_catalog.opt_in.pk).policy == "OptIn"


def test_raw_policy_to_an_unknown_value_fails_closed(small_catalog):
    # A value that is not exactly OptIn counts as opt-out (the choices constraint refuses it too).
    with pytest.raises(IntegrityError), transaction.atomic():
        raw("UPDATE catalog_messagetype SET policy = 'optin' WHERE id = %s", [small_catalog.opt_in.pk])


def test_raw_rename_of_a_used_type_to_a_look_alike(small_catalog):
    payload = refused_by_database(
        "UPDATE catalog_messagetype SET name = %s WHERE id = %s",
        ["\u041c\u0430rketing \u041c\u0435ssage", small_catalog.opt_in.pk],  # Cyrillic capital em, small a, small ie
    )
    assert payload["code"] == "marketing-message-type"


def test_raw_clearing_the_forbidden_name_flag_is_recomputed(small_catalog):
    raw("UPDATE catalog_messagetype SET name_forbidden = %s WHERE id = %s", [False, small_catalog.marketing_message.pk])
    assert MessageType.objects.get(pk=small_catalog.marketing_message.pk).name_forbidden is True


def test_raw_channel_made_marketing_under_a_used_opt_out_type(small_catalog):
    payload = refused_by_database(
        "UPDATE catalog_channel SET channel_type = 'Marketing' WHERE id = %s", [small_catalog.transactional.pk]
    )
    assert payload["code"] == "optout-marketing"


def test_raw_move_of_a_used_type_onto_a_marketing_channel(small_catalog):
    payload = refused_by_database(
        "UPDATE catalog_messagetype SET channel_id = %s WHERE id = %s",
        [small_catalog.marketing.pk, small_catalog.transactional_type.pk],
    )
    assert payload["code"] == "optout-marketing"


def test_raw_template_moved_onto_a_forbidden_type(small_catalog):
    payload = refused_by_database(
        "UPDATE catalog_template SET message_type_id = %s WHERE id = %s",
        [small_catalog.marketing_message.pk, small_catalog.template.pk],
    )
    assert payload["code"] == "marketing-message-type"


def test_raw_link_row_to_a_forbidden_template(small_catalog):
    payload = refused_by_database(
        "INSERT INTO catalog_notification_templates (notification_id, template_id) VALUES (%s, %s)",
        [small_catalog.digest.pk, small_catalog.forbidden_template.pk],
    )
    assert payload["code"] == "marketing-message-type"
    assert list(small_catalog.digest.templates.all()) == [small_catalog.template]


def test_raw_link_row_repointed_to_a_forbidden_template(small_catalog):
    refused_by_database(
        "UPDATE catalog_notification_templates SET template_id = %s WHERE notification_id = %s",
        [small_catalog.forbidden_template.pk, small_catalog.digest.pk],
    )


def test_unused_types_may_be_anything(small_catalog):
    # The rule is about what notifications use: an unused forbidden type is only a fact about Iterable.
    raw("UPDATE catalog_messagetype SET policy = 'OptOut' WHERE id = %s", [small_catalog.marketing_message.pk])
    raw("UPDATE catalog_channel SET channel_type = 'Marketing' WHERE id = %s", [small_catalog.marketing.pk])


# -- one project per notification ---------------------------------------------------------------------------


@pytest.fixture
def other_project(small_catalog):
    project = IterableProject.objects.create(name="Other", data_center="US", api_key_env="ITERABLE_API_KEY_OTHER")
    channel = Channel.objects.create(
        project=project, iterable_id=1, name="Marketing Channel", channel_type="Marketing", medium="Email"
    )
    opt_in = MessageType.objects.create(
        project=project, iterable_id=11, name="GitLab Marketing", channel=channel, policy="OptIn"
    )
    template = Template.objects.create(
        project=project, iterable_id=501, name="Digest", medium="Email", message_type=opt_in
    )
    journey = Journey.objects.create(project=project, iterable_id=9, name="Onboarding")
    event = CustomEvent.objects.create(project=project, name="trialStarted")
    return type(
        "Other",
        (),
        {
            "project": project,
            "channel": channel,
            "opt_in": opt_in,
            "template": template,
            "journey": journey,
            "event": event,
        },
    )


@pytest.mark.parametrize("column", ["message_type_id", "journey_id", "event_id"])
def test_raw_notification_pointing_into_another_project(small_catalog, other_project, column):
    target = {
        "message_type_id": other_project.opt_in,
        "journey_id": other_project.journey,
        "event_id": other_project.event,
    }
    payload = refused_by_database(
        f"UPDATE catalog_notification SET {column} = %s WHERE id = %s", [target[column].pk, small_catalog.digest.pk]
    )
    assert payload["code"] == "project-mismatch"


def test_raw_template_of_another_project(small_catalog, other_project):
    assert (
        refused_by_database(
            "INSERT INTO catalog_notification_templates (notification_id, template_id) VALUES (%s, %s)",
            [small_catalog.digest.pk, other_project.template.pk],
        )["code"]
        == "project-mismatch"
    )


def test_raw_notification_moved_to_another_project(small_catalog, other_project):
    assert (
        refused_by_database(
            "UPDATE catalog_notification SET project_id = %s WHERE id = %s",
            [other_project.project.pk, small_catalog.digest.pk],
        )["code"]
        == "project-mismatch"
    )


@pytest.mark.parametrize("table", ["channel", "messagetype", "template", "journey", "customevent"])
def test_an_iterable_object_never_changes_project(small_catalog, other_project, table):
    row = {
        "channel": other_project.channel,
        "messagetype": other_project.opt_in,
        "template": other_project.template,
        "journey": other_project.journey,
        "customevent": other_project.event,
    }[table]
    assert (
        refused_by_database(
            f"UPDATE catalog_{table} SET project_id = %s WHERE id = %s", [small_catalog.project.pk, row.pk]
        )["code"]
        == "project-fixed"
    )


def test_model_refuses_another_projects_objects_on_the_field(small_catalog, other_project):
    small_catalog.digest.message_type = other_project.opt_in
    with pytest.raises(ValidationError) as raised:
        small_catalog.digest.save()
    assert "message_type" in raised.value.message_dict
    assert "belongs to the Iterable project 'Other'" in raised.value.message_dict["message_type"][0]


def test_model_refuses_another_projects_template(small_catalog, other_project):
    with pytest.raises(ValidationError) as raised:
        small_catalog.digest.templates.add(other_project.template)
    assert "templates" in raised.value.message_dict


def test_model_refuses_moving_a_type_between_projects(small_catalog, other_project):
    other_project.opt_in.project = small_catalog.project
    with pytest.raises(ValidationError) as raised:
        other_project.opt_in.save()
    assert "project" in raised.value.message_dict


# -- ORM doors that bypass save() -------------------------------------------------------------------------


def test_bulk_create_update_conflicts_on_message_types(small_catalog):
    flipped = MessageType(
        project=small_catalog.project,
        iterable_id=11,
        name="GitLab Marketing",
        channel=small_catalog.marketing,
        policy="OptOut",
    )
    with pytest.raises(ValidationError) as raised:
        MessageType.objects.bulk_create(
            [flipped], update_conflicts=True, unique_fields=["project", "iterable_id"], update_fields=["policy"]
        )
    assert raised.value.code == "optout-marketing"
    assert MessageType.objects.get(pk=small_catalog.opt_in.pk).policy == "OptIn"


def test_bulk_create_update_conflicts_on_channels(small_catalog):
    flipped = Channel(
        project=small_catalog.project,
        iterable_id=2,
        name="Transactional Channel",
        channel_type="Marketing",
        medium="Email",
    )
    with pytest.raises(ValidationError):
        Channel.objects.bulk_create(
            [flipped], update_conflicts=True, unique_fields=["project", "iterable_id"], update_fields=["channel_type"]
        )
    assert Channel.objects.get(pk=small_catalog.transactional.pk).channel_type == "Transactional"


def test_bulk_create_update_conflicts_on_templates(small_catalog):
    moved = Template(
        project=small_catalog.project,
        iterable_id=501,
        name="Digest",
        medium="Email",
        message_type=small_catalog.marketing_message,
    )
    with pytest.raises(ValidationError):
        Template.objects.bulk_create(
            [moved], update_conflicts=True, unique_fields=["project", "iterable_id"], update_fields=["message_type"]
        )
    assert Template.objects.get(pk=small_catalog.template.pk).message_type == small_catalog.opt_in


def test_bulk_create_of_notifications(small_catalog):
    with pytest.raises(ValidationError):
        Notification.objects.bulk_create(
            [
                Notification(
                    key="bulk",
                    name="Bulk",
                    audience="students",
                    project=small_catalog.project,
                    medium="Email",
                    trigger_type="api_send",
                    campaign_id=5,
                    message_type=small_catalog.marketing_message,
                )
            ]
        )
    assert not Notification.objects.filter(key="bulk").exists()


def test_update_and_bulk_update(small_catalog):
    with pytest.raises(ValidationError):
        MessageType.objects.filter(pk=small_catalog.opt_in.pk).update(policy="OptOut")
    small_catalog.opt_in.policy = "OptOut"
    with pytest.raises(ValidationError):
        MessageType.objects.bulk_update([small_catalog.opt_in], ["policy"])
    assert MessageType.objects.get(pk=small_catalog.opt_in.pk).policy == "OptIn"


def test_through_table_rows(small_catalog):
    through = Notification.templates.through
    with pytest.raises(IntegrityError), transaction.atomic():
        through.objects.create(notification=small_catalog.digest, template=small_catalog.forbidden_template)
    with pytest.raises(IntegrityError), transaction.atomic():
        through.objects.bulk_create(
            [through(notification=small_catalog.receipt, template=small_catalog.forbidden_template)]
        )
    assert not through.objects.filter(template=small_catalog.forbidden_template).exists()


def test_save_base_raw(small_catalog):
    digest = Notification.objects.get(pk=small_catalog.digest.pk)
    digest.message_type = small_catalog.marketing_message
    with pytest.raises(IntegrityError), transaction.atomic():
        digest.save_base(raw=True)
    assert violations_stored() == []


def test_loaddata(small_catalog, tmp_path):
    fixture = tmp_path / "attack.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "catalog.notification",
                    "pk": small_catalog.digest.pk,
                    "fields": {
                        "key": "weekly_digest",
                        "name": "Weekly digest",
                        "audience": "students",
                        "project": small_catalog.project.pk,
                        "medium": "Email",
                        "trigger_type": "api_send",
                        "campaign_id": 401,
                        "message_type": small_catalog.marketing_message.pk,
                        "status": "active",
                        "tags": [],
                        "created_at": "2026-01-01T00:00:00Z",
                        "updated_at": "2026-01-01T00:00:00Z",
                        "templates": [],
                        "owners": [],
                    },
                }
            ]
        )
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        call_command("loaddata", str(fixture), verbosity=0)
    assert violations_stored() == []


def test_database_refusal_becomes_the_guard_sentence(small_catalog):
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        raw(
            "UPDATE catalog_messagetype SET policy = 'OptOut' WHERE id = %s",
            [small_catalog.opt_in.pk],
        )
    refusal = guard_error_from_db(raised.value)
    assert refusal is not None and refusal.code == "optout-marketing"
    assert "never opted in" in refusal.messages[0]
    if connection.vendor == "postgresql":
        # PostgreSQL names what it judged.
        assert "weekly_digest" in refusal.messages[0] and "GitLab Marketing" in refusal.messages[0]


# -- look-alike names ------------------------------------------------------------------------------------

LOOK_ALIKES = {
    "plain": "Marketing Message",
    "case and spacing": "  marketing   MESSAGE ",
    "no-break space": "Marketing\u00a0Message",
    "zero-width space": "Market\u200bing Mes\u200bsage",
    "zero-width joiner": "Marke\u200dting Message",
    "bidi marks": "\u202eMarketing\u202c \u200fMessage\u200e",
    "soft hyphen": "Mar\u00adketing Message",
    "cyrillic": "\u041c\u0430rk\u0435ting \u041c\u0435ss\u0430g\u0435",
    "greek": "\u039carketing \u039cessage",
    "fullwidth": "\uff2d\uff41\uff52\uff4b\uff45\uff54\uff49\uff4e\uff47 \uff2d\uff45\uff53\uff53\uff41\uff47\uff45",
    "rn for m": "rnarketing rnessage",
    "punctuation": "Marketing-Message",
    "accents": "M\u00e0rk\u00e9ting M\u00e9ssage",
    "capital I as l": "MARKETlNG MESSAGE",
    "cyrillic i": "MARKET\u0406NG MESSAGE",
    "cyrillic small ka": "Mar\u043aeting Message",
    "greek kappa": "Mar\u03baeting Message",
    "latin kra": "Mar\u0138eting Message",
    "cyrillic small em": "\u043carketing \u043cessage",
    "small capital M": "Marketing \u1d0dessage",
    "all small capitals": "\u1d0d\u1d00\u0280\u1d0b\u1d07\u1d1b\u026a\u0274\u0262 "
    "\u1d0d\u1d07\ua731\ua731\u1d00\u0262\u1d07",
    "negative squared": "\U0001f17c\U0001f170\U0001f181\U0001f17a\U0001f174\U0001f183\U0001f178\U0001f17d\U0001f176 "
    "\U0001f17c\U0001f174\U0001f182\U0001f182\U0001f170\U0001f176\U0001f174",
    "regional indicators": "\U0001f1f2\U0001f1e6\U0001f1f7\U0001f1f0\U0001f1ea\U0001f1f9\U0001f1ee\U0001f1f3\U0001f1ec "
    "\U0001f1f2\U0001f1ea\U0001f1f8\U0001f1f8\U0001f1e6\U0001f1ec\U0001f1ea",
    "mathematical bold": "\U0001d40c\U0001d41a\U0001d42b\U0001d424\U0001d41e\U0001d42d\U0001d422\U0001d427"
    "\U0001d420 Message",
    "latin eng": "Marketi\u014bg Message",
    "exclamation for i": "Market!ng Message",
    "digits for letters": "M4rk3t1ng M3ssag3",
}
NOT_LOOK_ALIKES = ["Marketing Messages", "Marketing", "GitLab Marketing", "Marketing Massage", "Transactional news"]


@pytest.mark.parametrize("name", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alikes_are_the_forbidden_name_in_python_and_in_the_database(small_catalog, name):
    assert policy.is_marketing_message(name)
    with pytest.raises(IntegrityError), transaction.atomic():
        raw("UPDATE catalog_messagetype SET name = %s WHERE id = %s", [name, small_catalog.opt_in.pk])
    with pytest.raises(ValidationError):
        small_catalog.opt_in.name = name
        small_catalog.opt_in.save()


@pytest.mark.parametrize("name", NOT_LOOK_ALIKES)
def test_other_names_pass(small_catalog, name):
    assert not policy.is_marketing_message(name)
    raw("UPDATE catalog_messagetype SET name = %s WHERE id = %s", [name, small_catalog.opt_in.pk])


def test_database_key_is_the_python_key(db):
    """The SQL fold is generated from the Python table: both give the same key, character for character."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    table = lookalikes.fold_table()
    samples = [*LOOK_ALIKES.values(), *NOT_LOOK_ALIKES, "".join(sorted(table))[:500]]

    def database_key(name: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT catalog_guard_name_key(%s)", [name])
            return cursor.fetchone()[0]

    for name in samples:
        assert database_key(name) == lookalikes.key(name), name

    alphabet = st.sampled_from(sorted(table) + list(" -_.MmArkeEtingsS\u00a0\u200b"))

    @settings(max_examples=150, deadline=None)
    @given(st.text(alphabet=alphabet, max_size=24))
    def same(name):
        assert database_key(name) == lookalikes.key(name)

    same()


def test_a_missing_trigger_is_reported_by_the_system_check(small_catalog):
    from catalog.guard.checks import guard_triggers_installed

    assert guard_triggers_installed(None, databases=["default"]) == []
    if connection.vendor == "postgresql":
        raw("DROP TRIGGER catalog_guard_channel ON catalog_channel")
    else:
        raw("DROP TRIGGER catalog_guard_channel_update")
    [error] = guard_triggers_installed(None, databases=["default"])
    assert error.id == "catalog.E010" and "catalog_guard_channel" in error.msg


# -- order, ids and project: rows written before what they point to, ids swapped ----------------------------
# Django's foreign keys are checked at commit, so a row may point to one written later in the transaction.


def test_a_link_written_before_its_template_is_judged_when_the_template_arrives(small_catalog):
    with pytest.raises(IntegrityError), transaction.atomic():
        raw(
            "INSERT INTO catalog_notification_templates (notification_id, template_id) VALUES (%s, 4242)",
            [small_catalog.digest.pk],
        )
        Template.objects.create(
            id=4242,
            project=small_catalog.project,
            iterable_id=4242,
            name="Late",
            medium="Email",
            message_type=small_catalog.marketing_message,
        )
    assert violations_stored() == []


def test_a_notification_written_before_its_type_is_judged_when_the_type_arrives(small_catalog):
    with pytest.raises(IntegrityError), transaction.atomic():
        raw("UPDATE catalog_notification SET message_type_id = 4343 WHERE id = %s", [small_catalog.receipt.pk])
        raw(
            "INSERT INTO catalog_messagetype (id, project_id, iterable_id, name, channel_id, policy, deprecated, "
            "notes, name_forbidden) VALUES (4343, %s, 4343, 'Late promos', %s, 'OptOut', %s, '', %s)",
            [small_catalog.project.pk, small_catalog.marketing.pk, False, False],
        )
    assert violations_stored() == []


def test_a_used_type_deleted_and_written_again_forbidden_is_refused(small_catalog):
    pk = small_catalog.opt_in.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        raw("DELETE FROM catalog_messagetype WHERE id = %s", [pk])
        raw(
            "INSERT INTO catalog_messagetype (id, project_id, iterable_id, name, channel_id, policy, deprecated, "
            "notes, name_forbidden) VALUES (%s, %s, 11, 'GitLab Marketing', %s, 'OptOut', %s, '', %s)",
            [pk, small_catalog.project.pk, small_catalog.marketing.pk, False, False],
        )
    assert MessageType.objects.get(pk=pk).policy == "OptIn"


def test_a_used_template_deleted_and_written_again_forbidden_is_refused(small_catalog):
    pk = small_catalog.template.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        raw("DELETE FROM catalog_template WHERE id = %s", [pk])
        raw(
            "INSERT INTO catalog_template (id, project_id, iterable_id, name, medium, message_type_id, "
            "client_template_id) VALUES (%s, %s, 501, 'Digest', 'Email', %s, '')",
            [pk, small_catalog.project.pk, small_catalog.marketing_message.pk],
        )
    assert violations_stored() == []


@pytest.mark.parametrize("table", ["messagetype", "template", "channel", "notification", "journey", "customevent"])
def test_ids_never_change(small_catalog, table):
    row_id = {
        "messagetype": small_catalog.opt_in.pk,
        "template": small_catalog.template.pk,
        "channel": small_catalog.marketing.pk,
        "notification": small_catalog.digest.pk,
    }.get(table)
    if row_id is None:
        project = small_catalog.project
        row_id = (
            (Journey if table == "journey" else CustomEvent)
            .objects.create(
                project=project, **({"iterable_id": 5, "name": "J"} if table == "journey" else {"name": "ev"})
            )
            .pk
        )
    payload = refused_by_database(f"UPDATE catalog_{table} SET id = 987654 WHERE id = %s", [row_id])
    assert payload["code"] == "id-fixed"


def test_swapping_ids_through_the_orm_is_refused(small_catalog):
    with pytest.raises((IntegrityError, ValidationError)), transaction.atomic():
        Template.objects.filter(pk=small_catalog.template.pk).update(id=999_999)
    assert Template.objects.filter(pk=small_catalog.template.pk).exists()


def test_deleting_the_only_owner_refreshes_the_stored_verdict(small_catalog):
    digest = Notification.objects.get(key="weekly_digest")
    assert "no-owner" not in digest.verdict_codes
    small_catalog.owner.delete()
    digest.refresh_from_db()
    assert "no-owner" in digest.verdict_codes and digest.verdict_warnings >= 1


def test_deleting_a_template_refreshes_the_stored_verdict(small_catalog):
    before = Notification.objects.get(key="weekly_digest").verdict_codes
    small_catalog.digest.owners.clear()
    Template.objects.filter(pk=small_catalog.template.pk).delete()
    after = Notification.objects.get(key="weekly_digest")
    assert after.verdict_codes != before or "no-owner" in after.verdict_codes
