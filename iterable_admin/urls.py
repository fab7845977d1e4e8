from django.contrib import admin
from django.urls import include, path

from catalog.views.health import health

urlpatterns = [
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/", include("catalog.views.accounts")),
    path("api/", include("catalog.api.urls")),
    path("", include("catalog.urls")),
]
