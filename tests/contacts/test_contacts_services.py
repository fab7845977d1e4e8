"""Contact lookup against the demo emulator, through the real client over loopback."""

import pytest
from django.core.exceptions import ValidationError

from catalog.contacts.services import contact_lookup
from catalog.models import AuditEvent, Notification


def one(lookups):
    (lookup,) = lookups
    return lookup


def reach_of(lookup, key):
    return next(r for r in lookup.reach if r.notification.key == key)


def test_lookup_explains_subscriptions_and_reach(demo, admin_user):
    from catalog.iterable import client_for_project

    client = client_for_project(demo.student)
    client.update_user(email="pat@example.com", data_fields={"firstName": "Pat", "signupSource": "web"})
    client.update_subscriptions(
        email="pat@example.com",
        subscribed_message_type_ids=[11],
        unsubscribed_message_type_ids=[15],
    )
    lookup = one(contact_lookup(actor=admin_user, email="pat@example.com", project=demo.student))
    assert lookup.found and lookup.error == ""
    # Iterable manages signupSource itself ("API" for a profile made through the API).
    assert lookup.profile["firstName"] == "Pat" and lookup.signup_source == "API"
    assert "signupSource" not in lookup.profile and "subscribedMessageTypeIds" not in lookup.profile
    rows = {row.name: row for row in lookup.subscriptions if row.kind == "message_type"}
    assert rows["GitLab Marketing"].state == "subscribed" and rows["GitLab Marketing"].allowed
    assert rows["Push Marketing"].state == "never opted in" and not rows["Push Marketing"].allowed
    assert rows["Push Transactional"].state == "unsubscribed"
    assert rows["Transactional"].state == "receiving by default"
    assert "never unsubscribed" in rows["Transactional"].reason

    digest = reach_of(lookup, "student_activity_weekly_digest")
    assert digest.allowed and digest.rule == "opted-in"
    push = reach_of(lookup, "student_push_job_recommendation")
    assert not push.allowed and push.rule == "not-opted-in" and "never opted in" in push.reason
    assert not reach_of(lookup, "student_push_new_message").allowed
    assert {r.notification.key for r in lookup.reach} == set(
        Notification.objects.filter(project=demo.student).exclude(status="deprecated").values_list("key", flat=True)
    )
    event = AuditEvent.objects.get(action="contact_lookup")
    assert event.actor_label == "admin" and event.object_repr == "pat@example.com"


def test_channel_unsubscribe_blocks_everything_on_it(demo, admin_user):
    from catalog.iterable import client_for_project

    client_for_project(demo.student).update_subscriptions(email="gone@example.com", unsubscribed_channel_ids=[1])
    lookup = one(contact_lookup(actor=admin_user, email="gone@example.com", project=demo.student))
    digest = reach_of(lookup, "student_activity_weekly_digest")
    assert not digest.allowed and digest.rule == "channel-unsubscribed"
    assert reach_of(lookup, "student_activity_new_message").allowed  # transactional channel untouched


def test_forbidden_type_in_iterable_gets_the_guards_verdict(demo, admin_user):
    from catalog.iterable import client_for_project

    client_for_project(demo.student).update_user(email="x@example.com", data_fields={})
    # Someone flipped the catalog's opt-in type to opt-out inside Iterable: the lookup judges live data.
    with demo.emulator.state.lock:
        project = demo.emulator.state.projects[2158]
        project.message_types[11]["subscriptionPolicy"] = "OptOut"
    lookup = one(contact_lookup(actor=admin_user, email="x@example.com", project=demo.student))
    digest = reach_of(lookup, "student_activity_weekly_digest")
    assert [v.code for v in digest.guard] == ["optout-marketing"]
    assert digest.allowed  # it WOULD reach them: which is exactly the danger the guard names


def test_history_resolves_catalog_names(demo, admin_user):
    from catalog.iterable import client_for_project

    client = client_for_project(demo.student)
    client.update_subscriptions(email="h@example.com", subscribed_message_type_ids=[11])
    client.email_target(410001, recipient_email="h@example.com")
    client.track("SaaS Free Registration", email="h@example.com", data_fields={"company": "Acme"})
    lookup = one(contact_lookup(actor=admin_user, email="h@example.com", project=demo.student))
    labels = {(item.kind, item.label) for item in lookup.history}
    assert ("sent", "Weekly activity digest") in labels
    assert ("event", "SaaS Free Registration") in labels


def test_lookup_by_user_id_and_device_tokens_masked(demo, admin_user):
    lookup = one(contact_lookup(actor=admin_user, user_id="stu-0001", project=demo.student))
    assert lookup.found and lookup.user.email == "student.0001@example.com"
    assert lookup.devices and all("…" in d["token"] for d in lookup.devices)
    assert all(len(d["token"]) == 9 for d in lookup.devices)


def test_all_projects_at_once(demo, admin_user):
    lookups = contact_lookup(actor=admin_user, email="qa.employer@example.com")
    by_project = {lookup.project.name: lookup for lookup in lookups}
    assert by_project["Employer - US"].found
    assert not by_project["Student - US"].found and by_project["Student - US"].not_found
    assert not by_project["Employer - US"].not_found
    assert (
        by_project["Student - US"].error == "No contact 'qa.employer@example.com' in Iterable project 'Student - US'."
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"email": "foo@"}, "'foo@' is not a valid email address."),
        ({}, "Give an email address or a userId"),
        ({"email": "a@example.com", "user_id": "u1"}, "Give an email address or a userId"),
    ],
)
def test_bad_input_is_refused_before_any_call(demo, admin_user, kwargs, message):
    demo.emulator.clear_requests()
    with pytest.raises(ValidationError, match=message):
        contact_lookup(actor=admin_user, **kwargs)
    assert demo.emulator.requests() == []


def test_errors_staff_understand(demo, admin_user, monkeypatch):
    monkeypatch.setenv("ITERABLE_API_KEY_STUDENT_US", "wrong-key")
    lookup = one(contact_lookup(actor=admin_user, email="qa.student@example.com", project=demo.student))
    assert "refused the API key" in lookup.error and "ITERABLE_API_KEY_STUDENT_US" in lookup.error
    assert "wrong-key" not in lookup.error

    monkeypatch.delenv("ITERABLE_API_KEY_STUDENT_US")
    lookup = one(contact_lookup(actor=admin_user, email="qa.student@example.com", project=demo.student))
    assert "set the environment variable ITERABLE_API_KEY_STUDENT_US" in lookup.error


def test_rate_limited_and_down(demo, admin_user):
    demo.emulator.configure(faults=[{"endpoint": "GET /api/users/getByEmail", "kind": "error429", "count": 10}])
    lookup = one(contact_lookup(actor=admin_user, email="qa.student@example.com", project=demo.student))
    assert "rate limiting" in lookup.error
    demo.emulator.configure(faults=[{"endpoint": "GET /api/users/getByEmail", "kind": "error503", "count": 10}])
    lookup = one(contact_lookup(actor=admin_user, email="qa.student@example.com", project=demo.student))
    assert "Iterable had an error (503" in lookup.error


def _overlapping(requests) -> int:
    """The most requests the emulator was answering at one instant (from its own start and duration records)."""
    edges = sorted(
        [(r["time"], 1) for r in requests] + [(r["time"] + r["duration_ms"] / 1000, -1) for r in requests],
        key=lambda edge: (edge[0], edge[1]),
    )
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


@pytest.mark.parametrize("everywhere", [False, True], ids=["one project", "all projects"])
def test_every_read_of_a_lookup_starts_at_once(demo, admin_user, everywhere):
    """Profile, history and the uncached schema of every project looked in: all in flight together, so the
    lookup costs one call's latency rather than their sum."""
    demo.emulator.configure(latency_ms={"*": 400})
    demo.emulator.clear_requests()
    lookups = contact_lookup(
        actor=admin_user, email="qa.student@example.com", project=None if everywhere else demo.student
    )
    assert len(lookups) == (2 if everywhere else 1)
    made = demo.emulator.requests()
    assert len(made) == 6 * len(lookups)  # profile, sent messages, events, channels, message types, lists
    assert _overlapping(made) == len(made)
