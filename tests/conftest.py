"""Shared fixtures. Tests talk to the database pytest-django sets up (SQLite or PostgreSQL)."""

import os
from types import SimpleNamespace

import pytest
from factories import (
    ChannelFactory,
    MessageTypeFactory,
    NotificationFactory,
    OwnerFactory,
    ProjectFactory,
    TemplateFactory,
    UserFactory,
)

from catalog.models import IterableProject

NOT_RUN = "BROWSER TEST NOT RUN"

# Clients per door, the browser, catalogs beyond small_catalog: fixtures every capability's tests may use.
pytest_plugins = ["testkit.clients", "testkit.catalogs", "testkit.browser"]


def _browser_tests_not_run(config) -> list:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    return [report for report in skipped if NOT_RUN in str(getattr(report, "longrepr", ""))]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Browser tests that could not run (no Chromium) are said loudly, never passed over in silence."""
    not_run = _browser_tests_not_run(config)
    if not not_run:
        return
    banner = "!" * 100
    terminalreporter.write_line(banner, red=True, bold=True)
    terminalreporter.write_line(
        f"{len(not_run)} BROWSER TESTS WERE NOT RUN: Chromium is missing. Install Debian's chromium package "
        "(apt-get install chromium).",
        red=True,
        bold=True,
    )
    if os.environ.get("CI", "").lower() == "true":
        terminalreporter.write_line("CI=true: failing the run rather than skipping them.", red=True, bold=True)
    terminalreporter.write_line(banner, red=True, bold=True)


def pytest_collection_modifyitems(config, items):
    """A transactional test must restore the database it found (serialized_rollback): its flush re-creates the role
    groups through post_migrate, and the next test that restores the serialized database would then collide."""
    careless = [
        item.nodeid
        for item in items
        if (marker := item.get_closest_marker("django_db"))
        and marker.kwargs.get("transaction")
        and not marker.kwargs.get("serialized_rollback")
    ]
    if careless:
        raise pytest.UsageError(f"django_db(transaction=True) needs serialized_rollback=True: {', '.join(careless)}")


def pytest_sessionfinish(session, exitstatus):
    if (
        os.environ.get("CI", "").lower() == "true"
        and session.exitstatus == 0
        and _browser_tests_not_run(session.config)
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _fresh_rate_counts():
    """Rate counts (refused API tokens per address, deep health checks per user) live in the process's cache:
    every test client is 127.0.0.1, so one test's refused tokens would otherwise throttle the next test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def small_catalog(db):
    """One project with the seed's subscription schema: an opt-in marketing type, the forbidden
    "Marketing Message", a transactional type, and one active notification on each allowed type."""
    project = ProjectFactory(name="Test project", api_key_env="ITERABLE_API_KEY_TEST")
    marketing = ChannelFactory(project=project, iterable_id=1, name="Marketing Channel")
    transactional = ChannelFactory(
        project=project, iterable_id=2, name="Transactional Channel", channel_type="Transactional"
    )
    opt_in = MessageTypeFactory(channel=marketing, iterable_id=11, name="GitLab Marketing")
    marketing_message = MessageTypeFactory(
        channel=marketing, iterable_id=12, name="Marketing Message", policy="OptOut", deprecated=True
    )
    transactional_type = MessageTypeFactory(
        channel=transactional, iterable_id=13, name="Transactional", policy="OptOut"
    )
    owner = OwnerFactory(name="Lifecycle Marketing", email="lifecycle@example.com")
    template = TemplateFactory(message_type=opt_in, iterable_id=501, name="Digest", campaign_id=401)
    forbidden_template = TemplateFactory(message_type=marketing_message, iterable_id=502, name="Old newsletter")
    digest = NotificationFactory(
        key="weekly_digest", name="Weekly digest", message_type=opt_in, campaign_id=401,
        templates=[template], owners=[owner],
    )  # fmt: skip
    receipt = NotificationFactory(
        key="receipt", name="Receipt", audience="employers", message_type=transactional_type, campaign_id=402
    )
    return SimpleNamespace(
        project=project,
        marketing=marketing,
        transactional=transactional,
        opt_in=opt_in,
        marketing_message=marketing_message,
        transactional_type=transactional_type,
        owner=owner,
        template=template,
        forbidden_template=forbidden_template,
        digest=digest,
        receipt=receipt,
    )


@pytest.fixture
def user_in_role(db):
    """Make a user in one of the roles (viewer, marketing, engineering, admin) or in none (role=None)."""

    def make(role: str | None, username: str | None = None):
        name = username or f"{role or 'norole'}-user"
        return UserFactory(username=name, email=f"{role or 'norole'}@example.com", role=role)

    return make


ROLES = ["viewer", "marketing", "engineering", "admin"]


DEMO_KEYS = {"ITERABLE_API_KEY_STUDENT_US": "test-student-key", "ITERABLE_API_KEY_EMPLOYER_US": "test-employer-key"}


@pytest.fixture(scope="session")
def demo_emulator():
    """One emulator for the session, seeded like the demo (catalog's Iterable side plus demo contacts)."""
    from catalog.services.emulator_seed import emulator_seed_build
    from iterable_emulator.testing import EmulatorServer

    with pytest.MonkeyPatch.context() as patch:
        for name, value in DEMO_KEYS.items():
            patch.setenv(name, value)
        seed = emulator_seed_build()
    with EmulatorServer(seed, rate_limits_enabled=False) as emulator:
        yield emulator


DEMO_MODELS = [
    "catalog.Owner", "catalog.IterableProject", "catalog.Channel", "catalog.MessageType", "catalog.Template",
    "catalog.Journey", "catalog.CustomEvent", "catalog.EventField", "catalog.Notification",
]  # fmt: skip
_demo_rows: list[str] = []


def _load_demo_catalog(api_base_url: str) -> None:
    """The demo catalog, loaded through the real service once per session, then replayed from its rows.

    Loading it through the guarded, audited service costs about a second; the replay (what loaddata does:
    raw saves, no guard or signals needed for rows the guard already accepted) costs a tenth of that.
    """
    from django.apps import apps
    from django.core import serializers

    from catalog.services.demo import demo_catalog_load

    if not _demo_rows:
        demo_catalog_load(api_base_url=api_base_url)
        querysets = [apps.get_model(label).objects.order_by("pk") for label in DEMO_MODELS]
        _demo_rows.append(serializers.serialize("json", [obj for qs in querysets for obj in qs]))
        return
    for row in serializers.deserialize("json", _demo_rows[0]):
        if isinstance(row.object, IterableProject):
            row.object.api_base_url = api_base_url
        row.save()
    # Rows came with their ids: move PostgreSQL's sequences past them, as loaddata does.
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [apps.get_model(label) for label in DEMO_MODELS]):
            cursor.execute(sql)


@pytest.fixture
def demo(db, demo_emulator, monkeypatch):
    """The demo catalog in the database, pointed at a freshly reset demo emulator."""
    from django.core.cache import cache

    from catalog.iterable import clear_client_cache

    for name, value in DEMO_KEYS.items():
        monkeypatch.setenv(name, value)
    demo_emulator.reset()
    _load_demo_catalog(demo_emulator.us_url)
    clear_client_cache()
    cache.clear()
    yield SimpleNamespace(
        emulator=demo_emulator,
        student=IterableProject.objects.get(name="Student - US"),
        employer=IterableProject.objects.get(name="Employer - US"),
    )
    clear_client_cache()
