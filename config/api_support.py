"""Small helpers the API views share: the actor of a request, visible-object lookup, and
serializer fields that take JSON types strictly (``{"name": 5}`` is a 400, not ``"5"``)."""
from __future__ import annotations

import re
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from audit.context import Actor
from config.errors import InvalidInput, NotFound


def actor_of(request) -> Actor:
    return Actor.for_request(request, source="api")


def get_visible(queryset: QuerySet, **lookup: Any) -> Model:
    """The object if the caller may see it; 404 otherwise (never reveal existence)."""
    if any(isinstance(v, str) and "\x00" in v for v in lookup.values()):
        raise NotFound("Not found.", code="NOT_FOUND")  # PostgreSQL cannot even compare it
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise NotFound("Not found.", code="NOT_FOUND")
    return obj


def query_text(request, name: str) -> str:
    """A text query parameter, stripped. A NUL character is refused (400): PostgreSQL cannot
    compare text with it, and the query would fail as a 500."""
    value = request.query_params.get(name, "")
    if "\x00" in value:
        raise InvalidInput("Null characters are not allowed.", code="INVALID", field=name)
    return value.strip()


def path_key(value: Any, pattern: str | None = None) -> str:
    """A text key from the path (a seller_id, a username): malformed ones are simply not found."""
    text = str(value)
    if "\x00" in text or (pattern is not None and not re.fullmatch(pattern, text)):
        raise NotFound("Not found.", code="NOT_FOUND")
    return text


def positive_int(value: Any) -> int:
    """A path id: malformed ids are simply not found. ASCII digits only: ``int()`` would also
    take ``1_0``, `` 7`` or non-ASCII digits for a number."""
    text = str(value)
    if not re.fullmatch(r"[0-9]{1,19}", text):
        raise NotFound("Not found.", code="NOT_FOUND")
    number = int(text)
    if number <= 0 or number > 2**63 - 1:
        raise NotFound("Not found.", code="NOT_FOUND")
    return number


class StrictCharField(serializers.CharField):
    """A JSON string, and only that: DRF's CharField would turn ``5`` or ``true`` into text."""

    default_error_messages = {"invalid": _("A string is expected.")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    default_error_messages = {"invalid_type": _("A string is expected.")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_type")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    default_error_messages = {"invalid_type": _("A string is expected.")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_type")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only: DRF's BooleanField also takes ``"yes"``, ``1``, ``"off"``."""

    default_error_messages = {"invalid": _("true or false is expected.")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data
