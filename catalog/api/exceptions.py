"""The one error format, for every error the API returns (400, 401, 403, 404, 405, 409, 415, 429):

    {"errors": [{"field": "message_type", "code": "optout-marketing", "message": "Notification ..."}]}

`field` is the input field the error is about (a dotted path for nested input), or null when it is about
the request as a whole. Guard refusals keep the guard's code and sentence.
"""

import logging
import re

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("django.request")

# DRF's key for errors about the whole input, and Django's (kept by as_serializer_error for model errors).
NON_FIELD_KEYS = {api_settings.NON_FIELD_ERRORS_KEY, NON_FIELD_ERRORS}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the catalog."
    default_code = "conflict"


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _printable(text) -> str:
    """A message as UTF-8 can carry it: DRF's messages quote the input ('"\\ud800" is not a valid choice'), and a
    lone surrogate JSON escaped in the body would otherwise make the JSON renderer fail while rendering the 400."""
    return _LONE_SURROGATE.sub("\ufffd", str(text))


def _is_leaf(value) -> bool:
    return isinstance(value, dict) and set(value) == {"message", "code"} and isinstance(value["message"], str)


def flatten(details, path: tuple = ()) -> list[dict]:
    """DRF's nested {"field": [{"message", "code"}]} details as a flat list of errors."""
    if _is_leaf(details):
        names = [str(p) for p in path if p not in NON_FIELD_KEYS]
        field = _printable(".".join(names)) or None
        return [{"field": field, "code": _printable(details["code"]), "message": _printable(details["message"])}]
    if isinstance(details, dict):
        return [error for key, value in details.items() for error in flatten(value, (*path, key))]
    if isinstance(details, list):
        return [error for value in details for error in flatten(value, path)]
    return [{"field": _printable(".".join(map(str, path))) or None, "code": "error", "message": _printable(details)}]


def to_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, RequestDataTooBig):
        from catalog.api.parsers import body_too_large

        return body_too_large()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, ProtectedError | RestrictedError):
        users = sorted(
            {str(obj) for obj in exc.protected_objects if obj is not None}
            if isinstance(exc, ProtectedError)
            else {str(obj) for obj in exc.restricted_objects}
        )
        named = ", ".join(users[:10]) + (f" and {len(users) - 10} more" if len(users) > 10 else "")
        return Conflict(f"Cannot delete: still used by {named}. Remove those uses first.", code="protected")
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        # ObjectDoesNotExist past the view's own lookup: the object was deleted while this request ran.
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def exception_handler(exc, context):
    exc = to_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return _server_error(exc, context)
    if not isinstance(exc, exceptions.APIException):
        return response
    response.data = {"errors": flatten(exc.get_full_details())}
    return response


def _server_error(exc, context):
    """A bug is still a 500, logged and signalled as Django would, but its body is the API's JSON error
    rather than Django's HTML page. A database that stopped answering is left to its middleware (503)."""
    from django.core.signals import got_request_exception
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, OperationalError | InterfaceError):
        return None
    request = context.get("request")
    django_request = getattr(request, "_request", request)
    logger.error("Internal Server Error: %s", getattr(django_request, "path", "?"), exc_info=exc)
    got_request_exception.send(sender=None, request=django_request)
    message = "Something went wrong on our side; it was logged with this request's id. Try again, or report it."
    return Response({"errors": [{"field": None, "code": "server_error", "message": message}]}, status=500)
