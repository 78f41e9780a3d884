"""Working days on China's official calendar: public holidays and the swapped (调休) weekend working days.

The calendar comes from the `chinesecalendar` package (module `chinese_calendar`), which ships the
State Council's yearly holiday notice as data. The notice for a year appears late in the year
before, so the package knows a limited range of years (1.11.0: 2004–2026) and raises
NotImplementedError for any other. A deadline is never refused for that: days of an unknown year
are counted Monday to Friday and the deadline is marked `estimated`, so the page can say so and
an operator knows to upgrade the package (`docs/operations.md`).

An operator need not wait for the package: the notice for a year can be written into a holidays
file (`MINPING_HOLIDAYS_FILE`, default `holidays.yaml` in the data folder), which is read once and
takes precedence over the package for the years it lists:

    2027:                                   # 国务院办公厅关于2027年部分节假日安排的通知
      holidays: [2027-01-01, 2027-02-06..2027-02-12]    # days off (a..b: both included)
      workdays: [2027-02-14]                            # swapped weekend working days (调休上班)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar
import msgspec

from survey_app.datafiles import msgspec_message, read_yaml
from survey_app.localtime import local_date, start_of
from survey_app.settings import get_settings


@dataclass(frozen=True)
class Deadline:
    """The end of the last working day allowed, and whether an unknown year made it a guess."""

    at: datetime  # 00:00 city time of the day after the last working day (aware)
    estimated: bool

    @property
    def last_day(self) -> date:
        """The last working day itself, as the page shows it ("by 27 February")."""
        return local_date(self.at - timedelta(microseconds=1))


class CalendarError(ValueError):
    """The holidays file is invalid; the message reads `file: year.field.N: message`."""


@dataclass(frozen=True)
class Notice:
    """One year's holiday notice: its days off and its swapped weekend working days."""

    holidays: frozenset[date]
    workdays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)


class _NoticeFile(msgspec.Struct, forbid_unknown_fields=True):
    holidays: list[str]
    workdays: list[str] = []


def load_notices(path: Path) -> dict[int, Notice]:
    """Read and validate a holidays file; raise `CalendarError` naming the file and the field."""
    raw = read_yaml(path.read_bytes(), path.name, CalendarError, "2027: {holidays: […], workdays: […]}")
    notices = {}
    for year, body in raw.items():
        if not isinstance(year, int):
            raise CalendarError(f"{path.name}: {year}: not a year")
        try:
            notice = msgspec.convert(body, _NoticeFile)
        except msgspec.ValidationError as exc:
            joiner = "." if " - at `$" in str(exc) else ": "  # the message starts with a field path, or not
            raise CalendarError(f"{path.name}: {year}{joiner}{msgspec_message(exc, {})}") from None
        holidays = _days(path.name, year, "holidays", notice.holidays)
        workdays = _days(path.name, year, "workdays", notice.workdays)
        both = sorted(holidays & workdays)
        if both:
            raise CalendarError(f"{path.name}: {year}: {both[0]} is both a holiday and a working day")
        weekdays = sorted(d for d in workdays if d.weekday() < 5)
        if weekdays:
            raise CalendarError(f"{path.name}: {year}.workdays: {weekdays[0]} is a weekday; list swapped weekend days")
        notices[year] = Notice(frozenset(holidays), frozenset(workdays))
    return notices


def _days(name: str, year: int, field: str, entries: list[str]) -> set[date]:
    days: set[date] = set()
    for n, entry in enumerate(entries):
        where = f"{name}: {year}.{field}.{n}"
        first, _, last = entry.partition("..")
        try:
            start, end = date.fromisoformat(first.strip()), date.fromisoformat((last or first).strip())
        except ValueError:
            raise CalendarError(f"{where}: {entry!r} is not a date (YYYY-MM-DD) or a range (a..b)") from None
        if end < start or start.year != year or end.year != year:
            raise CalendarError(f"{where}: {entry!r} must lie in {year}, its end not before its start")
        days |= {start + timedelta(days=k) for k in range((end - start).days + 1)}
    return days


def package_years() -> list[int]:
    """The years the installed `chinesecalendar` knows, in order."""
    return sorted({day.year for day in chinese_calendar.holidays})


@lru_cache(maxsize=1)
def extra_notices() -> dict[int, Notice]:
    """The holidays file's notices (read once per process), or none without a file."""
    path = get_settings().holidays_file
    return load_notices(path) if path is not None and path.exists() else {}


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> tuple[bool, bool]:
    """(whether `day` is a working day, whether the official calendar knows its year).

    Remembered per day: the calendar is data (the package's, and the holidays file read once per
    process), and `chinese_calendar` scans all its holidays for the range of known years on every
    call (about 15 µs here), which made the two deadlines of each bad rating's case cost some 170 µs
    of a submission.
    """
    notice = extra_notices().get(day.year)
    if notice is not None:
        return notice.is_working_day(day), True
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: datetime, days: int) -> Deadline:
    """The end of the `days`-th working day after the (city) date of `start`.

    The day of `start` itself never counts, whatever the hour: a case opened late on Friday still
    gets all of its working days.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = local_date(start)
    estimated = False
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        working, known = is_working_day(day)
        estimated = estimated or not known
        counted += working
    return Deadline(start_of(day + timedelta(days=1)), estimated)
