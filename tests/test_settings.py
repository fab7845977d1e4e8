"""Settings come from the environment; production values pass `check --deploy` with no warnings."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "iterable_admin.settings",
    "DEBUG": "0",
    "SECRET_KEY": "x7!k2@p9#v4$q8%m1^z6&w3*r5(t0)y-u_i+o=a{s}d[f]g;h:j'l,c.b<n>e?",
    "ALLOWED_HOSTS": "iterable-admin.example.com",
    "DATABASE_URL": "postgres://app:secret@db.example.com:5432/iterable_admin",
}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    # Only what a deployment would have: nothing the test session set for itself (the browser tests
    # set DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses).
    dropped = {"SECRET_KEY", "DATABASE_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_values(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_without_a_secret_key_from_the_environment(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", "--deploy", env={**env, "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "catalog.E001" in result.stderr


def test_database_url_selects_postgresql_and_default_is_sqlite(tmp_path):
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    sqlite = manage(
        "shell", "-c", code, env={"DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "iterable_admin.settings"}
    )
    assert sqlite.stdout.strip().splitlines()[-1] == "django.db.backends.sqlite3", sqlite.stderr
    pg = manage("shell", "-c", code, env={**PRODUCTION, "DATA_DIR": str(tmp_path)})
    assert pg.stdout.strip().splitlines()[-1] == "django.db.backends.postgresql", pg.stderr


def test_bad_boolean_is_a_clear_error(tmp_path):
    result = manage(
        "check", env={"DEBUG": "maybe", "DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "iterable_admin.settings"}
    )
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr
