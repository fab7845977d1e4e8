"""The guard's rules as pure functions, and a property test that no combination slips through."""

from hypothesis import given
from hypothesis import strategies as st

from catalog.guard import policy
from catalog.guard.policy import MessageTypeFacts, NotificationFacts


def facts(name="GitLab Marketing", policy_="OptIn", channel_type="Marketing", deprecated=False):
    return MessageTypeFacts(
        name=name, policy=policy_, channel_name="Marketing Channel", channel_type=channel_type, deprecated=deprecated
    )


def notification(message_type, **kwargs):
    defaults = dict(key="digest", status="active", trigger_type="api_send", campaign_id=1, owner_count=1)
    return NotificationFacts(message_type=message_type, **{**defaults, **kwargs})


def codes(violations):
    return sorted(v.code for v in violations)


def test_opt_in_marketing_type_is_clean():
    assert policy.notification_violations(notification(facts())) == []


def test_optout_on_marketing_channel_is_an_error_with_a_sentence():
    found = policy.notification_violations(notification(facts(name="Promos", policy_="OptOut")))
    assert codes(found) == ["optout-marketing"]
    (violation,) = found
    assert violation.severity == "error"
    assert "never opted in" in violation.message
    assert "Notification 'digest'" in violation.objects
    assert violation.field == "message_type"


def test_missing_or_unknown_policy_counts_as_opt_out():
    assert codes(policy.notification_violations(notification(facts(name="Promos", policy_=None)))) == [
        "optout-marketing"
    ]
    assert codes(policy.notification_violations(notification(facts(name="Promos", policy_="optin")))) == [
        "optout-marketing"
    ]


def test_optout_on_transactional_channel_is_fine():
    assert (
        policy.notification_violations(
            notification(facts(name="Transactional", policy_="OptOut", channel_type="Transactional"))
        )
        == []
    )


def test_marketing_message_is_an_error_whatever_its_channel_and_policy():
    found = policy.notification_violations(
        notification(facts(name="Marketing Message", policy_="OptIn", channel_type="Transactional"))
    )
    assert codes(found) == ["marketing-message-type"]
    assert "unsubscribed" in found[0].message


def test_marketing_message_on_marketing_optout_gives_both_errors():
    found = policy.notification_violations(notification(facts(name="Marketing Message", policy_="OptOut")))
    assert codes(found) == ["marketing-message-type", "optout-marketing"]


def test_name_variants_are_caught():
    for name in ["marketing message", "  MARKETING   Message ", "Marketing\u00a0Message", "\uff2darketing Message"]:
        assert policy.is_marketing_message(name), name
    assert not policy.is_marketing_message("Marketing Messages")


def test_template_on_forbidden_type_is_an_error_on_the_templates_field():
    found = policy.notification_violations(
        notification(facts(), templates=(("template 'Old' (#5)", facts(name="Marketing Message", policy_="OptOut")),))
    )
    assert {v.field for v in found} == {"templates"}
    assert all("template 'Old' (#5)" in v.message for v in found)


def test_warnings():
    no_owner = policy.notification_violations(notification(facts(), owner_count=0))
    assert codes(no_owner) == ["no-owner"] and no_owner[0].severity == "warning"
    unknown_owners = policy.notification_violations(notification(facts(), owner_count=None))
    assert unknown_owners == []
    deprecated = policy.notification_violations(notification(facts(deprecated=True)))
    assert codes(deprecated) == ["deprecated-message-type"]
    assert policy.notification_violations(notification(facts(deprecated=True), status="draft")) == []
    no_campaign = policy.notification_violations(notification(facts(), campaign_id=None))
    assert codes(no_campaign) == ["trigger-incomplete"] and no_campaign[0].field == "campaign_id"
    no_journey = policy.notification_violations(
        notification(facts(), trigger_type="custom_event", campaign_id=None, has_event=True)
    )
    assert codes(no_journey) == ["trigger-incomplete"] and "no journey" in no_journey[0].message


def test_errors_come_before_warnings():
    found = policy.notification_violations(notification(facts(name="Marketing Message"), owner_count=0))
    assert [v.severity for v in found] == ["error", "warning"]


# Names drawn with whether they are the forbidden type, known by construction, not by the code under test.
forbidden_names = st.builds(
    lambda first, second, sep, lead, trail: f"{lead}{first}{sep}{second}{trail}",
    st.sampled_from(["marketing", "Marketing", "MARKETING", "mArketing", "\uff2darketing"]),
    st.sampled_from(["message", "Message", "MESSAGE", "messagE"]),
    st.sampled_from([" ", "  ", "\u00a0", "\t", " \u2003"]),
    st.sampled_from(["", " ", "\u00a0"]),
    st.sampled_from(["", " ", "\n"]),
).map(lambda name: (name, True))
other_names = (
    st.one_of(st.text(max_size=30), st.sampled_from(["GitLab Marketing", "Transactional", "Marketing Messages"]))
    .filter(lambda name: "marketingmessage" not in "".join(name.casefold().split()).replace("\uff4d", "m"))
    .map(lambda name: (name, False))
)
policies = st.one_of(st.sampled_from(["OptIn", "OptOut", None]), st.text(max_size=10))
channel_types = st.one_of(st.sampled_from(["Marketing", "Transactional", None]), st.text(max_size=12))


@given(
    named=st.one_of(forbidden_names, other_names),
    policy_=policies,
    channel_type=channel_types,
    deprecated=st.booleans(),
    status=st.sampled_from(["draft", "active", "deprecated"]),
)
def test_no_combination_slips_through(named, policy_, channel_type, deprecated, status):
    """Whatever the combination, a type that can mail people who never opted in is an error."""
    name, is_forbidden_name = named
    # Only exactly "Transactional" is transactional; anything else fails closed as Marketing.
    optout_marketing = channel_type != "Transactional" and policy_ != "OptIn"
    found = policy.notification_violations(
        notification(facts(name=name, policy_=policy_, channel_type=channel_type, deprecated=deprecated), status=status)
    )
    assert any(v.severity == "error" for v in found) == (optout_marketing or is_forbidden_name)
    assert ("optout-marketing" in codes(found)) == optout_marketing
    assert ("marketing-message-type" in codes(found)) == is_forbidden_name
