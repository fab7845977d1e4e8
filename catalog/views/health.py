"""The health endpoint for load balancers and monitoring.

The shallow check stays anonymous and cheap (one SELECT 1). The deep check names the projects and calls
Iterable once per project, so it needs a login with a role or an API token, and is rate limited per caller:
otherwise anyone could use it to learn the projects and to make this server call Iterable in a loop.
"""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from catalog.services.health import health_deep_caller, health_deep_rate_take, health_report
from catalog.tokens.services import TokenThrottled


@never_cache
def health(request):
    """200 while the database answers (the only thing this process cannot work without), else 503.

    ?deep=1 adds the task broker's backlog and each Iterable project's reachability, reported but not
    failing the check: an Iterable outage must not take the dashboard out of the load balancer.
    """
    deep = request.GET.get("deep") == "1"
    if deep:
        try:
            caller = health_deep_caller(request)
        except TokenThrottled as throttled:
            return _too_many(str(throttled), throttled.wait)
        if caller is None:
            return JsonResponse(
                {"ok": False, "error": "The deep check needs a login with a role or an API token "
                 "(Authorization: Bearer <token>); /healthz without ?deep=1 needs neither."},
                status=401,
            )  # fmt: skip
        wait = health_deep_rate_take(caller)
        if wait:
            return _too_many(f"Too many deep checks; try again in {wait} s.", wait)
    report = health_report(deep=deep)
    return JsonResponse(report, status=200 if report["ok"] else 503)


def _too_many(error: str, wait: int) -> JsonResponse:
    response = JsonResponse({"ok": False, "error": error}, status=429)
    response["Retry-After"] = str(wait)
    return response
