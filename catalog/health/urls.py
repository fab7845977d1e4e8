"""Live health's routes under /api/health/: Iterable's webhook receiver and the acknowledge form (plain Django
views: `api_urlpatterns`), and the API's viewsets on the one router (`api_register`)."""

from django.urls import path

from catalog.health import views

api_urlpatterns = [
    path("health/webhooks/<int:project_id>/", views.webhook_receive, name="health-webhook"),
    path(
        "health/alerts/<int:pk>/acknowledge-form/", views.alert_acknowledge_page, name="health-alert-acknowledge-form"
    ),
]


def api_register(router) -> None:
    # Route names kept: "health-backfill" (POST health/notifications/<key>/backfill/), "health-alert-list",
    # "health-alert-acknowledge"; a notification's series is "health-detail".
    router.register("health/notifications", views.NotificationHealthViewSet, basename="health")
    router.register("health/alerts", views.AlertViewSet, basename="health-alert")
