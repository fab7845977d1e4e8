"""The resync's routes: its pages (the "catalog" namespace) and its API on the one router (the "api" namespace)."""

from django.urls import path

from catalog.resync import api, views

urlpatterns = [
    path("resync/", views.RunListView.as_view(), name="resync_runs"),
    path("resync/new/", views.RunStartView.as_view(), name="resync_start"),
    path("resync/contact/", views.ContactResyncView.as_view(), name="resync_contact"),
    path("resync/runs/<int:pk>/", views.RunDetailView.as_view(), name="resync_run"),
    path("resync/runs/<int:pk>/progress/", views.RunProgressView.as_view(), name="resync_run_progress"),
    path("resync/runs/<int:pk>/cancel/", views.RunActionView.as_view(action="cancel"), name="resync_run_cancel"),
    path("resync/runs/<int:pk>/retry/", views.RunActionView.as_view(action="retry"), name="resync_run_retry"),
    path("resync/runs/<int:pk>/apply/", views.RunActionView.as_view(action="apply"), name="resync_run_apply"),
    path("resync/imports/", views.ImportListView.as_view(), name="resync_imports"),
    path("resync/imports/<int:pk>/", views.ImportDetailView.as_view(), name="resync_import"),
    path("resync/contacts/", views.ContactListView.as_view(), name="resync_contacts"),
    path("resync/settings/", views.SettingsListView.as_view(), name="resync_settings_list"),
    path("resync/settings/<int:project_pk>/", views.SettingsFormView.as_view(), name="resync_settings"),
]


def api_register(router) -> None:
    router.register("resync/preferences", api.PreferenceUpsertViewSet, basename="resync-preferences")
    router.register("resync/imports", api.PreferenceImportViewSet, basename="resync-import")
    router.register("resync/contacts", api.ContactPreferenceViewSet, basename="resync-contact")
    router.register("resync/runs", api.RunViewSet, basename="resync-run")
    router.register("resync/settings", api.ResyncSettingsViewSet, basename="resync-settings")
