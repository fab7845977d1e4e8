"""Failure drills: the database gone mid-request, Iterable failing during a sync, a task delivered twice.
Each ends with nothing lost and a clear status. (A worker killed mid-run: tests/resync/test_resync_qcluster.py;
429 and 5xx during a resync: tests/resync/test_resync_runs.py.)"""

import time

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from catalog.iterable import IterableClient
from catalog.models import IterableMirror, Notification, SyncRun
from catalog.sync.services.runs import catalog_sync_project
from catalog.sync.tasks import catalog_sync_task
from tests.conftest import DEMO_KEYS


@pytest.fixture
def writes_fail(monkeypatch):
    """From now on the database refuses every write, as a database that went away mid-request would."""
    real_execute = CursorWrapper.execute

    def execute(self, sql, params=None):
        if sql.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            raise OperationalError("server closed the connection unexpectedly")
        return real_execute(self, sql, params)

    def arm():
        monkeypatch.setattr(CursorWrapper, "execute", execute)

    return arm


def test_database_gone_during_a_page_write_loses_nothing(demo, client, user_in_role, writes_fail, monkeypatch):
    client.force_login(user_in_role("engineering"))
    url = "/notifications/student_activity_new_message/edit/"
    form = client.get(url).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(name="Renamed while the database is down", tags="[]")
    writes_fail()
    response = client.post(url, data)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Nothing was saved" in response.content.decode()
    monkeypatch.undo()  # the database is back
    assert Notification.objects.get(key="student_activity_new_message").name == "New message received"


def test_database_gone_during_an_api_write(demo, user_in_role, writes_fail):
    from rest_framework.test import APIClient

    from catalog.tokens.services import api_token_create

    user = user_in_role("engineering")
    _, token = api_token_create(actor=user, user=user, name="drill")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    writes_fail()
    response = api.patch("/api/notifications/student_activity_new_message/", {"name": "x"}, format="json")
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "database-unavailable"


def fast_client(demo, **kwargs) -> IterableClient:
    options = {"base_url": demo.emulator.us_url, "pacing": False, "sleep": lambda seconds: None, "timeout": (1, 0.5)}
    return IterableClient(DEMO_KEYS["ITERABLE_API_KEY_STUDENT_US"], **{**options, **kwargs})


def test_iterable_5xx_burst_during_a_sync_is_ridden_out(demo):
    demo.emulator.configure(faults=[{"endpoint": "GET /api/templates", "kind": "error503", "count": 2}])
    run = catalog_sync_project(project=demo.student, client=fast_client(demo, max_attempts=3))
    assert run.status == "succeeded"
    assert IterableMirror.objects.filter(project=demo.student, kind="template").count() > 20


def test_iterable_timeouts_during_a_sync_fail_it_cleanly_then_a_rerun_recovers(demo):
    first = catalog_sync_project(project=demo.student, client=fast_client(demo))
    mirror = set(IterableMirror.objects.filter(project=demo.student).values_list("kind", "iterable_id", "payload_hash"))
    demo.emulator.configure(
        faults=[{"endpoint": "GET /api/campaigns", "kind": "slow", "seconds": 1.5, "count": 2, "process": False}]
    )
    failed = catalog_sync_project(project=demo.student, client=fast_client(demo, max_attempts=2))
    assert first.status == "succeeded" and failed.status == "failed"
    assert failed.errors[0]["code"] == "ReadTimeout"
    after = set(IterableMirror.objects.filter(project=demo.student).values_list("kind", "iterable_id", "payload_hash"))
    assert after == mirror  # nothing half-written
    recovered = catalog_sync_project(project=demo.student, client=fast_client(demo))
    assert recovered.status == "succeeded"
    # The two slow requests the client gave up on still finish in the emulator: wait for them, so their
    # records cannot land in the next test's request log (one campaigns read per sync, two for the failed one).
    deadline = time.monotonic() + 5
    while len(demo.emulator.requests(path="GET /api/campaigns")) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(demo.emulator.requests(path="GET /api/campaigns")) == 4


def test_a_sync_task_delivered_twice_changes_nothing_the_second_time(demo):
    first = catalog_sync_task(demo.employer.pk)
    mirror = set(
        IterableMirror.objects.filter(project=demo.employer).values_list("kind", "iterable_id", "payload_hash")
    )
    second = catalog_sync_task(demo.employer.pk)
    assert first["status"] == second["status"] == "succeeded"
    assert (
        set(IterableMirror.objects.filter(project=demo.employer).values_list("kind", "iterable_id", "payload_hash"))
        == mirror
    )
    counts = SyncRun.objects.get(pk=second["run_id"]).counts
    assert all(
        kind_counts.get("created", 0) == 0 and kind_counts.get("updated", 0) == 0 for kind_counts in counts.values()
    )
