from catalog.audit import urls as audit_urls
from catalog.contacts import urls as contacts_urls
from catalog.core import urls as core_urls
from catalog.dashboard import urls as dashboard_urls
from catalog.io import urls as io_urls
from catalog.jobs import urls as jobs_urls
from catalog.people import urls as people_urls
from catalog.resync import urls as resync_urls
from catalog.sends import urls as sends_urls
from catalog.sync import urls as sync_urls

app_name = "catalog"

urlpatterns = [
    *dashboard_urls.urlpatterns,
    *core_urls.urlpatterns,
    *io_urls.urlpatterns,
    *audit_urls.urlpatterns,
    *contacts_urls.urlpatterns,
    *resync_urls.urlpatterns,
    *sends_urls.urlpatterns,
    *sync_urls.urlpatterns,
    *jobs_urls.urlpatterns,
    *people_urls.urlpatterns,
    # Last: the entity pages' slugs ("owners/", "templates/") must not shadow a capability's own pages.
    *core_urls.entity_urlpatterns,
]
