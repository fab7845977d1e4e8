"""The contact lookup's routes: its page (the "catalog" namespace) and its API (the "api" namespace)."""

from django.urls import path

from catalog.contacts import api, views

urlpatterns = [
    path("contacts/", views.ContactLookupView.as_view(), name="contact_lookup"),
    path("contacts/lookups/<int:event_id>/", views.ContactLookupSharedView.as_view(), name="contact_lookup_shared"),
]


def api_register(router) -> None:
    router.register("contacts/lookup", api.ContactLookupViewSet, basename="contact-lookup")
