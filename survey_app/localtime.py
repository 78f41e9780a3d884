"""The city's time: the one time zone in which Minping shows times and reads the dates staff type.

Residents, workers and assessors live in the city Minping serves, so "open until 30 November", "due
by the end of the fifth working day" or "answered at 21:00" mean that day and hour on their clock.
Times are stored in UTC and turned into the city's time only here. The zone is a setting
(`MINPING_TIME_ZONE`, Asia/Shanghai unless set); pages name it (`zone_label`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from survey_app.settings import get_settings


def city_zone() -> ZoneInfo:
    """The city's zone, read from the settings when first needed, not at import: a bad setting must
    reach the CLI's one-line error, and ZoneInfo keeps one instance per name, so this is cheap."""
    return ZoneInfo(get_settings().time_zone)


def local(moment: datetime) -> datetime:
    """`moment` (aware) on the city's clock."""
    return moment.astimezone(city_zone())


def local_date(moment: datetime) -> date:
    """The city's calendar day at `moment`."""
    return moment.astimezone(city_zone()).date()


def start_of(day: date) -> datetime:
    """00:00 of `day` in the city, as an aware time."""
    return datetime.combine(day, time(), city_zone())


def last_day(moment: datetime) -> date:
    """The last calendar day of something that ends at `moment`: ending at the city's midnight, it is
    the day before (a campaign closing at 2027-01-01 00:00 runs to 31 December)."""
    at = local(moment)
    return at.date() - timedelta(days=1) if at.time() == time() else at.date()


def today() -> date:
    """Today on the city's calendar."""
    return datetime.now(city_zone()).date()


def format_local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """`moment` on the city's clock as text (the templates' `local_time` filter); "" for none."""
    return "" if moment is None else moment.astimezone(city_zone()).strftime(pattern)


def zone_label(moment: datetime | None = None) -> str:
    """The zone as pages name it, with its offset now: "Asia/Shanghai (UTC+08:00)"."""
    zone = city_zone()
    offset = (moment or datetime.now(zone)).astimezone(zone).strftime("%z")
    return f"{zone.key} (UTC{offset[:3]}:{offset[3:]})"
