from django.urls import path, register_converter

from catalog.audit import urls as audit_urls
from catalog.contacts import urls as contacts_urls
from catalog.dashboard import urls as dashboard_urls
from catalog.io import urls as io_urls
from catalog.jobs import urls as jobs_urls
from catalog.people import urls as people_urls
from catalog.resync import urls as resync_urls
from catalog.sends import urls as sends_urls
from catalog.sync import urls as sync_urls
from catalog.views import catalog as views

app_name = "catalog"


class EntityConverter:
    """Matches the URL slug of a catalog entity ("message-types") and hands the view its model name."""

    regex = "|".join(sorted((e.slug for e in views.ENTITIES.values()), key=len, reverse=True))

    def to_python(self, value: str) -> str:
        return next(name for name, e in views.ENTITIES.items() if e.slug == value)

    def to_url(self, value: str) -> str:
        return views.ENTITIES[value].slug


register_converter(EntityConverter, "entity")

urlpatterns = [
    *dashboard_urls.urlpatterns,
    path("notifications/", views.NotificationListView.as_view(), name="notification_list"),
    *io_urls.urlpatterns,
    path("notifications/new/", views.NotificationFormView.as_view(), name="notification_create"),
    path("notifications/<slug:key>/", views.NotificationDetailView.as_view(), name="notification_detail"),
    path("notifications/<slug:key>/edit/", views.NotificationFormView.as_view(), name="notification_edit"),
    path("notifications/<slug:key>/delete/", views.NotificationDeleteView.as_view(), name="notification_delete"),
    *audit_urls.urlpatterns,
    *contacts_urls.urlpatterns,
    *resync_urls.urlpatterns,
    *sends_urls.urlpatterns,
    *sync_urls.urlpatterns,
    *jobs_urls.urlpatterns,
    *people_urls.urlpatterns,
    path("<entity:entity>/", views.EntityListView.as_view(), name="entity_list"),
    path("<entity:entity>/new/", views.EntityFormView.as_view(), name="entity_create"),
    path("<entity:entity>/<int:pk>/", views.EntityDetailView.as_view(), name="entity_detail"),
    path("<entity:entity>/<int:pk>/edit/", views.EntityFormView.as_view(), name="entity_edit"),
    path("<entity:entity>/<int:pk>/delete/", views.EntityDeleteView.as_view(), name="entity_delete"),
]
