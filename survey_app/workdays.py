"""Working days on China's official calendar: public holidays and the swapped (调休) weekend working days.

The calendar comes from the `chinesecalendar` package (module `chinese_calendar`), which ships the
State Council's yearly holiday notice as data. The notice for a year appears late in the year
before, so the package knows a limited range of years (1.11.0: 2004–2026) and raises
NotImplementedError for any other. A deadline is never refused for that: days of an unknown year
are counted Monday to Friday and the deadline is marked `estimated`, so the page can say so and
an operator knows to upgrade the package (`docs/operations.md`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import chinese_calendar

# China Standard Time has had no daylight saving since 1991: a fixed offset needs no tz database.
CHINA = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class Deadline:
    """The end of the last working day allowed, and whether an unknown year made it a guess."""

    at: datetime  # 00:00 China time of the day after the last working day (aware)
    estimated: bool

    @property
    def last_day(self) -> date:
        """The last working day itself, as the page shows it ("by 27 February")."""
        return (self.at.astimezone(CHINA) - timedelta(microseconds=1)).date()


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> tuple[bool, bool]:
    """(whether `day` is a working day, whether the official calendar knows its year).

    Remembered per day: the calendar is data shipped with the package, and `chinese_calendar`
    scans all its holidays for the range of known years on every call (about 15 µs here), which
    made the two deadlines of each bad rating's case cost some 170 µs of a submission.
    """
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: datetime, days: int) -> Deadline:
    """The end of the `days`-th working day after the (China) date of `start`.

    The day of `start` itself never counts, whatever the hour: a case opened late on Friday still
    gets all of its working days.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = start.astimezone(CHINA).date()
    estimated = False
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        working, known = is_working_day(day)
        estimated = estimated or not known
        counted += working
    return Deadline(datetime.combine(day + timedelta(days=1), time(), CHINA), estimated)
