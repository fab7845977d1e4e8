"""Live health's routes under /api/health/: Iterable's webhook receiver and the acknowledge form (plain Django
views: `api_urlpatterns`), and the API's viewsets on the one router (`api_register`)."""

from django.urls import path, re_path

from catalog.health import views

api_urlpatterns = [
    # At most 18 digits, like the short path (catalog/health/fastpath.py): a longer id is no project's and would
    # overflow the database's integer before it could be looked up.
    re_path(r"^health/webhooks/(?P<project_id>[0-9]{1,18})/$", views.webhook_receive, name="health-webhook"),
    path(
        "health/alerts/<int:pk>/acknowledge-form/", views.alert_acknowledge_page, name="health-alert-acknowledge-form"
    ),
]


def api_register(router) -> None:
    # Route names kept: "health-backfill" (POST health/notifications/<key>/backfill/), "health-alert-list",
    # "health-alert-acknowledge"; a notification's series is "health-detail".
    router.register("health/notifications", views.NotificationHealthViewSet, basename="health")
    router.register("health/alerts", views.AlertViewSet, basename="health-alert")
