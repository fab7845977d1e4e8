"""The jobs' routes: pages (the "catalog" namespace) and the API on the one router (the "api" namespace)."""

from django.urls import path
from rest_framework import routers

from catalog.jobs import api, views

urlpatterns = [
    path("jobs/", views.JobListView.as_view(), name="job_list"),
    path("jobs/new/", views.JobFormView.as_view(), name="job_create"),
    path("jobs/<int:pk>/", views.JobDetailView.as_view(), name="job_detail"),
    path("jobs/<int:pk>/edit/", views.JobFormView.as_view(), name="job_edit"),
    path("jobs/<int:pk>/run/", views.JobRunStartView.as_view(), name="job_run_start"),
    path("jobs/runs/<int:pk>/", views.RunDetailView.as_view(), name="job_run"),
    path("jobs/runs/<int:pk>/progress/", views.RunProgressView.as_view(), name="job_run_progress"),
    path("jobs/runs/<int:pk>/<str:verb>/", views.RunActionView.as_view(), name="job_run_action"),
    path("jobs/deletions/", views.DeletionListView.as_view(), name="job_deletions"),
    path("jobs/cron-preview/", views.CronPreviewView.as_view(), name="job_cron_preview"),
]

# catalog/api/urls.py includes this slice's ``api_urlpatterns`` but does not call ``api_register``: the
# viewsets get their routes from a router of their own (same paths and names in the "api" namespace).
_router = routers.SimpleRouter()
_router.register("jobs/runs", api.JobRunViewSet, basename="job-run")
_router.register("jobs/deletions", api.DeletionRecordViewSet, basename="job-deletion")
_router.register("jobs", api.JobViewSet, basename="job")
api_urlpatterns: list = list(_router.urls)


def api_register(router) -> None:
    """Nothing: the routes are in ``api_urlpatterns`` (registering them on the one router too would double them)."""
