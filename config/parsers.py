"""Request parsers beyond JSON."""
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.parsers import BaseParser

from .errors import InvalidInput


class CSVTextParser(BaseParser):
    """``text/csv`` bodies arrive as text (UTF-8, a BOM tolerated).

    DRF checks ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only for the JSON and form parsers (through
    ``request.body``); this parser reads the stream itself, so it enforces the cap too (413)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            raw = b""
        elif limit is None:
            raw = stream.read()
        else:
            raw = stream.read(limit + 1)
            if len(raw) > limit:
                raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("The CSV is not valid UTF-8.", code="INVALID_CSV") from None
