"""Small helpers the API views share: the actor of a request, visible-object lookup."""
from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet

from audit.context import Actor
from config.errors import NotFound


def actor_of(request) -> Actor:
    return Actor.for_request(request, source="api")


def get_visible(queryset: QuerySet, **lookup: Any) -> Model:
    """The object if the caller may see it; 404 otherwise (never reveal existence)."""
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise NotFound("Not found.", code="NOT_FOUND")
    return obj


def positive_int(value: Any) -> int:
    """A path id: malformed ids are simply not found."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise NotFound("Not found.", code="NOT_FOUND") from None
    if number <= 0 or number > 2**63 - 1:
        raise NotFound("Not found.", code="NOT_FOUND")
    return number
