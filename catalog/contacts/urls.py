"""The contact lookup's routes: its page (the "catalog" namespace) and its API (the "api" namespace)."""

from django.urls import path

from catalog.contacts import api, views

urlpatterns = [
    path("contacts/", views.ContactLookupView.as_view(), name="contact_lookup"),
]

api_urlpatterns = [
    path("contacts/lookup/", api.ContactLookupView.as_view(), name="contact-lookup"),
]
