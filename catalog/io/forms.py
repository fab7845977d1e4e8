from django import forms

from catalog.forms import upload_within_limit
from catalog.io.services.schema import MAX_IMPORT_BYTES


class CatalogImportForm(forms.Form):
    file = forms.FileField(
        label="Catalog file (YAML or JSON)",
        help_text="A file exported from this dashboard. Objects are created or updated, never deleted.",
    )

    def clean_file(self):
        return upload_within_limit(self.cleaned_data.get("file"), MAX_IMPORT_BYTES)
