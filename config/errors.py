"""One exception hierarchy for the whole application.

Services raise these; the API's exception handler and the web views map them to API.md's error
shape (``{"errors": [{"code", "detail", ...}]}``) and HTTP status. Codes are stable strings.
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorItem:
    code: str
    detail: str
    field: str | None = None
    asin: str | None = None
    marketplace: str | None = None
    seller_id: str | None = None
    line: int | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if v is not None and k != "extra"}
        data.update(self.extra)
        return data


class ApplicationError(Exception):
    """Base of every refusal the application explains to its caller."""

    http_status = 400
    default_code = "INVALID"

    def __init__(self, errors: list[ErrorItem] | ErrorItem | str, *, code: str | None = None, **item_fields: Any):
        if isinstance(errors, str):
            errors = [ErrorItem(code=code or self.default_code, detail=errors, **item_fields)]
        elif isinstance(errors, ErrorItem):
            errors = [errors]
        self.errors: list[ErrorItem] = list(errors)
        super().__init__("; ".join(f"{e.code}: {e.detail}" for e in self.errors))

    @property
    def code(self) -> str:
        return self.errors[0].code if self.errors else self.default_code

    def as_dicts(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]


class InvalidInput(ApplicationError):
    """Malformed input: a field or line that cannot be understood (HTTP 400)."""

    http_status = 400
    default_code = "INVALID"


class NotAllowed(ApplicationError):
    """The actor may not do this (HTTP 403)."""

    http_status = 403
    default_code = "FORBIDDEN"


class NotFound(ApplicationError):
    """The object does not exist or is not visible to the actor (HTTP 404)."""

    http_status = 404
    default_code = "NOT_FOUND"


class Conflict(ApplicationError):
    """A domain rule or a state transition refused the change (HTTP 409)."""

    http_status = 409
    default_code = "CONFLICT"


class RuleViolation(Conflict):
    """One or more DOMAIN.md rules failed; every failure is listed."""

    default_code = "RULE_VIOLATION"


class InvalidTransition(Conflict):
    default_code = "INVALID_TRANSITION"


class SelfApproval(Conflict):
    default_code = "SELF_APPROVAL"


class LockTimeout(ApplicationError):
    """Another change holds the lock this one needs; safe to retry (HTTP 503)."""

    http_status = 503
    default_code = "LOCK_TIMEOUT"
