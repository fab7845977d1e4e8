"""The health endpoint for load balancers and monitoring; no login (it names no secrets or people)."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from catalog.services.health import health_report


@never_cache
def health(request):
    """200 while the database answers (the only thing this process cannot work without), else 503.

    ?deep=1 adds the task broker's backlog and each Iterable project's reachability, reported but not
    failing the check: an Iterable outage must not take the dashboard out of the load balancer.
    """
    report = health_report(deep=request.GET.get("deep") == "1")
    return JsonResponse(report, status=200 if report["ok"] else 503)
