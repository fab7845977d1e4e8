"""The idle timeout without a session write on every request: a session in use is saved (its expiry pushed
back by SESSION_COOKIE_AGE) at most once every SESSION_TOUCH_SECONDS, and never outlives the idle timeout."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.middleware import SESSION_TOUCH_SECONDS, SESSION_TOUCHED_KEY


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]


def _session(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_a_busy_session_is_saved_once_a_minute_and_its_expiry_moves(client, user_in_role, settings):
    client.force_login(user_in_role("viewer"))
    client.get("/")
    first_expiry = _session(client).expire_date
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    assert not [sql for sql in _writes(queries) if "django_session" in sql]
    assert _session(client).expire_date == first_expiry

    # A minute later the next request saves it again, pushing the expiry back by the idle timeout.
    session = client.session
    session[SESSION_TOUCHED_KEY] -= SESSION_TOUCH_SECONDS + 1
    session.save()
    before = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    assert [sql for sql in _writes(queries) if "django_session" in sql]
    expiry = _session(client).expire_date
    assert before + timedelta(seconds=settings.SESSION_COOKIE_AGE - 5) <= expiry
    assert expiry <= timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)


def test_an_idle_session_is_over(client, user_in_role):
    client.force_login(user_in_role("viewer"))
    assert client.get("/").status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=timezone.now())
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]
