"""Working-day deadlines on China's official calendar, across the 2026 Spring Festival and its swapped days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest

from survey_app.workdays import CHINA, add_working_days, is_working_day


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
    deadline = add_working_days(opened.replace(tzinfo=CHINA), days)
    assert deadline.last_day == last_day
    assert deadline.at == datetime.combine(last_day + timedelta(days=1), time(), CHINA)  # the whole last day
    assert not deadline.estimated


def test_the_day_is_taken_in_china_time():
    # 16:30 UTC on Friday 13 February is already Saturday 14 in China: the next working day is the 24th.
    assert add_working_days(datetime(2026, 2, 13, 16, 30, tzinfo=UTC), 1).last_day == date(2026, 2, 24)


def test_a_year_the_calendar_does_not_know_is_estimated_monday_to_friday():
    working, known = is_working_day(date(2099, 1, 5))
    assert (working, known) == (True, False)
    deadline = add_working_days(datetime(2099, 1, 2, 10, 0, tzinfo=CHINA), 5)  # Friday 2 January 2099
    assert deadline.estimated
    assert deadline.last_day == date(2099, 1, 9)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 2, 13, tzinfo=CHINA), -1)
