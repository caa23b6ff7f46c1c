"""Business-day arithmetic (Amazon's own reviews take 3–7 business days)."""
import datetime as dt


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
