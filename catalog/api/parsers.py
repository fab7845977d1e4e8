"""The API's JSON parser: DRF's, with the body size and the nesting depth bounded.

DRF reads the body straight from the request stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never applies
to it, and Python's JSON decoder raises RecursionError (a 500) on a body nested about a thousand deep.
"""

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from catalog.services.input_limits import MAX_API_BODY_BYTES, MAX_JSON_DEPTH, json_loads_bounded


def body_limit() -> int:
    """Django's own limit on a request body read whole (it applies when a middleware read the body first)."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or MAX_API_BODY_BYTES


def body_too_large() -> ParseError:
    limit = body_limit() / 1024 / 1024
    return ParseError(f"The request body is larger than {limit:g} MB (the limit).", code="too_large")


class BoundedJSONParser(parsers.JSONParser):
    @staticmethod
    def _refuse_constant(name):
        # DRF's strict JSON: NaN and Infinity are not JSON, and no column stores them.
        raise ValueError(f"{name} is not valid JSON")

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return None
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = body_limit()
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise body_too_large()
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise ParseError(f"The request body is not {encoding} text.") from error
        try:
            return json_loads_bounded(text, MAX_JSON_DEPTH, parse_constant=self._refuse_constant)
        except ValueError as error:
            detail = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            raise ParseError(f"JSON parse error - {detail}.") from error
