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

# Error pages inside the dashboard's frame (the API answers its own errors in JSON).
handler400 = "catalog.views.errors.bad_request"
handler403 = "catalog.views.errors.permission_denied"
handler404 = "catalog.views.errors.page_not_found"
handler500 = "catalog.views.errors.server_error"
