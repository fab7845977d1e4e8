"""The token pages, under /api/ (the "api" namespace) where script authors look for them."""

from django.urls import path

from catalog.tokens import views

urlpatterns = [
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("tokens/<int:pk>/rotate/", views.token_rotate, name="token-rotate"),
]
