"""The import and export routes (under the "catalog" namespace), which catalog/urls.py includes. The slice has
no API of its own: the API's lists are the catalog's resources."""

from django.urls import path

from catalog.io import views

urlpatterns = [
    path("notifications/export.csv", views.NotificationCsvView.as_view(), name="notification_csv"),
    path("catalog/export/", views.CatalogExportView.as_view(), name="catalog_export"),
    path("catalog/import/", views.CatalogImportView.as_view(), name="catalog_import"),
    path("catalog/import/<int:pk>/", views.CatalogImportDetailView.as_view(), name="catalog_import_detail"),
]
