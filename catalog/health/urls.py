"""Live health under /api/health/: Iterable's webhook receiver, the API, and the acknowledge form."""

from django.urls import path

from catalog.health import views

urlpatterns = [
    path("webhooks/<int:project_id>/", views.webhook_receive, name="health-webhook"),
    path("notifications/<slug:key>/", views.NotificationHealthView.as_view(), name="health-notification"),
    path("notifications/<slug:key>/backfill/", views.NotificationBackfillView.as_view(), name="health-backfill"),
    path("alerts/", views.AlertListView.as_view(), name="health-alert-list"),
    path("alerts/<int:pk>/acknowledge/", views.AlertAcknowledgeView.as_view(), name="health-alert-acknowledge"),
    path("alerts/<int:pk>/acknowledge-form/", views.alert_acknowledge_page, name="health-alert-acknowledge-form"),
]
