"""OpenAPI post-processing: every operation documents API.md's error responses and shape."""
from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "detail"],
                "properties": {
                    "code": {"type": "string", "description": "Stable error code (DOMAIN.md / API.md)."},
                    "detail": {"type": "string"},
                    "field": {"type": "string"},
                    "asin": {"type": "string"},
                    "marketplace": {"type": "string"},
                    "seller_id": {"type": "string"},
                    "line": {"type": "integer"},
                },
                "additionalProperties": True,
            },
        }
    },
}

_DESCRIPTIONS = {
    "400": "Malformed input (INVALID_ASIN, INVALID_SELLER_ID, INVALID_MARKETPLACE, INVALID_DATE, INVALID_JSON, REQUIRED, TOO_MANY_ITEMS, ...)",
    "401": "No or invalid credentials",
    "403": "Not allowed (FORBIDDEN)",
    "404": "Not found, or not visible to you",
    "405": "Method not allowed",
    "409": "A domain rule or a state transition refused it (rule codes, INVALID_TRANSITION, SELF_APPROVAL)",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "429": "Throttled",
    "503": "A lock is held by another change: retry (LOCK_TIMEOUT)",
}
_READ = ("400", "401", "403", "404", "405", "406", "429")
_WRITE = ("400", "401", "403", "404", "405", "409", "413", "415", "429", "503")
_DESCRIPTIONS["406"] = "Not acceptable (unsupported ?format)"


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorResponse"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = _READ if method == "get" else _WRITE
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": _DESCRIPTIONS[code],
                                            "content": {"application/json": {"schema": ref}}})
    return result
