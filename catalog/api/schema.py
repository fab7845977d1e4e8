"""OpenAPI details drf-spectacular cannot infer: the token scheme and the one error format on every operation."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error the API returns has this shape.",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {
                        "type": "string",
                        "nullable": True,
                        "description": "The input field (dotted for nested input), or null for the whole request.",
                    },
                    "code": {"type": "string", "description": "Machine-readable, e.g. optout-marketing, not_found."},
                    "message": {"type": "string", "description": "A sentence for people."},
                },
                "required": ["field", "code", "message"],
            },
        }
    },
    "required": ["errors"],
}

ERRORS_BY_CODE = {
    "400": "Invalid input, or a guard refusal (with the guard's code and sentence).",
    "401": "No credentials, or an invalid, expired or revoked token.",
    "403": "Your role may not do this.",
    "404": "No such object.",
    "405": "Method not allowed.",
    "406": "Cannot produce the requested content type.",
    "409": "The object is still in use and cannot be deleted.",
    "415": "Unsupported request content type (send JSON).",
    "429": "Too many requests: wait and retry (see Retry-After).",
}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "catalog.tokens.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from /api/tokens/, as `Authorization: Bearer <token>`.",
        }


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: document the error format and every error status on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status_code, description in ERRORS_BY_CODE.items():
                responses.setdefault(
                    status_code, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result
