"""Login, logout and password pages. Password reset works only where mail can go out: elsewhere its pages
answer 404, so nobody is told a reset mail is on its way when none can be sent."""

from functools import wraps

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.urls import path


def _only_with_mail(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not getattr(settings, "PASSWORD_RESET_ENABLED", False):
            raise Http404("Password reset is off on this server (it sends no mail); ask an admin for a new password.")
        return view(request, *args, **kwargs)

    return wrapper


urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password_reset/", _only_with_mail(auth_views.PasswordResetView.as_view()), name="password_reset"),
    path(
        "password_reset/done/",
        _only_with_mail(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        _only_with_mail(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        _only_with_mail(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
]
