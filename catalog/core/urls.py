"""The core's routes: its pages (under the "catalog" namespace) and its API (under "api"), which catalog/urls.py
and catalog/api/urls.py include. The entity pages' catch-all slugs come last there (`entity_urlpatterns`), after
every capability's own pages."""

from django.urls import path, register_converter

from catalog.core import api, views


class EntityConverter:
    """Matches the URL slug of a catalog entity ("message-types") and hands the view its model name."""

    regex = "|".join(sorted((e.slug for e in views.ENTITIES.values()), key=len, reverse=True))

    def to_python(self, value: str) -> str:
        return next(name for name, e in views.ENTITIES.items() if e.slug == value)

    def to_url(self, value: str) -> str:
        return views.ENTITIES[value].slug


register_converter(EntityConverter, "entity")

urlpatterns = [
    path("notifications/", views.NotificationListView.as_view(), name="notification_list"),
    path("notifications/new/", views.NotificationFormView.as_view(), name="notification_create"),
    path("notifications/<slug:key>/", views.NotificationDetailView.as_view(), name="notification_detail"),
    path("notifications/<slug:key>/edit/", views.NotificationFormView.as_view(), name="notification_edit"),
    path("notifications/<slug:key>/delete/", views.NotificationDeleteView.as_view(), name="notification_delete"),
]

entity_urlpatterns = [
    path("<entity:entity>/", views.EntityListView.as_view(), name="entity_list"),
    path("<entity:entity>/new/", views.EntityFormView.as_view(), name="entity_create"),
    path("<entity:entity>/<int:pk>/", views.EntityDetailView.as_view(), name="entity_detail"),
    path("<entity:entity>/<int:pk>/edit/", views.EntityFormView.as_view(), name="entity_edit"),
    path("<entity:entity>/<int:pk>/delete/", views.EntityDeleteView.as_view(), name="entity_delete"),
]


def api_register(router) -> None:
    router.register("notifications", api.NotificationViewSet, basename="notification")
    router.register("message-types", api.MessageTypeViewSet, basename="messagetype")
    router.register("channels", api.ChannelViewSet, basename="channel")
    router.register("templates", api.TemplateViewSet, basename="template")
    router.register("journeys", api.JourneyViewSet, basename="journey")
    router.register("custom-events", api.CustomEventViewSet, basename="customevent")
    router.register("event-fields", api.EventFieldViewSet, basename="eventfield")
    router.register("owners", api.OwnerViewSet, basename="owner")
    router.register("projects", api.ProjectViewSet, basename="project")
    router.register("violations", api.GuardViolationViewSet, basename="violation")
