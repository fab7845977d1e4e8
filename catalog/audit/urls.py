from django.urls import path

from catalog.audit import api, views

urlpatterns = [
    path("audit/", views.AuditListView.as_view(), name="audit_list"),
    path("audit/export.csv", views.AuditExportView.as_view(), name="audit_export"),
]


def api_register(router) -> None:
    router.register("audit-events", api.AuditEventViewSet, basename="auditevent")
