"""Worked examples for the business-time engine, each checked to the second."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from firstline.sla import explaining
from firstline.sla.business_time import (
    Calendar,
    Interval,
    Pause,
    add_business_time,
    business_time_between,
    country_holidays,
    country_make_up_days,
    explain,
    parse_weekdays,
)

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = Calendar.office("Asia/Shanghai", name="Shanghai office")  # Mon-Fri 09-12, 13-18


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


# Hand-written from the State Council's 2026 holiday notice (published November 2025), so the
# examples do not depend on the holidays package; the package is checked against it below.
CN_2026_CLOSED = {
    **dict.fromkeys(_days(date(2026, 1, 1), date(2026, 1, 3)), "New Year"),
    **dict.fromkeys(_days(date(2026, 2, 15), date(2026, 2, 23)), "Spring Festival"),
    **dict.fromkeys(_days(date(2026, 4, 4), date(2026, 4, 6)), "Qingming"),
    **dict.fromkeys(_days(date(2026, 5, 1), date(2026, 5, 5)), "Labour Day"),
    **dict.fromkeys(_days(date(2026, 6, 19), date(2026, 6, 21)), "Dragon Boat"),
    **dict.fromkeys(_days(date(2026, 9, 25), date(2026, 9, 27)), "Mid-Autumn"),
    **dict.fromkeys(_days(date(2026, 10, 1), date(2026, 10, 7)), "National Day"),
}
CN_2026_MAKE_UP = {  # 调休: weekend days worked in exchange
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
}
CN_HAND = Calendar.office(
    "Asia/Shanghai",
    closed_dates=CN_2026_CLOSED,
    extra_open_dates=CN_2026_MAKE_UP,
    name="Shanghai office",
)
CN_PACKAGE = OFFICE.with_country_holidays("CN", [2026])


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        # Friday 17:30: 30 min Fri, Mon 09-12 (3.5 h), 13:00 + 30 min.
        (sh(2026, 3, 6, 17, 30), h(4), sh(2026, 3, 9, 13, 30)),
        (sh(2026, 3, 10, 12, 15), h(1), sh(2026, 3, 10, 14)),  # during lunch: clock from 13:00
        (sh(2026, 3, 7, 10), h(2), sh(2026, 3, 9, 11)),  # Saturday: clock from Monday 09:00
        (sh(2026, 3, 6, 18), h(1), sh(2026, 3, 9, 10)),  # 18:00 exactly is already closed
        (sh(2026, 3, 9, 8), h(0.5), sh(2026, 3, 9, 9, 30)),  # before opening
        (sh(2026, 3, 9, 9), h(3), sh(2026, 3, 9, 12)),  # used up at noon: 12:00, not 13:00
        (sh(2026, 3, 9, 9), h(8), sh(2026, 3, 9, 18)),  # used up at closing: 18:00 same day
        (sh(2026, 3, 9, 9), h(40), sh(2026, 3, 13, 18)),  # one working week
        (sh(2026, 3, 6, 17, 30), h(40), sh(2026, 3, 13, 17, 30)),  # 0.5 + 32 + 7.5
        (sh(2026, 3, 9, 9), h(1000), sh(2026, 8, 28, 18)),  # 125 days = 25 skipped weeks
        (sh(2026, 3, 9, 11, 59, 59), timedelta(seconds=2), sh(2026, 3, 9, 13, 0, 1)),
        (sh(2026, 3, 7, 10), h(0), sh(2026, 3, 7, 10)),  # nothing to add: the start itself
    ],
)
def test_office_hours_worked_examples(start, duration, due):
    result = add_business_time(OFFICE, start, duration)
    assert result == due
    assert result.tzinfo == UTC  # same-ZoneInfo comparisons would go by wall clock
    assert business_time_between(OFFICE, start, result) == duration


def test_inputs_in_other_zones_give_the_same_instant_in_the_calendar_zone():
    start = datetime(2026, 3, 6, 9, 30, tzinfo=UTC)  # Friday 17:30 in Shanghai
    assert add_business_time(OFFICE, start, h(4)) == sh(2026, 3, 9, 13, 30)
    assert str(add_business_time(OFFICE, start, h(4))) == "2026-03-09 05:30:00+00:00"


def test_business_time_between_examples():
    assert business_time_between(OFFICE, sh(2026, 3, 6, 17, 30), sh(2026, 3, 9, 13, 30)) == h(4)
    assert business_time_between(OFFICE, sh(2026, 3, 9, 0), sh(2026, 3, 16, 0)) == h(40)
    assert business_time_between(OFFICE, sh(2026, 3, 7, 0), sh(2026, 3, 9, 0)) == h(0)
    assert business_time_between(OFFICE, sh(2026, 3, 9, 12), sh(2026, 3, 9, 13)) == h(0)
    assert business_time_between(OFFICE, sh(2026, 3, 9, 10), sh(2026, 3, 9, 10)) == h(0)
    assert business_time_between(OFFICE, sh(2026, 3, 9, 11), sh(2026, 3, 9, 10)) == h(0)
    assert business_time_between(OFFICE, sh(2026, 1, 5), sh(2027, 1, 4)) == h(52 * 40)


# --- China: holidays and make-up working days ------------------------------------------------


@pytest.mark.parametrize("calendar", [CN_HAND, CN_PACKAGE], ids=["hand-written", "package"])
@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (sh(2026, 9, 30, 17), h(4), sh(2026, 10, 8, 12)),  # National Day week 1-7 Oct skipped
        (sh(2026, 10, 9, 17), h(4), sh(2026, 10, 10, 12)),  # Saturday 10 Oct is a make-up day
        (sh(2026, 9, 19, 10), h(2), sh(2026, 9, 20, 11)),  # Sunday 20 Sep is a make-up day
        (sh(2026, 2, 13, 17), h(4), sh(2026, 2, 14, 12)),  # Saturday 14 Feb is a make-up day
        (sh(2026, 2, 14, 17), h(4), sh(2026, 2, 24, 12)),  # Spring Festival 15-23 Feb skipped
        (sh(2026, 2, 13, 17), h(12), sh(2026, 2, 24, 12)),  # 1 h Fri + 8 h Sat + 3 h Tue
        (sh(2026, 4, 3, 17), h(2), sh(2026, 4, 7, 10)),  # Qingming Monday 6 Apr
        (sh(2026, 12, 31, 17), h(2), sh(2027, 1, 1, 10)),  # 2027 not loaded: 1 Jan is worked
    ],
)
def test_chinese_holidays_and_make_up_days(calendar, start, duration, due):
    assert add_business_time(calendar, start, duration) == due
    assert business_time_between(calendar, start, due) == duration


def test_national_day_week_counts_only_the_days_around_it():
    start, end = sh(2026, 9, 30, 9), sh(2026, 10, 9, 9)
    assert business_time_between(CN_PACKAGE, start, end) == h(16)  # 30 Sep and 8 Oct
    assert business_time_between(OFFICE, start, end) == h(56)


def test_holidays_package_agrees_with_the_official_2026_schedule():
    for day in _days(date(2026, 1, 1), date(2026, 12, 31)):
        assert CN_PACKAGE.intervals_on(day) == CN_HAND.intervals_on(day), day
    assert country_make_up_days("CN", [2026]) == CN_2026_MAKE_UP
    names = country_holidays("CN", [2026])
    assert names[date(2026, 10, 1)] == "National Day"
    assert "substituted" in names[date(2026, 10, 7)]


def test_country_holidays_other_countries():
    us = country_holidays("US", [2026])
    assert us[date(2026, 7, 3)] == "Independence Day (observed)"
    assert country_make_up_days("US", [2026]) == frozenset()
    assert date(2026, 1, 6) in country_holidays("DE", [2026], subdiv="BY")  # Epiphany
    assert date(2026, 1, 6) not in country_holidays("DE", [2026])
    with pytest.raises(ValueError):
        country_holidays("XX", [2026])


def test_explicit_extra_open_date_beats_a_country_holiday():
    calendar = Calendar.office("Asia/Shanghai", extra_open_dates=[date(2026, 10, 1)])
    calendar = calendar.with_country_holidays("CN", [2026])
    assert calendar.intervals_on(date(2026, 10, 1)) == OFFICE.hours[0]
    assert calendar.intervals_on(date(2026, 10, 2)) == ()


# --- Pauses -----------------------------------------------------------------------------------

TUESDAY = sh(2026, 3, 10, 9)


@pytest.mark.parametrize(
    ("pauses", "due"),
    [
        ([], sh(2026, 3, 10, 14)),
        # 3 h waiting on the requester: 2 business hours lost (lunch was not working time).
        ([(sh(2026, 3, 10, 10), sh(2026, 3, 10, 13))], sh(2026, 3, 10, 16)),
        # Overlapping pauses count once: merged to 10:00-11:45.
        (
            [
                (sh(2026, 3, 10, 10, 30), sh(2026, 3, 10, 11, 30)),
                (sh(2026, 3, 10, 10), sh(2026, 3, 10, 11)),
                (sh(2026, 3, 10, 11, 15), sh(2026, 3, 10, 11, 45)),
                (sh(2026, 3, 10, 10), sh(2026, 3, 10, 11)),
            ],
            sh(2026, 3, 10, 15, 45),
        ),
        # A pause inside another one adds nothing.
        (
            [
                (sh(2026, 3, 10, 10), sh(2026, 3, 10, 12)),
                (sh(2026, 3, 10, 10, 30), sh(2026, 3, 10, 11)),
            ],
            sh(2026, 3, 10, 16),
        ),
        # Touching pauses: 10-11 and 11-12 behave as 10-12.
        (
            [
                (sh(2026, 3, 10, 10), sh(2026, 3, 10, 11)),
                (sh(2026, 3, 10, 11), sh(2026, 3, 10, 12)),
            ],
            sh(2026, 3, 10, 16),
        ),
        ([(sh(2026, 3, 9, 10), sh(2026, 3, 10, 9))], sh(2026, 3, 10, 14)),  # ended before start
        ([(sh(2026, 3, 9, 10), sh(2026, 3, 10, 10))], sh(2026, 3, 10, 15)),  # overlaps start
        ([(sh(2026, 3, 10, 12), sh(2026, 3, 10, 13))], sh(2026, 3, 10, 14)),  # during lunch
        ([(sh(2026, 3, 10, 14), sh(2026, 3, 10, 15))], sh(2026, 3, 10, 14)),  # after the due time
        # Pauses given in UTC are the same instants.
        (
            [(datetime(2026, 3, 10, 2, tzinfo=UTC), datetime(2026, 3, 10, 5, tzinfo=UTC))],
            sh(2026, 3, 10, 16),
        ),
    ],
)
def test_pauses_on_tuesday(pauses, due):
    assert add_business_time(OFFICE, TUESDAY, h(4), pauses) == due
    assert business_time_between(OFFICE, TUESDAY, due, pauses) == h(4)


def test_a_three_hour_afternoon_pause_moves_the_deadline_to_the_next_day():
    pause = [(sh(2026, 3, 10, 14), sh(2026, 3, 10, 17))]
    assert add_business_time(OFFICE, TUESDAY, h(6)) == sh(2026, 3, 10, 16)
    assert add_business_time(OFFICE, TUESDAY, h(6), pause) == sh(2026, 3, 11, 10)


def test_a_pause_spanning_the_weekend_is_not_counted_twice():
    start, pause = sh(2026, 3, 6, 16), [(sh(2026, 3, 6, 17), sh(2026, 3, 9, 10))]
    assert add_business_time(OFFICE, start, h(4)) == sh(2026, 3, 9, 11)
    # Only Fri 17-18 and Mon 09-10 are lost: 1 h Fri, Mon 10-12, 13:00 + 1 h.
    assert add_business_time(OFFICE, start, h(4), pause) == sh(2026, 3, 9, 14)
    assert business_time_between(OFFICE, start, sh(2026, 3, 9, 14), pause) == h(4)
    assert business_time_between(OFFICE, start, sh(2026, 3, 9, 14)) == h(6)


def test_a_pause_in_a_long_run_is_not_lost_by_week_skipping():
    start = sh(2026, 3, 9, 9)
    pause = [(sh(2026, 5, 12, 14), sh(2026, 5, 12, 17))]  # Tuesday of week 10: 3 h
    assert add_business_time(OFFICE, start, h(1000), pause) == sh(2026, 8, 31, 12)
    assert business_time_between(OFFICE, start, sh(2026, 8, 31, 12), pause) == h(1000)


@pytest.mark.parametrize(
    ("paused_from", "due"),
    [
        (sh(2026, 3, 10, 10), None),  # clock stopped with 3 h left: unknown
        (sh(2026, 3, 9, 10), None),  # stopped before the start
        (sh(2026, 3, 10, 14), sh(2026, 3, 10, 14)),  # used up just as the pause began
        (sh(2026, 3, 10, 15), sh(2026, 3, 10, 14)),  # already due before the pause
    ],
)
def test_open_ended_pause(paused_from, due):
    assert add_business_time(OFFICE, TUESDAY, h(4), [(paused_from, None)]) == due
    assert add_business_time(OFFICE, TUESDAY, h(4), [Pause(paused_from)]) == due


def test_open_pause_measures_up_to_its_start():
    pauses = [(sh(2026, 3, 10, 10), None)]
    assert business_time_between(OFFICE, TUESDAY, sh(2026, 3, 20), pauses) == h(1)


# --- Daylight saving time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "due_wall"),
    [
        # Berlin springs forward 2026-03-29 02:00 -> 03:00 and falls back 2026-10-25 03:00 -> 02:00.
        (BERLIN, datetime(2026, 3, 28, 12), datetime(2026, 3, 29, 13)),
        (BERLIN, datetime(2026, 10, 24, 12), datetime(2026, 10, 25, 11)),
        # New York springs forward 2026-03-08 and falls back 2026-11-01.
        (NEW_YORK, datetime(2026, 3, 7, 12), datetime(2026, 3, 8, 13)),
        (NEW_YORK, datetime(2026, 10, 31, 12), datetime(2026, 11, 1, 11)),
    ],
)
def test_twenty_four_seven_counts_real_hours_across_dst(zone, start, due_wall):
    calendar = Calendar.twenty_four_seven(zone.key)
    start = start.replace(tzinfo=zone)
    due = add_business_time(calendar, start, h(24))
    assert due == due_wall.replace(tzinfo=zone)
    assert due.astimezone(UTC) - start.astimezone(UTC) == h(24)
    assert business_time_between(calendar, start, due) == h(24)


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        (BERLIN, date(2026, 3, 29), h(23)),
        (BERLIN, date(2026, 10, 25), h(25)),
        (NEW_YORK, date(2026, 3, 8), h(23)),
        (NEW_YORK, date(2026, 11, 1), h(25)),
        (BERLIN, date(2026, 3, 30), h(24)),
    ],
)
def test_a_local_day_of_24_7_lasts_its_real_length(zone, day, length):
    calendar = Calendar.twenty_four_seven(zone.key)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    assert business_time_between(calendar, start, end) == length


def _daily(zone: ZoneInfo, interval: str) -> Calendar:
    return Calendar.office(zone.key, weekdays="mon-sun", intervals=[interval])


@pytest.mark.parametrize(
    ("zone", "interval", "day", "length"),
    [
        (BERLIN, "09:00-17:00", date(2026, 3, 29), h(8)),  # gap outside the interval
        (BERLIN, "09:00-17:00", date(2026, 10, 25), h(8)),
        (BERLIN, "01:00-03:00", date(2026, 3, 29), h(1)),  # 02:00-03:00 never happens
        (BERLIN, "01:00-03:00", date(2026, 10, 25), h(3)),  # 02:00-03:00 happens twice
        (BERLIN, "01:00-03:00", date(2026, 3, 30), h(2)),
        (NEW_YORK, "01:00-03:00", date(2026, 3, 8), h(1)),
        (NEW_YORK, "01:00-03:00", date(2026, 11, 1), h(3)),
        (NEW_YORK, "02:30-04:00", date(2026, 3, 8), h(1)),  # starts inside the gap
        (NEW_YORK, "01:00-01:30", date(2026, 11, 1), h(1)),  # both readings of 01:00-01:30
        (NEW_YORK, "00:00-24:00", date(2026, 11, 1), h(25)),
    ],
)
def test_office_intervals_on_dst_days_count_real_time(zone, interval, day, length):
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    assert business_time_between(_daily(zone, interval), start, end) == length


def test_deadline_inside_the_repeated_hour_is_the_second_reading():
    calendar = _daily(NEW_YORK, "01:00-01:30")
    start = datetime(2026, 11, 1, 0, tzinfo=NEW_YORK)
    due = add_business_time(calendar, start, timedelta(minutes=45))
    assert due == datetime(2026, 11, 1, 6, 15, tzinfo=UTC)
    local = due.astimezone(NEW_YORK)
    assert (local.hour, local.minute, local.utcoffset()) == (1, 15, h(-5))  # 01:15 EST


def test_office_week_across_berlin_spring_forward():
    calendar = Calendar.office("Europe/Berlin", intervals=["09:00-17:00"])
    start = datetime(2026, 3, 27, 16, tzinfo=BERLIN)  # Friday, CET
    due = add_business_time(calendar, start, h(2))
    assert due == datetime(2026, 3, 30, 10, tzinfo=BERLIN)  # Monday, CEST
    assert due.astimezone(BERLIN).utcoffset() == h(2)
    assert add_business_time(calendar, start, h(400)) == datetime(2026, 6, 5, 16, tzinfo=BERLIN)


# --- Explanations -----------------------------------------------------------------------------


def test_explain_weekend():
    result = explain(OFFICE, sh(2026, 3, 6, 17, 30), h(4))
    assert result.due == sh(2026, 3, 9, 13, 30)
    assert result.skipped_non_working_days == [date(2026, 3, 7), date(2026, 3, 8)]
    assert result.skipped_closed_dates == []
    assert result.paused_total == result.paused_business == h(0)
    assert explaining.sentence(result) == (
        "due Mon 9 Mar 13:30 (Asia/Shanghai): calendar Shanghai office, 4 business hours, "
        "2 non-working days skipped"
    )


def test_explain_pause_with_reason():
    pause = Pause(sh(2026, 3, 9, 15), sh(2026, 3, 9, 18), "waiting on requester")
    result = explain(OFFICE, sh(2026, 3, 9, 14), h(4), [pause])
    assert result.due == sh(2026, 3, 10, 12)
    assert result.pauses_counted == [(pause.start, pause.end, "waiting on requester")]
    assert explaining.sentence(result) == (
        "due Tue 10 Mar 12:00 (Asia/Shanghai): calendar Shanghai office, 4 business hours, "
        "paused 3 h waiting on requester"
    )


def test_explain_weekend_pause_separates_real_and_business_time():
    pause = [(sh(2026, 3, 6, 17), sh(2026, 3, 9, 10))]
    result = explain(OFFICE, sh(2026, 3, 6, 16), h(4), pause)
    assert result.paused_total == h(65)
    assert result.paused_business == h(2)


def test_explain_totals_real_time_across_the_repeated_hour():
    calendar = Calendar.twenty_four_seven("Europe/Berlin")
    start = datetime(2026, 10, 24, 22, tzinfo=UTC)  # 00:00 CEST on the fall-back day
    pause = [
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    ]
    result = explain(calendar, start, h(4), pause)  # 01:30 CEST to 02:30 CET: 2 h, not 1 h
    assert result.due == datetime(2026, 10, 25, 4, tzinfo=UTC)
    assert result.paused_total == result.paused_business == h(2)
    assert explaining.sentence(result).startswith("due Sun 25 Oct 05:00 (Europe/Berlin)")


def test_explain_single_holiday():
    result = explain(CN_HAND, sh(2026, 4, 3, 17), h(2))
    assert result.skipped_closed_dates == [(date(2026, 4, 6), "Qingming")]
    assert result.skipped_non_working_days == [date(2026, 4, 4), date(2026, 4, 5)]
    assert explaining.sentence(result) == (
        "due Tue 7 Apr 10:00 (Asia/Shanghai): calendar Shanghai office, 2 business hours, "
        "6 Apr (Qingming) skipped, 2 non-working days skipped"
    )


def test_explain_national_day_with_package_names():
    result = explain(CN_PACKAGE, sh(2026, 9, 30, 17), h(4))
    closed = [d for d, _ in result.skipped_closed_dates]
    assert closed == [date(2026, 10, d) for d in (1, 2, 5, 6, 7)]
    assert result.skipped_closed_dates[0][1] == "National Day"
    assert result.skipped_non_working_days == [date(2026, 10, 3), date(2026, 10, 4)]
    assert "5 closed days skipped (1 Oct to 7 Oct)" in explaining.sentence(result)


def test_explain_open_pause():
    pause = Pause(sh(2026, 3, 10, 10), None, "waiting on requester")
    result = explain(OFFICE, TUESDAY, h(4), [pause])
    assert result.due is None
    assert result.remaining == h(3)
    assert result.pauses_counted == [(pause.start, None, "waiting on requester")]
    assert explaining.sentence(result) == (
        "not due while paused since Tue 10 Mar 10:00 (Asia/Shanghai): calendar Shanghai office, "
        "4 business hours, 3 h left"
    )


def test_explain_24_7_and_odd_durations():
    result = explain(Calendar.twenty_four_seven("Europe/Berlin"), sh(2026, 3, 9, 9), h(1.5))
    assert explaining.sentence(result) == (
        "due Mon 9 Mar 03:30 (Europe/Berlin): calendar 24/7, 1 h 30 min of business time"
    )


# --- Validation and bounds --------------------------------------------------------------------


def test_naive_datetimes_are_rejected():
    naive = datetime(2026, 3, 9, 9)
    with pytest.raises(ValueError, match="aware"):
        add_business_time(OFFICE, naive, h(1))
    with pytest.raises(ValueError, match="aware"):
        business_time_between(OFFICE, TUESDAY, naive)
    with pytest.raises(ValueError, match="aware"):
        add_business_time(OFFICE, TUESDAY, h(1), [(naive, None)])


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="negative"):
        add_business_time(OFFICE, TUESDAY, h(-1))
    with pytest.raises(ValueError, match="ends before"):
        add_business_time(OFFICE, TUESDAY, h(1), [(sh(2026, 3, 10, 11), sh(2026, 3, 10, 10))])


def test_a_calendar_without_working_time_raises_instead_of_looping():
    closed = Calendar(time_zone="UTC", hours={})
    with pytest.raises(ValueError, match="no working hours"):
        add_business_time(closed, TUESDAY, h(1))
    assert business_time_between(closed, TUESDAY, TUESDAY + timedelta(days=5000)) == h(0)
    once = Calendar.office("UTC", weekdays=(), extra_open_dates=[date(2020, 1, 1)])
    with pytest.raises(ValueError, match="no deadline within"):
        add_business_time(once, TUESDAY, h(1))


@pytest.mark.parametrize(
    "build",
    [
        lambda: Interval(time(12), time(9)),
        lambda: Interval.parse("9am to 5pm"),
        lambda: Calendar.office("Mars/Olympus"),
        lambda: Calendar.office("UTC", intervals=["09:00-13:00", "12:00-18:00"]),
        lambda: Calendar.office("UTC", weekdays="mon-fry"),
        lambda: Calendar(time_zone="UTC", hours={7: ()}),
        lambda: Calendar.office(
            "UTC", closed_dates=[date(2026, 1, 1)], extra_open_dates=[date(2026, 1, 1)]
        ),
    ],
)
def test_invalid_calendars(build):
    with pytest.raises(ValueError):
        build()


def test_parsing_helpers():
    assert parse_weekdays("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_weekdays("sun-thu") == (0, 1, 2, 3, 6)
    assert parse_weekdays("Mon, Wed,fri") == (0, 2, 4)
    assert Interval.parse("00:00-24:00").duration == h(24)
    assert str(Interval.parse("09:00 - 12:30")) == "09:00-12:30"
    assert OFFICE.weekly_hours == h(40)
    unsorted = Calendar(
        time_zone="UTC", hours={0: (Interval.parse("13:00-18:00"), Interval.parse("09:00-12:00"))}
    )
    assert unsorted.hours[0][0].start == time(9)
