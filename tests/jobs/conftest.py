"""Fixtures for the seed jobs: one emulator per session (loopback), a project wired to it, its channels."""

from __future__ import annotations

import pytest
from _jobs_seed import CHANNELS, KEY, KEY_ENV, seed
from factories import ChannelFactory, ProjectFactory

from catalog.iterable import clear_client_cache, client_for_project
from iterable_emulator.testing import EmulatorServer


@pytest.fixture(scope="session")
def emulator_server():
    with EmulatorServer(seed(), rate_limits_enabled=False) as emu:
        yield emu


@pytest.fixture
def emulator(emulator_server):
    emulator_server.reset()
    return emulator_server


@pytest.fixture
def project(db, emulator, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    clear_client_cache()
    project = ProjectFactory(name="Jobs project", api_key_env=KEY_ENV, api_base_url=emulator.us_url)
    for c in CHANNELS:
        ChannelFactory(project=project, iterable_id=c["id"], name=c["name"], channel_type=c["channelType"],
                       medium=c["messageMedium"])  # fmt: skip
    client = client_for_project(project)
    client._sleep = lambda seconds: None
    if client._pacer is not None:
        client._pacer._sleep = lambda seconds: None
    yield project
    clear_client_cache()


def _grant(user, *codenames):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # a fresh copy: permissions are cached on the instance


@pytest.fixture
def operator(user_in_role):
    """An engineer who may run jobs (the permission catalog/roles.py does not give any role yet)."""
    return _grant(user_in_role("engineering", username="operator"), "run_jobs")


@pytest.fixture
def approver(user_in_role):
    return _grant(user_in_role("admin", username="approver"), "run_jobs", "approve_deletions")


@pytest.fixture
def api_for():
    from rest_framework.test import APIClient

    from catalog.tokens.services import api_token_create

    def make(user):
        client = APIClient()
        _, raw = api_token_create(actor=user, user=user, name="jobs tests")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def sender(user_in_role):
    """The other marketing system's service account: it may only send opt-out events."""
    return _grant(user_in_role(None, username="workato"), "receive_opt_outs")


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.JOBS_UPLOAD_DIR = tmp_path / "job-uploads"
    return settings.JOBS_UPLOAD_DIR


def pytest_configure(config):
    config.addinivalue_line("markers", "qcluster: starts real manage.py qcluster processes (about 20-30 s)")
