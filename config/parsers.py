"""Request parsers beyond JSON."""
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class CSVTextParser(BaseParser):
    """``text/csv`` bodies arrive as text (UTF-8, a BOM tolerated)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ParseError("The CSV is not valid UTF-8.") from None
