"""Working-day deadlines on China's official calendar, across the 2026 Spring Festival and its swapped days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from survey_app.cases import workdays
from survey_app.cases.workdays import add_working_days, is_working_day

CITY = ZoneInfo("Asia/Shanghai")  # the default MINPING_TIME_ZONE, which the tests keep


def test_the_library_knows_the_2026_spring_festival():
    # State Council notice for 2026: holiday 15–23 February; Saturdays 14 and 28 February are working days.
    assert all(not chinese_calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert chinese_calendar.is_workday(date(2026, 2, 14)) and date(2026, 2, 14).weekday() == 5
    assert chinese_calendar.is_workday(date(2026, 2, 28)) and date(2026, 2, 28).weekday() == 5


@pytest.mark.parametrize(
    ("opened", "days", "last_day"),
    [
        # Friday 13 Feb + 5: Sat 14 (swapped), then the holiday, then Tue 24 … Fri 27.
        (datetime(2026, 2, 13, 9, 30), 5, date(2026, 2, 27)),
        (datetime(2026, 2, 13, 23, 50), 1, date(2026, 2, 14)),  # the swapped Saturday is a working day
        (datetime(2026, 2, 14, 10, 0), 1, date(2026, 2, 24)),  # the whole holiday is skipped
        (datetime(2026, 2, 16, 10, 0), 5, date(2026, 2, 28)),  # opened in the holiday: 24 25 26 27 28
        (datetime(2026, 2, 27, 10, 0), 1, date(2026, 2, 28)),  # Saturday 28 February is worked
        (datetime(2026, 3, 6, 10, 0), 1, date(2026, 3, 9)),  # an ordinary weekend
    ],
)
def test_deadlines_count_working_days_after_the_day_of_opening(opened, days, last_day):
    deadline = add_working_days(opened.replace(tzinfo=CITY), days)
    assert deadline.last_day == last_day
    assert deadline.at == datetime.combine(last_day + timedelta(days=1), time(), CITY)  # the whole last day
    assert not deadline.estimated


def test_the_day_is_taken_in_china_time():
    # 16:30 UTC on Friday 13 February is already Saturday 14 in China: the next working day is the 24th.
    assert add_working_days(datetime(2026, 2, 13, 16, 30, tzinfo=UTC), 1).last_day == date(2026, 2, 24)


def test_a_year_the_calendar_does_not_know_is_estimated_monday_to_friday():
    working, known = is_working_day(date(2099, 1, 5))
    assert (working, known) == (True, False)
    deadline = add_working_days(datetime(2099, 1, 2, 10, 0, tzinfo=CITY), 5)  # Friday 2 January 2099
    assert deadline.estimated
    assert deadline.last_day == date(2099, 1, 9)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 2, 13, tzinfo=CITY), -1)


# A holidays file as an operator writes it from the State Council's notice (the days here are made
# up for the test: 2027's notice is not out as this is written).
NOTICE = """
2027:
  holidays: [2027-01-01..2027-01-03, "2027-02-10..2027-02-16"]
  workdays: [2027-02-07]
"""


def test_a_holidays_file_adds_the_years_the_package_does_not_know(tmp_path, monkeypatch, request):
    path = tmp_path / "holidays.yaml"
    path.write_text(NOTICE)
    notices = workdays.load_notices(path)
    assert sorted(notices) == [2027] and len(notices[2027].holidays) == 10
    monkeypatch.setattr(workdays, "extra_notices", lambda: notices)
    is_working_day.cache_clear()  # days are remembered per process; this test changes the calendar
    request.addfinalizer(is_working_day.cache_clear)
    assert is_working_day(date(2027, 1, 1)) == (False, True)  # a Friday off
    assert is_working_day(date(2027, 2, 7)) == (True, True)  # a swapped Sunday
    assert is_working_day(date(2027, 1, 4)) == (True, True)
    assert is_working_day(date(2026, 2, 14)) == (True, True)  # other years still from the package
    deadline = add_working_days(datetime(2027, 2, 9, 10, tzinfo=CITY), 1)
    assert deadline.last_day == date(2027, 2, 17) and not deadline.estimated


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "2027: {holidays: [2027-02-30]}",
            "2027.holidays.0: '2027-02-30' is not a date (YYYY-MM-DD) or a range (a..b)",
        ),
        (
            "2027: {holidays: [2028-01-01]}",
            "2027.holidays.0: '2028-01-01' must lie in 2027, its end not before its start",
        ),
        (
            "2027: {holidays: [2027-01-05..2027-01-01]}",
            "2027.holidays.0: '2027-01-05..2027-01-01' must lie in 2027, its end not before its start",
        ),
        (
            "2027: {holidays: [2027-02-07], workdays: [2027-02-07]}",
            "2027: 2027-02-07 is both a holiday and a working day",
        ),
        (
            "2027: {holidays: [], workdays: [2027-02-08]}",
            "2027.workdays: 2027-02-08 is a weekday; list swapped weekend days",
        ),
        ("2027: {holiday: [2027-01-01]}", "2027: object contains unknown field holiday"),
        ("2027: {holidays: 2027-01-01}", "2027.holidays: expected array, got str"),
        ("next: {holidays: []}", "next: not a year"),
        ("[2027]", "the file must hold a mapping (2027: {holidays: […], workdays: […]})"),
    ],
)
def test_a_broken_holidays_file_names_the_field(tmp_path, text, message):
    path = tmp_path / "h.yaml"
    path.write_text(text)
    with pytest.raises(workdays.CalendarError) as caught:
        workdays.load_notices(path)
    assert str(caught.value) == f"h.yaml: {message}"


def test_holidays_check_command(cli, tmp_path):
    path = tmp_path / "holidays.yaml"
    path.write_text(NOTICE)
    shown = cli("holidays", "check", str(path))
    assert shown.returncode == 0 and shown.stdout.endswith(f"(chinesecalendar); from {path}: 2027\n")
    path.write_text("2027: {holidays: [nope]}")
    broken = cli("holidays", "check", str(path))
    assert broken.returncode == 1
    assert (
        broken.stderr == "Error: holidays.yaml: 2027.holidays.0: 'nope' is not a date (YYYY-MM-DD) or a range (a..b)\n"
    )
    missing = cli("holidays", "check", env={"MINPING_HOLIDAYS_FILE": str(tmp_path / "none.yaml")})
    assert missing.returncode == 1
    assert missing.stderr == f"Error: MINPING_HOLIDAYS_FILE names '{tmp_path / 'none.yaml'}', which is not a file\n"
