"""Races against the guard: two API edits at the same moment, each allowed alone, forbidden together.

Shared by tests/guard/test_guard_races.py and bench/guard_race.py. Each round starts from a clean state,
sends both PATCHes through the whole stack (Django's test client, one thread and one database connection
each, released together by a barrier) and then reads what was stored.
"""

import threading
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client

from catalog.guard import policy
from catalog.models import Channel, IterableProject, MessageType, Notification, Template

GUARD_CODES = {policy.OPTOUT_MARKETING, policy.MARKETING_MESSAGE_TYPE, "concurrent-change"}


@dataclass
class RaceTally:
    rounds: int = 0
    both_succeeded: int = 0
    one_refused: int = 0
    violations_stored: int = 0
    server_errors: int = 0
    unclear_refusals: int = 0
    outcomes: Counter = field(default_factory=Counter)

    def line(self, name: str) -> str:
        return (
            f"{name}: rounds={self.rounds} both_succeeded={self.both_succeeded} one_refused={self.one_refused} "
            f"violations_stored={self.violations_stored} server_errors={self.server_errors} "
            f"unclear_refusals={self.unclear_refusals}"
        )


@dataclass
class Stage:
    project: IterableProject
    marketing: Channel
    transactional: Channel
    opt_in: MessageType
    notification: Notification
    template: Template
    user: User


def stage() -> Stage:
    """A project with a Marketing and a Transactional channel, one notification on an opt-in type."""
    project = IterableProject.objects.create(name="Race", data_center="US", api_key_env="ITERABLE_API_KEY_RACE")
    marketing = Channel.objects.create(
        project=project, iterable_id=1, name="Marketing Channel", channel_type="Marketing", medium="Email"
    )
    transactional = Channel.objects.create(
        project=project, iterable_id=2, name="Transactional Channel", channel_type="Transactional", medium="Email"
    )
    opt_in = MessageType.objects.create(
        project=project, iterable_id=10, name="Newsletter", channel=marketing, policy="OptIn"
    )
    template = Template.objects.create(project=project, iterable_id=100, name="Newsletter template", medium="Email")
    notification = Notification.objects.create(
        key="race_newsletter",
        name="Race newsletter",
        audience="students",
        project=project,
        medium="Email",
        trigger_type="api_send",
        campaign_id=1,
        message_type=opt_in,
        status="active",
    )
    user = User.objects.create_user("race-engineer", password="a long race password")
    user.groups.add(Group.objects.get(name="engineering"))
    return Stage(project, marketing, transactional, opt_in, notification, template, user)


def _patch(user: User, url: str, body: dict, results: list, barrier: threading.Barrier) -> None:
    client = Client()
    client.force_login(user)
    try:
        barrier.wait(timeout=10)
        response = client.patch(url, body, content_type="application/json")
        results.append(response)
    finally:
        connection.close()


def _stored_violations(stage: Stage) -> int:
    notification = Notification.objects.select_related("message_type__channel").get(pk=stage.notification.pk)
    types = [notification.message_type, *(t.message_type for t in notification.templates.all() if t.message_type)]
    return sum(
        1
        for t in types
        if policy.is_marketing_message(t.name) or (t.channel.channel_type == "Marketing" and t.policy != "OptIn")
    )


def race_round(stage: Stage, kind: str, round_no: int, tally: RaceTally) -> None:
    """One round of one kind of race; the tally records what happened."""
    # A fresh type per round, allowed alone (opt-in on Marketing, or opt-out on Transactional).
    candidate = MessageType.objects.create(
        project=stage.project,
        iterable_id=1000 + 100_000 * KINDS.index(kind) + round_no,
        name=f"Candidate {kind} {round_no}",
        channel=stage.marketing if kind != "channel" else stage.transactional,
        policy="OptIn" if kind != "channel" else "OptOut",
    )
    Template.objects.filter(pk=stage.template.pk).update(message_type=None)
    if kind == "channel":
        Channel.objects.filter(pk=stage.transactional.pk).update(channel_type="Transactional")

    key = stage.notification.key
    if kind == "type":
        edits = [
            (f"/api/notifications/{key}/", {"message_type": candidate.pk}),
            (f"/api/message-types/{candidate.pk}/", {"policy": "OptOut"}),
        ]
    elif kind == "template":
        Template.objects.filter(pk=stage.template.pk).update(message_type=candidate)
        edits = [
            (f"/api/notifications/{key}/", {"templates": [stage.template.pk]}),
            (f"/api/message-types/{candidate.pk}/", {"policy": "OptOut"}),
        ]
    elif kind == "channel":
        edits = [
            (f"/api/notifications/{key}/", {"message_type": candidate.pk}),
            (f"/api/channels/{stage.transactional.pk}/", {"channel_type": "Marketing"}),
        ]
    elif kind == "rename":
        edits = [
            (f"/api/notifications/{key}/", {"message_type": candidate.pk}),
            # A different disguise each round: names are unique per project.
            (f"/api/message-types/{candidate.pk}/", {"name": "Marketing" + "\u00a0" * (round_no + 1) + "Message"}),
        ]
    else:
        raise ValueError(kind)

    results: list = []
    barrier = threading.Barrier(len(edits))
    threads = [threading.Thread(target=_patch, args=(stage.user, url, body, results, barrier)) for url, body in edits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    tally.rounds += 1
    statuses = sorted(r.status_code for r in results)
    tally.outcomes[tuple(statuses)] += 1
    if statuses == [200, 200]:
        tally.both_succeeded += 1
    tally.server_errors += sum(1 for s in statuses if s >= 500)
    for response in results:
        if response.status_code in (400, 409):
            codes = {e.get("code") for e in response.json().get("errors", [])}
            if codes & GUARD_CODES:
                tally.one_refused += 1
            else:
                tally.unclear_refusals += 1
    tally.violations_stored += _stored_violations(stage)
    # Leave the next round a clean slate, whichever edit won (links first: a stored violation, possible
    # only without the database guard, must not block the reset).
    Notification.templates.through.objects.filter(notification=stage.notification).delete()
    Notification.objects.filter(pk=stage.notification.pk).update(message_type=stage.opt_in)


KINDS = ("type", "template", "channel", "rename")
