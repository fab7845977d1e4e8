"""Form pieces every slice's forms share: bounded choices, uploads within their limit, keys without control
characters. The core's forms (notifications and the other catalog objects) are in catalog/core/forms.py."""

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator

from catalog.services.input_limits import MAX_UPLOAD_BYTES, control_characters


class CachedChoiceIterator(ModelChoiceIterator):
    """A model choice's options from its queryset's own rows, read once: a select reads its options twice when
    drawn (the first one for its `required` attribute, then all), and a page may ask for them again; Django's
    iterator reads the database each time. A submitted value is still looked up in the queryset itself."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)

    def __len__(self):
        return len(self.queryset) + (1 if self.field.empty_label is not None else 0)

    def __bool__(self):
        return self.field.empty_label is not None or bool(self.queryset)


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's field, except that an id too large for any integer column is an invalid choice: Django looks
    the values up with ``pk__in``, which SQLite refuses with OverflowError (a 500) for such a number."""

    def _check_values(self, value):
        for pk in value if isinstance(value, list | tuple) else []:
            digits = str(pk).strip().lstrip("-")
            if digits.isascii() and digits.isdigit() and int(digits) > 2**63 - 1:
                message = self.error_messages["invalid_pk_value"]
                raise ValidationError(message, code="invalid_pk_value", params={"pk": pk})
        return super()._check_values(value)


# What a multipart body may hold besides its file (the boundaries, the part headers, the other fields).
FORM_OVERHEAD_BYTES = 64 * 1024


def _too_large(limit: int) -> ValidationError:
    return ValidationError(
        f"The file is larger than {limit // (1024 * 1024)} MB (the limit); split it.", code="too_large"
    )


def upload_within_limit(upload, limit: int = MAX_UPLOAD_BYTES):
    if upload is not None and upload.size > limit:
        raise _too_large(limit)
    return upload


def upload_body_within_limit(meta, limit: int = MAX_UPLOAD_BYTES) -> None:
    """Refuse an upload whose request says (CONTENT_LENGTH) it is larger than the limit, before its body is read.

    Django spools a file part to disk as it parses the body, before any form or serializer sees the file's size;
    call this before anything touches ``request.POST`` or ``request.FILES`` (for a page, that includes the CSRF
    check). A body that declares no length is read as empty by Django's WSGI request, so it is bounded too."""
    length = str(meta.get("CONTENT_LENGTH") or "0")
    if length.isascii() and length.isdigit() and int(length) > limit + FORM_OVERHEAD_BYTES:
        raise _too_large(limit)


class KeyChoiceField(forms.ModelChoiceField):
    """Choose by a text key; NUL or control characters are an invalid choice, not a database error."""

    def to_python(self, value):
        if control_characters(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)
