"""/api/: the catalog resources, the OpenAPI schema, the docs (served offline) and the token pages."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import routers

from catalog.api import schema, views  # noqa: F401 (schema registers the token scheme)
from catalog.api.permissions import CanReadCatalog
from catalog.audit import urls as audit_urls
from catalog.contacts import urls as contacts_urls
from catalog.core import urls as core_urls
from catalog.health import urls as health_urls
from catalog.jobs import urls as jobs_urls
from catalog.people import urls as people_urls
from catalog.resync import urls as resync_urls
from catalog.sends import urls as sends_urls
from catalog.sync import urls as sync_urls
from catalog.tokens import urls as tokens_urls


class RootView(routers.APIRootView):
    permission_classes = [CanReadCatalog]


class Router(routers.DefaultRouter):
    APIRootView = RootView
    include_format_suffixes = False


router = Router()
core_urls.api_register(router)
audit_urls.api_register(router)
contacts_urls.api_register(router)
resync_urls.api_register(router)
jobs_urls.api_register(router)
people_urls.api_register(router)
sends_urls.api_register(router)
sync_urls.api_register(router)
health_urls.api_register(router)

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the Content-Security-Policy allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    *tokens_urls.urlpatterns,
    *health_urls.api_urlpatterns,
    *jobs_urls.api_urlpatterns,
    *people_urls.api_urlpatterns,
    path("", include(router.urls)),
    # [\s\S], not ".": a path with a newline in it is unknown too, and must get the JSON 404, not the HTML one.
    re_path(r"^[\s\S]*$", views.UnknownPathView.as_view(), name="unknown"),
]
