"""URLs the load test adds beside the project's own (bench/load_test.py points ROOT_URLCONF here).

Two yardsticks measured in the same run as the pages: a stock ModelAdmin changelist of the notifications on a
throwaway admin site, and a bare JSON view of the same 50 rows the list page shows (same query, no template,
no count, no filter form).
"""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.urls import path

from catalog.core.filters import NotificationFilterSet
from catalog.core.views import notification_rows
from catalog.models import Notification
from catalog.views.paging import PAGE_SIZE
from iterable_admin.urls import urlpatterns as project_urls

stock_site = admin.AdminSite(name="bench_stock_admin")
stock_site.register(Notification)


@login_required
def bare_rows(request):
    rows = notification_rows(NotificationFilterSet(None, list_columns=True).qs)[:PAGE_SIZE]
    data = [
        {
            "key": n.key,
            "name": n.name,
            "status": n.status,
            "project": n.project.name,
            "audience": n.audience,
            "medium": n.medium,
            "trigger": n.campaign_id if n.trigger_type == "api_send" else (n.event and n.event.name),
            "message_type": n.message_type.name,
            "policy": n.message_type.policy,
            "channel": n.message_type.channel.name,
            "owners": [o.name for o in n.owners.all()],
            "errors": n.verdict_errors,
            "warnings": n.verdict_warnings,
            "sends_30d": n.sends_30d,
            "updated_at": n.updated_at,
        }
        for n in rows
    ]
    return JsonResponse({"results": data})


urlpatterns = [
    path("bench/stock-admin/", stock_site.urls),
    path("bench/bare/notifications/", bare_rows),
    *project_urls,
]
