"""The jobs' routes: pages (the "catalog" namespace) and the API on the one router (the "api" namespace)."""

from django.urls import path

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

api_urlpatterns: list = []


def api_register(router) -> None:
    """The jobs' viewsets on the one router; runs and deletions first, so "runs" is never read as a job's id."""
    router.register("jobs/runs", api.JobRunViewSet, basename="job-run")
    router.register("jobs/deletions", api.DeletionRecordViewSet, basename="job-deletion")
    router.register("jobs", api.JobViewSet, basename="job")
