"""Business-day arithmetic (Amazon's own reviews take 3–7 business days)."""
import datetime as dt

from django.conf import settings
from django.utils import timezone


def business_days_between(start: dt.date, end: dt.date) -> int:
    """Whole weekdays from ``start`` to ``end`` (0 on the same day; weekends not counted)."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    weekday = start.weekday()
    for offset in range(1, rest + 1):
        if (weekday + offset) % 7 < 5:
            count += 1
    return count


def age_in_business_days(since: dt.datetime, until: dt.datetime | None = None) -> int:
    """How many business days something created at ``since`` has waited (until ``until``, else now)."""
    end = until or timezone.now()
    return business_days_between(since.date(), end.date())


def is_overdue(age_business_days: int) -> bool:
    """Waiting longer than ``REQUEST_OVERDUE_BUSINESS_DAYS`` (7: Amazon's own review takes 3–7) is overdue."""
    return age_business_days > settings.REQUEST_OVERDUE_BUSINESS_DAYS
