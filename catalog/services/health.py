"""Health for a load balancer: the database (required), the task broker and each project's Iterable."""

import time
from functools import partial

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ

from catalog.iterable import IterableClient, IterableError, client_for_project
from catalog.models import IterableProject
from catalog.services.iterable_support import fan_out
from catalog.services.rate_limits import rate_window_count, rate_window_wait
from catalog.tokens.services import TokenError, TokenThrottled, api_token_authenticate

# Any role may run the deep check: it tells whether the dashboard works, not what is in it.
DEEP_PERMISSION = "catalog.view_notification"

IterableProbeTimeout = (2.0, 3.0)


def _check(fn) -> dict:
    started = time.perf_counter()
    try:
        detail = fn()
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000), **(detail or {})}
    except Exception as error:  # a health check reports any failure, it never raises
        return {"ok": False, "ms": round((time.perf_counter() - started) * 1000), "error": type(error).__name__}


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _broker() -> dict:
    queued = OrmQ.objects.count()
    oldest = OrmQ.objects.order_by("lock").values_list("lock", flat=True).first()
    age = (timezone.now() - oldest).total_seconds() if oldest else 0
    return {"queued": queued, "oldest_seconds": round(age)}


def _iterable(project: IterableProject) -> dict:
    """One cheap read with a short timeout and no retries; a refused key is reachable but not ok
    (the "ok": False here overrides _check's)."""
    client = client_for_project(project)
    probe = IterableClient(client.api_key, base_url=client.base_url, timeout=IterableProbeTimeout, max_attempts=1)
    try:
        probe.get_channels()
    except IterableError as error:
        return {"ok": False, "project": project.name, "code": error.code, "status": error.status}
    finally:
        probe.close()
    return {"project": project.name}


def health_report(*, deep: bool) -> dict:
    """`deep` adds the broker and Iterable; the load balancer's shallow check is the database alone."""
    report = {"database": _check(_database)}
    if deep:
        report["broker"] = _check(_broker)
        projects = list(IterableProject.objects.all())
        report["iterable"] = fan_out({str(p.pk): partial(_check, partial(_iterable, p)) for p in projects})
    report["ok"] = report["database"]["ok"]
    return report


def health_deep_caller(request):
    """The user running the deep check (a session with a role, or an API token's user), or None.

    Refused tokens count against the caller's address like the API's; past the limit this raises TokenThrottled.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        keyword, _, raw = request.headers.get("Authorization", "").partition(" ")
        if keyword.lower() not in {"bearer", "token"} or not raw.strip():
            return None
        try:
            user = api_token_authenticate(raw.strip(), address=get_client_ip_address(request)).user
        except TokenThrottled:
            raise
        except TokenError:
            return None
    return user if user.is_active and user.has_perm(DEEP_PERMISSION) else None


def health_deep_rate_take(user) -> int:
    """Count one deep check for `user`; 0 if it may run now, else the seconds to wait (HEALTH_DEEP_RATE_LIMIT)."""
    limit, seconds = getattr(settings, "HEALTH_DEEP_RATE_LIMIT", (6, 60))
    if rate_window_count(f"health-deep:{user.pk}", seconds) <= limit:
        return 0
    return rate_window_wait(seconds)
