"""A ticket's SLA clock worked out from what happened to it: no database access here.

Three targets run from their own start: first response and resolution from the ticket's
creation, next response from each requester reply made after the first response. The clock of
every target stands still while the ticket is in a status the policy pauses on (pending,
on hold) and while it is resolved or closed; a reopened ticket resumes its resolution clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from . import business_time as bt
from .config import Rule, Targets
from .models import Target, TicketSla

log = logging.getLogger(__name__)

TARGETS = (Target.FIRST_RESPONSE, Target.NEXT_RESPONSE, Target.RESOLUTION)
NON_RUNNING = frozenset({"pending", "on_hold", "resolved", "closed"})
ALWAYS_STOPPED = frozenset({"resolved", "closed"})
DONE = frozenset({"resolved", "closed"})

# Bits of TicketSla.fired: which warnings and breaches were acted on.
BITS = {
    (Target.FIRST_RESPONSE, "warning"): 1,
    (Target.FIRST_RESPONSE, "breach"): 2,
    (Target.NEXT_RESPONSE, "warning"): 4,
    (Target.NEXT_RESPONSE, "breach"): 8,
    (Target.RESOLUTION, "warning"): 16,
    (Target.RESOLUTION, "breach"): 32,
}
NEXT_RESPONSE_BITS = 4 | 8


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def raw_pauses(sla: TicketSla) -> list[tuple[datetime, datetime | None, str]]:
    return [(_parse(a), _parse(b), reason) for a, b, reason in sla.pauses]


def status_changed(sla: TicketSla, status: str, at: datetime) -> None:
    """Keeps the record of non-running periods and the resolution's met time."""
    previous = sla.status
    if previous == status:
        return
    pauses = list(sla.pauses)
    if previous in NON_RUNNING and pauses and pauses[-1][1] is None:
        pauses[-1] = [pauses[-1][0], _iso(max(at, _parse(pauses[-1][0]))), pauses[-1][2]]
    if status in NON_RUNNING:
        pauses.append([_iso(at), None, status])
    sla.pauses = pauses
    if status in DONE and previous not in DONE:
        sla.resolution_met_at = at
    elif status not in DONE:
        sla.resolution_met_at = None
    sla.status = status


def replay_history(sla: TicketSla, changes, status: str, at: datetime) -> None:
    """Rebuilds the non-running periods from the ticket's status history (`changes`:
    (moment, old, new) in order), ending in its current `status` (reached at `at` if the
    history does not have it yet): for a ticket that gains an SLA after its creation."""
    sla.status, sla.pauses, sla.resolution_met_at = "new", [], None
    for moment, _old, new in changes:
        status_changed(sla, new, moment)
    status_changed(sla, status, at)


def effective_pauses(sla: TicketSla, rule: Rule, until: datetime | None = None) -> list:
    """The periods that stop the clock under `rule`, clipped at `until` (a met target)."""
    stopping = rule.pause_statuses | ALWAYS_STOPPED
    pauses = []
    for start, end, reason in raw_pauses(sla):
        if reason not in stopping:
            continue
        if until is not None:
            if start >= until:
                continue
            end = until if end is None or end > until else end
        pauses.append(bt.Pause(start, end, str(reason)))
    return pauses


def start_of(sla: TicketSla, target: str) -> datetime | None:
    if target == Target.NEXT_RESPONSE:
        return sla.next_response_started_at
    return sla.started_at


def met_at(sla: TicketSla, target: str) -> datetime | None:
    return getattr(sla, f"{target}_met_at")


def apply_targets(sla: TicketSla, targets: Targets) -> None:
    for target in TARGETS:
        setattr(sla, f"{target}_minutes", targets.minutes(target))


def refresh(sla: TicketSla, rule: Rule, calendar: bt.Calendar, now: datetime) -> None:
    """Recomputes due and warning times, `next_due_at`, `next_check_at` and the time used."""
    sla.warning_percent = rule.warning_percent
    open_pause = None
    for pause in effective_pauses(sla, rule):
        if pause.end is None:
            open_pause = pause.start
    sla.paused_since = open_pause
    for target in TARGETS:
        due, warn = _due_and_warning(sla, rule, calendar, target)
        setattr(sla, f"{target}_due_at", due)
        setattr(sla, f"{target}_warn_at", warn)
    sla.next_due_at, sla.next_check_at = _next_moments(sla)
    sla.business_seconds_used = int(
        used(sla, rule, calendar, Target.RESOLUTION, now).total_seconds()
    )
    sla.updated_at = now


def _due_and_warning(sla, rule, calendar, target) -> tuple[datetime | None, datetime | None]:
    minutes = getattr(sla, f"{target}_minutes")
    start = start_of(sla, target)
    if minutes is None or start is None:
        return None, None
    pauses = effective_pauses(sla, rule, until=met_at(sla, target))
    duration = timedelta(minutes=minutes)
    durations = [duration]
    if 0 < rule.warning_percent < 100:
        durations.append(duration * rule.warning_percent / 100)
    try:  # the warning time on the way to the due time: one walk through the calendar
        dues = bt.add_business_times(calendar, start, durations, pauses)
    except ValueError:  # a calendar without working hours: no due time rather than a crash
        log.warning("No SLA due time for ticket %s (%s)", sla.ticket_id, target, exc_info=True)
        return None, None
    return dues[0], dues[1] if len(dues) > 1 else None


def used(sla: TicketSla, rule: Rule, calendar: bt.Calendar, target: str, now: datetime):
    """Business time the target's clock has run, up to now or until it was met."""
    start = start_of(sla, target)
    if start is None or calendar is None:
        return timedelta(0)
    end = met_at(sla, target) or now
    pauses = effective_pauses(sla, rule, until=met_at(sla, target))
    try:
        return bt.business_time_between(calendar, start, end, pauses)
    except ValueError:
        return timedelta(0)


def pending_events(sla: TicketSla) -> list[tuple[datetime, str, str]]:
    """(moment, target, kind) of warnings and breaches not acted on yet, soonest first."""
    events = []
    for target in TARGETS:
        if met_at(sla, target) is not None:
            continue
        due = getattr(sla, f"{target}_due_at")
        if due is None:
            continue
        warn = getattr(sla, f"{target}_warn_at")
        if warn is not None and not sla.fired & BITS[(target, "warning")]:
            events.append((warn, target, "warning"))
        if not sla.fired & BITS[(target, "breach")]:
            events.append((due, target, "breach"))
    return sorted(events)


def _next_moments(sla: TicketSla) -> tuple[datetime | None, datetime | None]:
    dues = [
        getattr(sla, f"{t}_due_at")
        for t in TARGETS
        if met_at(sla, t) is None and getattr(sla, f"{t}_due_at") is not None
    ]
    pending = pending_events(sla)
    return (min(dues) if dues else None), (pending[0][0] if pending else None)


def reschedule(sla: TicketSla) -> None:
    """After acting on events: the next moment to look at this ticket again."""
    sla.next_due_at, sla.next_check_at = _next_moments(sla)


def target_state(sla: TicketSla, target: str, now: datetime) -> str | None:
    """met, met_late, breached, warning, running or paused; None for a target not running."""
    minutes = getattr(sla, f"{target}_minutes")
    start = start_of(sla, target)
    if minutes is None or start is None:
        return None
    due = getattr(sla, f"{target}_due_at")
    met = met_at(sla, target)
    if met is not None:
        return "met_late" if due is not None and met > due else "met"
    if due is None:
        return "paused"
    if due <= now or sla.fired & BITS[(target, "breach")]:
        return "breached"
    warn = getattr(sla, f"{target}_warn_at")
    if (warn is not None and warn <= now) or sla.fired & BITS[(target, "warning")]:
        return "warning"
    return "running"


def overall_state(sla: TicketSla, now: datetime) -> str:
    states = {target_state(sla, t, now) for t in TARGETS} - {None}
    for state in ("breached", "warning", "running", "paused"):
        if state in states:
            return state
    return "met"


@dataclass(frozen=True)
class Due:
    """An event the sweep found due."""

    moment: datetime
    target: str
    kind: str
    cycle: int


def due_events(sla: TicketSla, now: datetime) -> tuple[list[Due], int]:
    """The events to act on now, and the bits to set. A warning that is overtaken by its
    breach is only marked, not sent."""
    due = [(m, t, k) for m, t, k in pending_events(sla) if m <= now]
    breached = {t for _m, t, k in due if k == "breach"}
    bits, act = 0, []
    for moment, target, kind in due:
        bits |= BITS[(target, kind)]
        if kind == "warning" and target in breached:
            continue
        cycle = sla.next_response_cycle if target == Target.NEXT_RESPONSE else 0
        act.append(Due(moment, target, kind, cycle))
    return act, bits
