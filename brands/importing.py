"""Reading an ASIN catalog import — JSON items or CSV text — into clean rows and per-line errors.

No database access: the caller passes the marketplace codes it knows. Problems with one line
(a bad ASIN, an unknown marketplace, ...) are collected, every one of them, with the line they
are on: the 1-based item index for JSON, the file's line number for CSV (the header is line 1).
Problems with the whole input (not a list, a broken header, unreadable CSV, too many items)
raise :class:`InvalidInput` at once, since no line of it can be trusted.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from config.errors import ErrorItem, InvalidInput

from .models import ASIN_REGEX, GCID_REGEX, Asin

MAX_IMPORT_ITEMS = 10_000
CSV_COLUMNS = ("asin", "gcid", "title", "category", "marketplaces")
CSV_MARKETPLACE_SEPARATOR = ";"
TITLE_MAX_LENGTH: int = Asin._meta.get_field("title").max_length
CATEGORY_MAX_LENGTH: int = Asin._meta.get_field("category").max_length
MARKETPLACE_ALIASES = {"GB": "UK"}  # Amazon's country code for the site we call UK

_ASIN_RE = re.compile(ASIN_REGEX)
_GCID_RE = re.compile(GCID_REGEX)
_SHOWN_MAX = 40


@dataclass(frozen=True)
class ImportRow:
    """One valid line of an import: what the catalog should say about this ASIN."""

    asin: str
    gcid: str | None
    title: str
    category: str
    marketplaces: tuple[str, ...]


@dataclass
class ParsedImport:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[ErrorItem] = field(default_factory=list)


def shown(value: object) -> str:
    """``value`` as an error message quotes it: text as is, cut short when long."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"


def parse_items(items: object, *, known_marketplaces: Collection[str]) -> ParsedImport:
    """A decoded JSON body: ``[{asin, gcid?, title?, category?, marketplaces: [...]}, ...]``."""
    if not isinstance(items, list):
        raise InvalidInput(_("A list of items is expected, not %(value)s.") % {"value": shown(items)},
                           code="INVALID_JSON")
    _refuse_too_many(len(items))
    _require_some(len(items))
    reader = _LineReader(known_marketplaces)
    for index, item in enumerate(items, start=1):
        if isinstance(item, Mapping):
            reader.read(index, item, marketplaces=item.get("marketplaces"))
        else:
            reader.fail(index, "INVALID_JSON", _("Item %(line)s is not an object: %(value)s.")
                        % {"line": index, "value": shown(item)})
    return reader.result


def parse_csv(text: str, *, known_marketplaces: Collection[str]) -> ParsedImport:
    """CSV text with the header ``asin,gcid,title,category,marketplaces`` (any column order),
    marketplaces ``;``-separated. A byte-order mark and CRLF line ends are accepted; blank
    lines are skipped."""
    records = _csv_records(text.removeprefix("\ufeff"))
    header = next(records, None)
    if header is None:
        raise InvalidInput(_("The CSV file is empty; its first line must be the header %(header)s.")
                           % {"header": ",".join(CSV_COLUMNS)}, code="INVALID_CSV", line=1)
    header_line, cells = header
    columns = _csv_columns(cells, line=header_line)
    reader = _LineReader(known_marketplaces)
    count = 0
    for line, cells in records:
        count += 1
        _refuse_too_many(count, line=line)
        if len(cells) != len(columns):
            reader.fail(line, "INVALID_CSV", _("Line %(line)s has %(n)s cells; the header has %(expected)s.")
                        % {"line": line, "n": len(cells), "expected": len(columns)})
            continue
        values = dict(zip(columns, cells, strict=True))
        codes = values["marketplaces"].split(CSV_MARKETPLACE_SEPARATOR)
        reader.read(line, values, marketplaces=[code for code in codes if code.strip()])
    _require_some(count)
    return reader.result


def _refuse_too_many(count: int, *, line: int | None = None) -> None:
    if count > MAX_IMPORT_ITEMS:
        raise InvalidInput(_("An import holds at most %(max)s items.") % {"max": MAX_IMPORT_ITEMS},
                           code="TOO_MANY_ITEMS", line=line)


def _require_some(count: int) -> None:
    if count == 0:
        raise InvalidInput(_("The import holds no items."), code="REQUIRED")


def _csv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each non-blank CSV record. A record the csv module cannot
    read (an oversized field, a stray quote swallowing the rest of the file) ends the import."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(_("Line %(line)s cannot be read as CSV: %(reason)s.") % {"line": line, "reason": exc},
                               code="INVALID_CSV", line=line) from exc
        if cells:
            yield line, cells


def _csv_columns(cells: list[str], *, line: int) -> list[str]:
    columns = [cell.strip().lower() for cell in cells]
    missing = [c for c in CSV_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    repeated = sorted(c for c, n in Counter(columns).items() if n > 1)
    if missing or unknown or repeated:
        problems = [
            words % {"columns": ", ".join(map(shown, names))}
            for words, names in [
                (_("missing %(columns)s"), missing),
                (_("unknown %(columns)s"), unknown),
                (_("repeated %(columns)s"), repeated),
            ]
            if names
        ]
        raise InvalidInput(
            _("The header must name the columns %(header)s (in any order): %(problems)s.")
            % {"header": ",".join(CSV_COLUMNS), "problems": "; ".join(problems)},
            code="INVALID_CSV", line=line,
        )
    return columns


class _LineReader:
    """Validates lines one by one, collecting every error and the rows without any."""

    def __init__(self, known_marketplaces: Collection[str]) -> None:
        self.known_marketplaces = known_marketplaces
        self.first_line_of: dict[str, int] = {}
        self.result = ParsedImport()

    def fail(self, line: int, code: str, detail: str, **where: Any) -> None:
        self.result.errors.append(ErrorItem(code=code, detail=detail, line=line, **where))

    def read(self, line: int, values: Mapping[str, Any], *, marketplaces: object) -> None:
        errors_before = len(self.result.errors)
        asin = self._asin(line, values.get("asin"))
        where = {"asin": asin} if asin else {}
        gcid = self._gcid(line, values.get("gcid"), where)
        title = self._text(line, "title", values.get("title"), TITLE_MAX_LENGTH, where)
        category = self._text(line, "category", values.get("category"), CATEGORY_MAX_LENGTH, where)
        codes = self._marketplaces(line, marketplaces, where)
        if asin and len(self.result.errors) == errors_before:
            self.result.rows.append(ImportRow(asin, gcid, title, category, codes))

    def _asin(self, line: int, value: object) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            self.fail(line, "REQUIRED", _("The ASIN is required."), field="asin")
            return None
        code = value.strip().upper() if isinstance(value, str) else None
        if code is None or not _ASIN_RE.match(code):
            self.fail(line, "INVALID_ASIN", _("“%(value)s” is not an ASIN (10 letters or digits).")
                      % {"value": shown(value)}, field="asin", asin=shown(value))
            return None
        if code in self.first_line_of:
            self.fail(line, "DUPLICATE_ASIN", _("ASIN %(asin)s is already on line %(first)s of this import.")
                      % {"asin": code, "first": self.first_line_of[code]}, field="asin", asin=code)
            return None
        self.first_line_of[code] = line
        return code

    def _gcid(self, line: int, value: object, where: dict[str, str]) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        gcid = value.strip() if isinstance(value, str) else None
        if gcid is None or not _GCID_RE.match(gcid):
            self.fail(line, "INVALID_GCID", _("“%(value)s” is not a GCID (16 letters or digits).")
                      % {"value": shown(value)}, field="gcid", **where)
            return None
        return gcid

    def _text(self, line: int, name: str, value: object, max_length: int, where: dict[str, str]) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(line, "INVALID_JSON", _("The %(field)s must be text, not %(value)s.")
                      % {"field": name, "value": shown(value)}, field=name, **where)
            return ""
        text = value.strip()
        if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
            self.fail(line, "INVALID_TEXT", _("The %(field)s contains control characters.") % {"field": name},
                      field=name, **where)
            return ""
        if len(text) > max_length:
            self.fail(line, "TOO_LONG",
                      _("The %(field)s “%(value)s” has %(n)s characters; at most %(max)s are allowed.")
                      % {"field": name, "value": shown(text), "n": len(text), "max": max_length}, field=name, **where)
            return ""
        return text

    def _marketplaces(self, line: int, values: object, where: dict[str, str]) -> tuple[str, ...]:
        if not values:
            self.fail(line, "REQUIRED", _("Name at least one marketplace (e.g. US)."), field="marketplaces", **where)
            return ()
        if not isinstance(values, list):
            self.fail(line, "INVALID_MARKETPLACE", _("A list of marketplace codes is expected, not %(value)s.")
                      % {"value": shown(values)}, field="marketplaces", **where)
            return ()
        codes: list[str] = []
        for value in values:
            code = value.strip().upper() if isinstance(value, str) else None
            code = MARKETPLACE_ALIASES.get(code, code) if code else None
            if code in self.known_marketplaces:
                codes.append(code)
            else:
                self.fail(line, "INVALID_MARKETPLACE", _("“%(value)s” is not a marketplace code.")
                          % {"value": shown(value)}, field="marketplaces", marketplace=shown(value), **where)
        return tuple(dict.fromkeys(codes))
