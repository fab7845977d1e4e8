from django.urls import path

from catalog.audit import views

urlpatterns = [
    path("audit/", views.AuditListView.as_view(), name="audit_list"),
    path("audit/export.csv", views.AuditExportView.as_view(), name="audit_export"),
]
