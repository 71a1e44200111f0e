"""Properties of the business-time engine, checked on random calendars, starts and pauses.

Zones are chosen for their DST quirks: Berlin and New York (1 h at night), Lord Howe (30 min),
Santiago (changes at midnight) and Shanghai/UTC (none). Starts cluster around 2026's changes.
"""

from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firstline.sla.business_time import (
    Calendar,
    Interval,
    add_business_time,
    add_business_times,
    business_time_between,
)

settings.register_profile("sla", max_examples=200, deadline=None, database=None)
SLA = settings.get_profile("sla")

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Shanghai",
    "UTC",
]
DST_DAYS = [  # local dates of 2026 clock changes in the zones above
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 3, 8),
    date(2026, 11, 1),
    date(2026, 4, 5),
    date(2026, 10, 4),
    date(2026, 9, 6),
]
FAR = datetime.max.replace(tzinfo=UTC)


def _quarter(n: int) -> time:
    return time(0) if n == 96 else time(n // 4, n % 4 * 15)


def _dates(offsets: list[int]) -> frozenset[date]:
    return frozenset(date(2026, 1, 1) + timedelta(days=n) for n in offsets)


def _bits(mask: int, items: list) -> list:
    return [item for k, item in enumerate(items) if mask >> k & 1]


@st.composite
def calendars(draw) -> Calendar:
    """Few, cheap draws: bit masks and small integer lists keep generation fast."""
    zone = draw(st.sampled_from(ZONES))
    closed = _dates(draw(st.lists(st.integers(0, 400), max_size=6)))
    closed |= frozenset(_bits(draw(st.integers(0, 2**7 - 1)) * draw(st.booleans()), DST_DAYS))
    if draw(st.integers(0, 7)) == 0:
        return Calendar(time_zone=zone, hours={}, always_open=True, closed_dates=closed)
    points = sorted(set(draw(st.lists(st.integers(0, 96), min_size=2, max_size=6))))
    points = points if len(points) > 1 else [0, 96]
    pairs = zip(points[::2], points[1::2], strict=False)
    day = tuple(Interval(_quarter(a), _quarter(b)) for a, b in pairs)
    weekdays = _bits(draw(st.integers(1, 2**7 - 1)), list(range(7)))
    extra = _dates(draw(st.lists(st.integers(0, 400), max_size=3))) - closed
    return Calendar(
        time_zone=zone,
        hours=dict.fromkeys(weekdays, day),
        closed_dates=closed,
        extra_open_dates=dict.fromkeys(extra, day),
    )


def _around(day: date) -> st.SearchStrategy[datetime]:
    base = datetime.combine(day, time(0), UTC)
    return st.integers(-3 * 86400, 3 * 86400).map(lambda s: base + timedelta(seconds=s))


STARTS = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)),
    st.sampled_from(DST_DAYS).flatmap(_around),
)
DURATIONS = st.integers(0, 80 * 3600).map(lambda s: timedelta(seconds=s))


@st.composite
def pause_lists(draw, start: datetime) -> list:
    pauses = []
    for _ in range(draw(st.integers(0, 4))):
        begin = start + timedelta(seconds=draw(st.integers(-86400, 12 * 86400)))
        end = begin + timedelta(seconds=draw(st.integers(1, 4 * 86400)))
        pauses.append((begin, end))
    if draw(st.integers(0, 3)) == 0:
        pauses.append((start + timedelta(seconds=draw(st.integers(-3600, 20 * 86400))), None))
    return pauses


class Case(NamedTuple):
    calendar: Calendar
    start: datetime
    duration: timedelta
    other: timedelta  # a second duration
    shift: timedelta  # a later start is start + shift
    pauses: list
    more_pauses: list


@st.composite
def cases(draw) -> Case:
    """One draw shared by several properties: Hypothesis overhead, not the engine, dominates."""
    calendar, start = draw(calendars()), draw(STARTS)
    shift = timedelta(seconds=draw(st.integers(0, 5 * 86400)))
    pauses, more = draw(pause_lists(start)), draw(pause_lists(start))
    return Case(calendar, start, draw(DURATIONS), draw(DURATIONS), shift, pauses, more)


def _key(due: datetime | None) -> datetime:
    return FAR if due is None else due


def _closed(pauses: list) -> list:
    return [p for p in pauses if p[1] is not None]


def _working(calendar: Calendar, instant: datetime, pauses) -> bool:
    """Independent oracle: is the local wall-clock time inside an interval, outside pauses?"""
    if any(a <= instant and (b is None or instant < b) for a, b in pauses):
        return False
    local = instant.astimezone(ZoneInfo(calendar.time_zone))
    day, clock = local.date(), local.time().replace(fold=0)
    if day in calendar.closed_dates:
        return False
    if calendar.always_open:
        return True
    intervals = calendar.extra_open_dates.get(day, calendar.hours.get(day.weekday(), ()))
    return any(iv.start <= clock and (iv.end == time(0) or clock < iv.end) for iv in intervals)


@SLA
@given(cases())
def test_monotonic_and_pauses_never_shorten(case):
    """(1) A later start or a longer duration, (2) an extra pause: never an earlier deadline."""
    cal, start, pauses = case.calendar, case.start, case.pauses
    short, long = sorted([case.duration, case.other])
    due = add_business_time(cal, start, short, pauses)
    assert _key(due) <= _key(add_business_time(cal, start + case.shift, short, pauses))
    assert _key(due) <= _key(add_business_time(cal, start, long, pauses))
    assert _key(due) <= _key(add_business_time(cal, start, short, pauses + case.more_pauses))


@SLA
@given(cases())
def test_measuring_up_to_the_deadline_gives_back_the_duration(case):
    """(3) between(start, add(start, d)) == d, exactly; (5) the deadline ends working time."""
    cal, start, duration = case.calendar, case.start, case.duration
    assert business_time_between(cal, start, add_business_time(cal, start, duration)) == duration
    due = add_business_time(cal, start, duration, case.pauses)
    if due is not None:
        assert business_time_between(cal, start, due, case.pauses) == duration
    if due is not None and duration:
        assert due > start
        assert _working(cal, due - timedelta(microseconds=1), case.pauses)


@SLA
@given(cases(), st.integers(-14 * 60, 14 * 60))
def test_same_instant_in_any_zone_and_adding_in_steps(case, minutes):
    """(4) Inputs in UTC, local or any fixed offset agree; adding d1 then d2 equals d1 + d2."""
    cal, start, pauses = case.calendar, case.start, case.pauses
    expected = add_business_time(cal, start, case.duration, pauses)
    for zone in (ZoneInfo(cal.time_zone), timezone(timedelta(minutes=minutes))):
        moved = [(a.astimezone(zone), b and b.astimezone(zone)) for a, b in pauses]
        result = add_business_time(cal, start.astimezone(zone), case.duration, moved)
        assert result == expected
        assert result is None or result.tzinfo == UTC
    closed = _closed(pauses)
    middle = add_business_time(cal, start, case.duration, closed)
    total = case.duration + case.other
    assert add_business_time(cal, middle, case.other, closed) == add_business_time(
        cal, start, total, closed
    )


@SLA
@given(cases())
def test_several_durations_in_one_walk_are_each_one_alone(case):
    """(6) A due time and its warning time from one walk: what each call alone gives, and
    an error when any call alone fails."""
    cal, start, pauses = case.calendar, case.start, case.pauses
    durations = [case.duration, case.duration * 75 / 100, case.other, timedelta(0), case.other]
    alone = []
    for duration in durations:
        try:
            alone.append(add_business_time(cal, start, duration, pauses))
        except ValueError:
            alone.append(ValueError)
    if ValueError in alone:
        with pytest.raises(ValueError):
            add_business_times(cal, start, durations, pauses)
    else:
        assert add_business_times(cal, start, durations, pauses) == alone


# Brute force: count minute by minute with the oracle ---------------------------------------


@settings(max_examples=60, deadline=None, database=None)
@given(calendars(), st.sampled_from(DST_DAYS).flatmap(_around), st.data())
def test_between_matches_a_minute_by_minute_count(calendar, start, data):
    start = start.replace(second=0)
    minutes = data.draw(st.integers(0, 2 * 24 * 60))
    begin = start + timedelta(minutes=data.draw(st.integers(-600, 2000)))
    pauses = [(begin, begin + timedelta(minutes=data.draw(st.integers(1, 900))))]
    step = timedelta(minutes=1)
    expected = sum(_working(calendar, start + k * step, pauses) for k in range(minutes))
    end = start + minutes * step
    assert business_time_between(calendar, start, end, pauses) == expected * step


@settings(max_examples=100, deadline=None, database=None)
@given(cases(), st.integers(0, 90 * 86400))
def test_week_skipping_changes_nothing(case, seconds):
    """Whole weeks are counted at once; windows under 7 days never are, so sums must agree."""
    cal, start, end = case.calendar, case.start, case.start + timedelta(seconds=seconds)
    cuts = [start + k * timedelta(days=6) for k in range(seconds // (6 * 86400) + 1)] + [end]
    parts = sum(
        (business_time_between(cal, a, b, case.pauses) for a, b in pairwise(cuts)), timedelta(0)
    )
    assert business_time_between(cal, start, end, case.pauses) == parts
