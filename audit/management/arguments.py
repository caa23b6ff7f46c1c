"""Argument types for the audit commands: strict ISO 8601 dates, refused with a clear message."""
from __future__ import annotations

import argparse
import re
from datetime import date, datetime
from datetime import timezone as dt_timezone

from django.utils.dateparse import parse_datetime

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_day(value: str) -> date:
    """A calendar day written ``YYYY-MM-DD``."""
    try:
        if _DAY.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{value!r} is not a date written YYYY-MM-DD (e.g. 2024-05-01)")


def iso_moment(value: str) -> datetime:
    """An ISO 8601 date (its midnight) or date-time, in UTC unless it carries an offset."""
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 date or date-time (e.g. 2024-05-01 or 2024-05-01T12:00:00Z)"
        )
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt_timezone.utc)
