"""Users and roles, managed by admins from the dashboard; the public page that sets an invited person's password."""

from django.urls import path

from catalog.people import views

urlpatterns = [
    path("people/", views.PeopleListView.as_view(), name="people_list"),
    path("people/<int:pk>/role/", views.PersonActionView.as_view(action="role"), name="people_role"),
    path("people/<int:pk>/deactivate/", views.PersonActionView.as_view(action="deactivate"), name="people_deactivate"),
    path("people/<int:pk>/reactivate/", views.PersonActionView.as_view(action="reactivate"), name="people_reactivate"),
    path(
        "people/<int:pk>/password-link/",
        views.PersonActionView.as_view(action="password_link"),
        name="people_password_link",
    ),
    path("welcome/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="people_set_password"),
]
api_urlpatterns: list = []


def api_register(router) -> None:
    """Registers this slice's API viewsets on the one router (none: people are managed from the pages)."""
