"""Business time for SLA deadlines: pure functions, no database access.

Working hours are local wall-clock intervals in the calendar's IANA time zone. Business time is
the real (absolute) time whose local wall-clock reading falls inside a working interval of that
local date. Each local interval is converted to UTC instants, so 09:00-17:00 on a DST-change day
is still 8 h, while 01:00-03:00 is 1 h on a spring-forward day and 3 h on a fall-back day (the
repeated hour is worked twice). Pauses are absolute-time intervals; overlapping pauses count once.

Nothing iterates minute by minute: the engine walks one working interval at a time and jumps a
whole week at once when the week has no closures, make-up days, pauses or UTC-offset change.
Every search stops HORIZON (about 10 years) after its start.

Known limits: offset changes are found by bisection between the ends of an interval, so two
changes that cancel out within one interval would go unseen; and were clocks to fall back across
midnight (00:30 -> 23:30), the first reading of the repeated after-midnight stretch would be
skipped, since local dates are walked in order.
Calendar dicts must not be mutated after construction (derived values are cached).
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HORIZON = timedelta(days=3653)  # how far (about 10 years) a deadline is searched for
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_ZERO = timedelta(0)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_TICK = timedelta(microseconds=1)
_FOREVER = datetime.max.replace(tzinfo=UTC)  # the end of an open-ended pause
_MIDNIGHT = time(0)


@dataclass(frozen=True)
class Interval:
    """Working hours within one local day, e.g. 09:00-12:00. An end of 00:00 means 24:00."""

    start: time
    end: time

    def __post_init__(self):
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("interval times are local wall-clock times, without tzinfo")
        if self.end != _MIDNIGHT and self.end <= self.start:
            raise ValueError(f"interval must end after it starts: {self}")

    def __str__(self) -> str:
        end = "24:00" if self.end == _MIDNIGHT else self.end.isoformat("minutes")
        return f"{self.start.isoformat('minutes')}-{end}"

    @classmethod
    def parse(cls, text: str) -> Interval:
        """'09:00-12:00' -> Interval; '24:00' is accepted as an end."""
        start, sep, end = text.strip().partition("-")
        if not sep:
            raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
        end = "00:00" if end.strip() == "24:00" else end
        return cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))

    @property
    def duration(self) -> timedelta:
        """Nominal wall-clock length (the real length differs only on DST-change days)."""
        return _since_midnight(self.end, end=True) - _since_midnight(self.start)

    def bounds(self, day: date) -> tuple[datetime, datetime]:
        """Naive local wall-clock start and end on `day`."""
        midnight = datetime.combine(day, _MIDNIGHT)
        start = midnight + _since_midnight(self.start)
        return start, midnight + _since_midnight(self.end, end=True)


def _since_midnight(t: time, end: bool = False) -> timedelta:
    if end and t == _MIDNIGHT:
        return _DAY
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


ALL_DAY = (Interval(_MIDNIGHT, _MIDNIGHT),)


@dataclass(frozen=True)
class Calendar:
    """When the business clock runs: weekly hours, closures and make-up days, in one time zone.

    `always_open` means every instant counts except on `closed_dates` (whole local days).
    `closed_date_names` optionally names closures (holiday names) for `explain`.
    """

    time_zone: str
    hours: Mapping[int, tuple[Interval, ...]]
    closed_dates: frozenset[date] = frozenset()
    extra_open_dates: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)
    always_open: bool = False
    name: str = ""
    closed_date_names: Mapping[date, str] = field(default_factory=dict)

    def __post_init__(self):
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown time zone {self.time_zone!r}") from exc
        hours = {_weekday(k): _checked(v, f"weekday {k}") for k, v in self.hours.items()}
        extra = {d: _checked(v, str(d)) for d, v in self.extra_open_dates.items()}
        closed = frozenset(self.closed_dates)
        if both := sorted(closed & extra.keys()):
            raise ValueError(f"dates both closed and extra open: {both}")
        object.__setattr__(self, "hours", hours)
        object.__setattr__(self, "extra_open_dates", extra)
        object.__setattr__(self, "closed_dates", closed)
        object.__setattr__(self, "closed_date_names", dict(self.closed_date_names))

    @classmethod
    def twenty_four_seven(cls, time_zone: str = "UTC") -> Calendar:
        return cls(time_zone=time_zone, hours={}, always_open=True, name="24/7")

    @classmethod
    def office(
        cls,
        time_zone: str,
        weekdays: str | Iterable[int] = "mon-fri",
        intervals: Iterable[str | Interval] = ("09:00-12:00", "13:00-18:00"),
        closed_dates: Iterable[date] | Mapping[date, str] = (),
        extra_open_dates: Iterable[date] | Mapping[date, Iterable[str | Interval]] = (),
        name: str = "",
    ) -> Calendar:
        """Same hours on each of `weekdays` ('mon-fri', 'mon,wed,fri', 'sun-thu' or 0..6).

        Closed dates may be a mapping to their names; extra open dates default to `intervals`.
        """
        day = _parse_intervals(intervals)
        if isinstance(extra_open_dates, Mapping):
            extra = {d: _parse_intervals(v) for d, v in extra_open_dates.items()}
        else:
            extra = dict.fromkeys(extra_open_dates, day)
        names = dict(closed_dates) if isinstance(closed_dates, Mapping) else {}
        return cls(
            time_zone=time_zone,
            hours=dict.fromkeys(parse_weekdays(weekdays), day),
            closed_dates=frozenset(closed_dates),
            extra_open_dates=extra,
            name=name,
            closed_date_names=names,
        )

    def with_country_holidays(
        self,
        country: str,
        years: Iterable[int],
        subdiv: str | None = None,
        make_up_intervals: Iterable[str | Interval] | None = None,
    ) -> Calendar:
        """A copy closed on the country's public holidays and open on its official make-up days.

        Make-up days get `make_up_intervals`, by default the calendar's most common working day.
        Dates already in this calendar's `extra_open_dates` stay open.
        """
        years = list(years)
        names = country_holidays(country, years, subdiv)
        ivs = _parse_intervals(make_up_intervals) if make_up_intervals else self._typical_day()
        make_up = country_make_up_days(country, years, subdiv) - self.closed_dates
        return dataclasses.replace(
            self,
            closed_dates=(self.closed_dates | names.keys()) - self.extra_open_dates.keys(),
            extra_open_dates={**dict.fromkeys(make_up, ivs), **self.extra_open_dates},
            closed_date_names={**names, **self.closed_date_names},
        )

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @cached_property
    def weekly_hours(self) -> timedelta:
        """Nominal business time in a plain week (no closures, make-up days or DST change)."""
        if self.always_open:
            return _WEEK
        return sum((iv.duration for ivs in self.hours.values() for iv in ivs), _ZERO)

    @property
    def has_working_hours(self) -> bool:
        return self.always_open or self.weekly_hours > _ZERO or bool(self.extra_open_dates)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The working intervals of a local date (closures win over weekly hours)."""
        if day in self.closed_dates:
            return ()
        if self.always_open:
            return ALL_DAY
        if day in self.extra_open_dates:
            return self.extra_open_dates[day]
        return self.hours.get(day.weekday(), ())

    def closed_reason(self, day: date) -> str:
        return self.closed_date_names.get(day, "closed")

    def _typical_day(self) -> tuple[Interval, ...]:
        days = [ivs for _, ivs in sorted(self.hours.items()) if ivs]
        if self.always_open or not days:
            raise ValueError("pass make_up_intervals: the calendar has no typical working day")
        return Counter(days).most_common(1)[0][0]


def _weekday(key: int) -> int:
    if not isinstance(key, int) or not 0 <= key <= 6:
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {key!r}")
    return key


def _checked(intervals: Iterable[Interval], where: str) -> tuple[Interval, ...]:
    """Sorted intervals; raises if two of them overlap."""
    ivs = tuple(sorted(intervals, key=lambda iv: iv.start))
    for a, b in itertools.pairwise(ivs):
        if _since_midnight(a.end, end=True) > _since_midnight(b.start):
            raise ValueError(f"overlapping intervals on {where}: {a} and {b}")
    return ivs


def _parse_intervals(items: Iterable[str | Interval]) -> tuple[Interval, ...]:
    if isinstance(items, str):
        items = items.split(",")
    return _checked((Interval.parse(i) if isinstance(i, str) else i for i in items), "a day")


def parse_weekdays(spec: str | Iterable[int]) -> tuple[int, ...]:
    """'mon-fri' -> (0, 1, 2, 3, 4); ranges may wrap ('sun-thu') and be comma-separated."""
    if not isinstance(spec, str):
        return tuple(sorted({_weekday(d) for d in spec}))
    days: set[int] = set()
    for part in spec.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        a, b = _day_index(first), _day_index(last or first)
        days.update((a + k) % 7 for k in range((b - a) % 7 + 1))
    return tuple(sorted(days))


def _day_index(name: str) -> int:
    try:
        return WEEKDAYS.index(name[:3])
    except ValueError:
        raise ValueError(f"unknown weekday {name!r}") from None


# --- Country holidays -------------------------------------------------------------------------


def country_holidays(
    country: str, years: Iterable[int], subdiv: str | None = None
) -> dict[date, str]:
    """Public holidays as local date -> English name, from the `holidays` package.

    For China this includes the weekdays given off in exchange for make-up working days
    ("Day off (substituted from ...)"); the make-up days themselves come from
    `country_make_up_days`. China's schedule is published each November, so later years are
    estimates without make-up days.
    """
    table = _holiday_table(country, years, subdiv)
    return {d: str(name) for d, name in sorted(table.items())}


def country_make_up_days(
    country: str, years: Iterable[int], subdiv: str | None = None
) -> frozenset[date]:
    """Official weekend working days (China's 调休), read from holidays' `weekend_workdays`.

    Countries without such days return an empty set. A make-up day in late December for the
    next year's New Year holiday is included when either year is requested.
    """
    years = set(years)
    table = _holiday_table(country, years, subdiv)
    workdays = getattr(table, "weekend_workdays", ())
    return frozenset(d for d in workdays if d.year in years or d.year + 1 in years)


def _holiday_table(country: str, years: Iterable[int], subdiv: str | None):
    import holidays  # imported lazily: only calendar set-up needs it

    try:
        return holidays.country_holidays(
            country, subdiv=subdiv, years=sorted(set(years)), language="en_US"
        )
    except NotImplementedError as exc:  # holidays' error for unknown countries/subdivisions
        raise ValueError(str(exc)) from exc


# --- The engine -------------------------------------------------------------------------------


class Pause(NamedTuple):
    """A stopped clock, in absolute time; `end=None` means still paused."""

    start: datetime
    end: datetime | None = None
    reason: str = ""


def add_business_time(
    calendar: Calendar,
    start: datetime,
    duration: timedelta,
    pauses: Sequence[tuple[datetime, datetime | None]] = (),
) -> datetime | None:
    """The instant at which `duration` of unpaused business time has elapsed since `start`.

    Returned as an aware UTC datetime: Python compares datetimes that share one ZoneInfo by
    wall clock, which misorders instants in a repeated (fall-back) hour, so convert with
    `.astimezone(calendar.zone)` only for display. A deadline falling exactly at the end of a
    working interval is that end (18:00, not the next morning). An open-ended pause `(a, None)`
    stops the clock from `a` on: the result is None (unknown while paused) unless the duration
    was used up by `a`. Raises ValueError for naive datetimes, a negative duration, a calendar
    without working hours, or no deadline within HORIZON.
    """
    return add_business_times(calendar, start, [duration], pauses)[0]


def add_business_times(
    calendar: Calendar,
    start: datetime,
    durations: Sequence[timedelta],
    pauses: Sequence[tuple[datetime, datetime | None]] = (),
) -> list[datetime | None]:
    """`add_business_time` for each of `durations` from the same start, in one walk (a due
    time and its warning time): the same instants, and a ValueError if any of them raises."""
    start = _utc(start, "start")
    if min(durations, default=_ZERO) < _ZERO:
        raise ValueError("duration must not be negative")
    if not calendar.has_working_hours:
        raise ValueError("calendar has no working hours")
    if not any(durations):
        return [start for _duration in durations]
    spans = _merge_pauses(pauses)
    frozen_at = _open_pause_start(spans)
    horizon = start + HORIZON
    meter = _walk(calendar, start, min(horizon, max(frozen_at, start)), _Meter(spans, durations))
    if frozen_at > horizon and not meter.spent:
        raise ValueError(f"no deadline within {HORIZON.days} days of start")
    return [meter.dues.get(duration) if duration else start for duration in durations]


def business_time_between(
    calendar: Calendar,
    start: datetime,
    end: datetime,
    pauses: Sequence[tuple[datetime, datetime | None]] = (),
) -> timedelta:
    """Unpaused business time in [start, end); zero when end <= start."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        return _ZERO
    return _walk(calendar, start, end, _Meter(_merge_pauses(pauses))).used


def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got {value!r}")
    return value.astimezone(UTC)


class _Span(NamedTuple):
    start: datetime
    end: datetime  # _FOREVER when open-ended
    reasons: tuple[str, ...]


def _merge_pauses(pauses: Iterable[Sequence]) -> list[_Span]:
    """Pauses as sorted, disjoint UTC spans; overlapping or touching pauses are merged."""
    spans = []
    for pause in pauses:
        a = _utc(pause[0], "pause start")
        b = _FOREVER if pause[1] is None else _utc(pause[1], "pause end")
        if b < a:
            raise ValueError(f"pause ends before it starts: {pause!r}")
        if a < b:
            spans.append(_Span(a, b, (pause[2],) if len(pause) > 2 and pause[2] else ()))
    merged: list[_Span] = []
    for span in sorted(spans):
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            reasons = last.reasons + tuple(r for r in span.reasons if r not in last.reasons)
            merged[-1] = _Span(last.start, max(last.end, span.end), reasons)
        else:
            merged.append(span)
    return merged


def _open_pause_start(spans: list[_Span]) -> datetime:
    return spans[-1].start if spans and spans[-1].end == _FOREVER else _FOREVER


class _Meter:
    """Adds up business time outside pauses until optional budgets are spent."""

    def __init__(self, spans: list[_Span], budgets: Sequence[timedelta] = ()):
        self.spans = spans
        self.ends = [s.end for s in spans]
        # The budgets still to spend, the next one last; a zero budget is spent at the start.
        self.pending = sorted(filter(None, budgets), reverse=True)
        self.used = _ZERO
        self.dues: dict[timedelta, datetime] = {}  # budget -> when it was spent
        self.spent = False  # all budgets (when there are any)

    def feed(self, a: datetime, b: datetime) -> bool:
        """Counts working time [a, b); True once the last budget is spent (`dues` has it)."""
        pending = self.pending
        for x, y in self._unpaused(a, b):
            used = self.used + (y - x)
            while pending and used >= pending[-1]:
                budget = pending.pop()
                self.dues[budget] = x + (budget - self.used)
                if not pending:
                    self.used, self.spent = budget, True
                    return True
            self.used = used
        return False

    def wants_more_than(self, amount: timedelta) -> bool:
        """True if counting `amount` spends no budget (always, without budgets)."""
        return not self.pending or self.pending[-1] - self.used > amount

    def is_unpaused(self, a: datetime, b: datetime) -> bool:
        i = bisect.bisect_right(self.ends, a)
        return i == len(self.spans) or self.spans[i].start >= b

    def _unpaused(self, a: datetime, b: datetime) -> Iterator[tuple[datetime, datetime]]:
        for span in self.spans[bisect.bisect_right(self.ends, a) :]:
            if span.start >= b:
                break
            if span.start > a:
                yield a, span.start
            a = max(a, span.end)
            if a >= b:
                return
        if a < b:
            yield a, b


def _walk(calendar: Calendar, start: datetime, stop: datetime, meter: _Meter) -> _Meter:
    """Feeds the meter the working time in [start, stop), in order, until it is satisfied."""
    if calendar.always_open and not calendar.closed_dates:
        if start < stop:
            meter.feed(start, stop)
        return meter
    zone, cursor = calendar.zone, start
    day, last = start.astimezone(zone).date(), stop.astimezone(zone).date()
    while day <= last:
        if week := _skippable_week(calendar, day, cursor, stop, meter):
            meter.used += calendar.weekly_hours
            cursor, day = week[1], day + _WEEK
            continue
        for a, b in _day_pieces(calendar, day):
            a, b = max(a, cursor), min(b, stop)
            if a < b:
                if meter.feed(a, b):
                    return meter
                cursor = b
        day += _DAY
    return meter


def _skippable_week(calendar, day, cursor, stop, meter) -> tuple[datetime, datetime] | None:
    """The week from `day` if it lies wholly ahead of `cursor` and can be counted at once."""
    if not meter.wants_more_than(calendar.weekly_hours):
        return None
    week = _plain_week(calendar, day)
    if week and cursor <= week[0] and week[1] <= stop and meter.is_unpaused(*week):
        return week
    return None


def _remembered(calendar: Calendar, kind: str, day: date, work):
    """`work(calendar, day)`, computed once per calendar, kind and day: a sweep or a
    re-targeting computes thousands of due times over the same few weeks."""
    memo = calendar.__dict__.setdefault("_memo", {})
    key = (kind, day)
    if key not in memo:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[key] = work(calendar, day)
    return memo[key]


_MEMO_SIZE = 20_000


def _plain_week(calendar: Calendar, day: date) -> tuple[datetime, datetime] | None:
    """UTC bounds of the 7 local days from `day` when they hold exactly `weekly_hours`.

    That is when no day is closed or a make-up day and the UTC offset is the same at every
    midnight of the week (a DST change falls between two midnights, so it is seen).
    """
    return _remembered(calendar, "week", day, _compute_plain_week)


def _compute_plain_week(calendar: Calendar, day: date) -> tuple[datetime, datetime] | None:
    days = [day + timedelta(days=k) for k in range(8)]
    extra, closed = calendar.extra_open_dates, calendar.closed_dates
    if any(d in closed or d in extra for d in days[:7]):
        return None
    midnights = [datetime.combine(d, _MIDNIGHT) for d in days]
    offsets = {calendar.zone.utcoffset(m.replace(fold=f)) for m in midnights for f in (0, 1)}
    if len(offsets) != 1:
        return None
    begin = (midnights[0] - offsets.pop()).replace(tzinfo=UTC)
    return begin, begin + _WEEK


def _day_pieces(calendar: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The UTC stretches of local `day` whose wall-clock time is inside a working interval."""
    return _remembered(calendar, "day", day, _compute_day_pieces)


def _compute_day_pieces(calendar: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    pieces = []
    for interval in calendar.intervals_on(day):
        pieces.extend(_wall_to_utc(calendar.zone, *interval.bounds(day)))
    return tuple(pieces)


def _wall_to_utc(zone: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """UTC pieces of the instants whose local wall-clock time lies in naive [lo, hi).

    Usually one piece; a DST gap shortens it, and a repeated hour inside it adds a second
    stretch (both readings of the repeated hour count).
    """
    offsets = {zone.utcoffset(w.replace(fold=f)) for w in (lo, hi) for f in (0, 1)}
    if len(offsets) == 1:
        offset = offsets.pop()
        return [((lo - offset).replace(tzinfo=UTC), (hi - offset).replace(tzinfo=UTC))]
    pieces = []
    for a, b, offset in _offset_runs(zone, lo - max(offsets), hi - min(offsets)):
        a, b = max(a, lo - offset), min(b, hi - offset)
        if a < b:
            pieces.append((a.replace(tzinfo=UTC), b.replace(tzinfo=UTC)))
    return pieces


def _offset_runs(zone: ZoneInfo, a: datetime, b: datetime) -> list[tuple]:
    """Splits naive-UTC [a, b) into runs of constant UTC offset, bisecting to each change."""
    runs = []
    while a < b:
        offset = _offset_at(zone, a)
        if _offset_at(zone, b) == offset:
            runs.append((a, b, offset))
            break
        lo, hi = a, b  # offset(lo) == offset != offset(hi)
        while hi - lo > _TICK:
            mid = lo + (hi - lo) // 2
            lo, hi = (mid, hi) if _offset_at(zone, mid) == offset else (lo, mid)
        runs.append((a, hi, offset))
        a = hi
    return runs


def _offset_at(zone: ZoneInfo, naive_utc: datetime) -> timedelta:
    return zone.fromutc(naive_utc.replace(tzinfo=zone)).utcoffset()


# --- Explanation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """Why a deadline is when it is, for the ticket UI."""

    due: datetime | None  # in the calendar's zone, for display; None while the clock is stopped
    business_duration: timedelta
    calendar_name: str
    time_zone: str
    skipped_closed_dates: list[tuple[date, str]]  # closures that fell on working weekdays
    skipped_non_working_days: list[date]  # days without hours (weekends, closed weekends)
    paused_total: timedelta  # real time the clock stood still before the due time
    paused_business: timedelta  # business time lost to pauses: how far they pushed `due`
    pauses_counted: list[tuple[datetime, datetime | None, str]]  # merged; end None = open
    remaining: timedelta  # business time still owed while paused (zero when due is known)


def explain(
    calendar: Calendar,
    start: datetime,
    duration: timedelta,
    pauses: Sequence[tuple[datetime, datetime | None]] = (),
) -> Explanation:
    """`add_business_time` plus what it skipped and paused on the way (pauses may be `Pause`)."""
    due = add_business_time(calendar, start, duration, pauses)
    spans = _merge_pauses(pauses)
    begin = _utc(start, "start")
    until = due or max(begin, _open_pause_start(spans))
    counted = _pauses_within(spans, begin, until, open_end=due is None)
    zone = calendar.zone
    worked = business_time_between(calendar, start, until, pauses)
    closed, idle = _skipped_days(calendar, begin, until)
    return Explanation(
        due=due and due.astimezone(zone),
        business_duration=duration,
        calendar_name=calendar.name or ("24/7" if calendar.always_open else "(unnamed)"),
        time_zone=calendar.time_zone,
        skipped_closed_dates=closed,
        skipped_non_working_days=idle,
        paused_total=sum((b - a for a, b, _ in counted if b is not None), _ZERO),
        paused_business=business_time_between(calendar, start, until) - worked,
        pauses_counted=[(a.astimezone(zone), b and b.astimezone(zone), r) for a, b, r in counted],
        remaining=_ZERO if due else duration - worked,
    )


def _pauses_within(spans, begin, until, open_end: bool) -> list:
    """Merged pauses clipped to [begin, until), in UTC; the open one kept if it stops the clock."""
    counted = []
    for span in spans:
        if open_end and span.end == _FOREVER:
            counted.append((max(span.start, begin), None, ", ".join(span.reasons)))
        elif span.start < until and span.end > begin:
            a, b = max(span.start, begin), min(span.end, until)
            counted.append((a, b, ", ".join(span.reasons)))
    return counted


def _skipped_days(calendar: Calendar, begin: datetime, until: datetime) -> tuple[list, list]:
    """Local dates from start to due without working time, split into closures and others."""
    closed, idle = [], []
    day, last = begin.astimezone(calendar.zone).date(), until.astimezone(calendar.zone).date()
    while day <= last:
        if not calendar.intervals_on(day):
            regular = calendar.always_open or calendar.hours.get(day.weekday())
            if day in calendar.closed_dates and regular:
                closed.append((day, calendar.closed_reason(day)))
            else:
                idle.append(day)
        day += _DAY
    return closed, idle
