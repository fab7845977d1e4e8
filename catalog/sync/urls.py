"""The sync's routes: its pages (under the "catalog" namespace) and its API (under "api"), which the project's
url modules include. The names are the ones templates and clients already use."""

from django.urls import path

from catalog.sync import api, views

urlpatterns = [
    path("sync/", views.SyncRunListView.as_view(), name="sync_run_list"),
    path("sync/start/", views.SyncStartView.as_view(), name="sync_start"),
    path("sync/runs/<int:pk>/", views.SyncRunDetailView.as_view(), name="sync_run_detail"),
    path("sync/findings/", views.SyncFindingListView.as_view(), name="sync_finding_list"),
    path("sync/guard/", views.IterableGuardView.as_view(), name="sync_iterable_guard"),
    path("sync/orphans/", views.OrphanListView.as_view(), name="sync_orphan_list"),
    path(
        "sync/orphans/<int:project>/templates/<int:iterable_id>/add/",
        views.OrphanAddView.as_view(),
        {"kind": "template"},
        name="sync_orphan_add_template",
    ),
    path(
        "sync/orphans/<int:project>/campaigns/<int:iterable_id>/add/",
        views.OrphanAddView.as_view(),
        {"kind": "campaign"},
        name="sync_orphan_add_campaign",
    ),
]


def api_register(router) -> None:
    router.register("sync/runs", api.SyncRunViewSet, basename="sync-run")
    router.register("sync/findings", api.SyncFindingViewSet, basename="sync-finding")
    router.register("sync/orphans", api.OrphanViewSet, basename="sync-orphan")
    router.register("sync/iterable-violations", api.IterableViolationViewSet, basename="sync-iterable-violation")
