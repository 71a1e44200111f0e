"""Every write of the SLA app: the configuration (calendars, policies, contracts), each
ticket's SLA clock (kept up to date from the ticket signals, inside the ticket's transaction)
and the sweep that acts on warnings and breaches."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from firstline.accounts.models import Group, Organization, User
from firstline.core import clock
from firstline.core.bulk import fast_timestamps, insert_columns, insert_one, update_rows
from firstline.core.errors import Conflict, InvalidInput, NotAllowed
from firstline.tickets.models import (
    Category,
    Channel,
    EventKind,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)

from . import business_time as bt
from . import config as sla_config
from . import tracking
from .models import (
    Calendar,
    CalendarDay,
    Contract,
    Policy,
    PolicyTarget,
    SlaEvent,
    Target,
    TicketSla,
    WorkingHours,
)

try:  # the automation app's rules may act on warnings and breaches (sent once each)
    from firstline.automation.signals import sla_event
except ImportError:  # pragma: no cover - without the automation app
    sla_event = None

log = logging.getLogger(__name__)

# Ticket columns whose change may pick another policy or other targets.
SELECTION_FIELDS = frozenset({"priority", "organization", "category", "group", "channel"})
WATCHED_FIELDS = SELECTION_FIELDS | {"status", "first_responded_at"}
MAX_HOLIDAY_YEARS = 11


# --- Configuration ------------------------------------------------------------------------


def _require_manager(actor: User | None) -> None:
    if actor is not None and not actor.sees_all_tickets:
        raise NotAllowed(_("Only supervisors and administrators can change SLA settings."))


def _changed() -> None:
    """Every configuration change: new revision now, open tickets re-targeted after commit."""
    sla_config.bump()
    transaction.on_commit(_enqueue_retarget)


def _enqueue_retarget() -> None:
    from .tasks import retarget_open_tickets as task

    task.enqueue()


def _name(value: str, max_length: int = 100) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput.for_field("name", _("A name is required."))
    if len(value) > max_length:
        message = _("The name is longer than %(max)s characters.") % {"max": max_length}
        raise InvalidInput.for_field("name", message)
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        message = _("Unknown time zone '%(zone)s'.") % {"zone": value}
        raise InvalidInput.for_field("time_zone", message) from None
    return value


def _weekly_hours(hours: dict[int, str]) -> dict[int, tuple[bt.Interval, ...]]:
    """{0: '09:00-12:00, 13:00-18:00', ...} -> intervals; errors name the weekday's field."""
    parsed = {}
    for weekday, text in hours.items():
        try:
            parsed[weekday] = sla_config.parse_intervals(text or "")
        except ValueError:
            message = _("Write working hours as 09:00-12:00, 13:00-18:00 (no overlaps).")
            raise InvalidInput.for_field(bt.WEEKDAYS[weekday], message) from None
    return parsed


def _unique_name(model, name: str, exclude_pk: int | None = None) -> None:
    taken = model.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        message = _("The name '%(name)s' is already taken.") % {"name": name}
        raise Conflict.for_field("name", message)


def _save_calendar(calendar: Calendar, hours: dict[int, str]) -> Calendar:
    intervals = _weekly_hours(hours)
    if not calendar.always_open and not any(intervals.values()):
        raise InvalidInput(
            _("Give the calendar working hours on at least one day, or make it 24/7."),
            {"mon": [_("No working hours at all.")]},
        )
    calendar.updated_at = clock.now()
    calendar.save()
    calendar.hours.all().delete()
    WorkingHours.objects.bulk_create(
        WorkingHours(calendar=calendar, weekday=day, start=iv.start, end=iv.end)
        for day, ivs in sorted(intervals.items())
        for iv in ivs
    )
    _changed()
    return calendar


@transaction.atomic
def create_calendar(
    *,
    actor: User | None,
    name: str,
    time_zone: str,
    always_open: bool = False,
    hours: dict[int, str] | None = None,
) -> Calendar:
    """A business-hours calendar; `hours` maps weekdays (0 Monday) to '09:00-12:00, ...'."""
    _require_manager(actor)
    name = _name(name)
    _unique_name(Calendar, name)
    calendar = Calendar(name=name, time_zone=_time_zone(time_zone), always_open=always_open)
    return _save_calendar(calendar, hours or {})


@transaction.atomic
def update_calendar(
    *,
    actor: User | None,
    calendar: Calendar,
    name: str,
    time_zone: str,
    always_open: bool,
    hours: dict[int, str],
) -> Calendar:
    _require_manager(actor)
    name = _name(name)
    _unique_name(Calendar, name, exclude_pk=calendar.pk)
    calendar.name, calendar.time_zone = name, _time_zone(time_zone)
    calendar.always_open = always_open
    return _save_calendar(calendar, hours)


def _touch(calendar: Calendar) -> None:
    calendar.updated_at = clock.now()
    calendar.save(update_fields=["updated_at"])
    _changed()


@transaction.atomic
def import_holidays(
    *,
    actor: User | None,
    calendar: Calendar,
    country: str,
    first_year: int,
    last_year: int,
    subdivision: str = "",
) -> tuple[int, int]:
    """Closes the calendar on a country's public holidays (and, where the country has them,
    opens it on official make-up working days) for a range of years. Dates the calendar
    already has an entry for are left as they are. Returns (closed days, open days) added."""
    _require_manager(actor)
    if last_year < first_year or last_year - first_year >= MAX_HOLIDAY_YEARS:
        message = _("Choose between 1 and %(n)s years.") % {"n": MAX_HOLIDAY_YEARS}
        raise InvalidInput.for_field("last_year", message)
    country, subdivision = country.strip().upper(), subdivision.strip().upper() or None
    years = range(first_year, last_year + 1)
    try:
        closed = bt.country_holidays(country, years, subdivision)
        make_up = bt.country_make_up_days(country, years, subdivision)
    except ValueError:
        message = _("No holidays are known for '%(country)s'.") % {
            "country": "-".join(filter(None, [country, subdivision]))
        }
        raise InvalidInput.for_field("country", message) from None
    dates = set(closed) | set(make_up)
    taken = set(calendar.days.filter(date__in=dates).values_list("date", flat=True))
    new_days = [
        CalendarDay(calendar=calendar, date=d, kind="closed", name=name[:200], source="holiday")
        for d, name in sorted(closed.items())
        if d not in taken
    ]
    new_days += [
        CalendarDay(
            calendar=calendar,
            date=d,
            kind="open",
            name=_("Make-up working day"),
            source="holiday",
        )
        for d in sorted(make_up - closed.keys())
        if d not in taken
    ]
    CalendarDay.objects.bulk_create(new_days)
    _touch(calendar)
    return (
        sum(1 for d in new_days if d.kind == "closed"),
        sum(1 for d in new_days if d.kind == "open"),
    )


@transaction.atomic
def add_calendar_day(
    *,
    actor: User | None,
    calendar: Calendar,
    day: date,
    kind: str = CalendarDay.Kind.CLOSED,
    name: str = "",
    intervals: str = "",
) -> CalendarDay:
    """A one-off closure (or an extra working day, with its hours or the usual ones)."""
    _require_manager(actor)
    if kind not in CalendarDay.Kind.values:
        raise InvalidInput.for_field("kind", _("Choose closed or working day."))
    if intervals.strip():
        if kind != CalendarDay.Kind.OPEN:
            raise InvalidInput.for_field("intervals", _("Only working days have hours."))
        try:
            sla_config.parse_intervals(intervals)
        except ValueError:
            message = _("Write working hours as 09:00-12:00, 13:00-18:00 (no overlaps).")
            raise InvalidInput.for_field("intervals", message) from None
    if calendar.days.filter(date=day).exists():
        message = _("%(date)s is already in this calendar; remove it first.") % {"date": day}
        raise Conflict.for_field("date", message)
    entry = CalendarDay.objects.create(
        calendar=calendar,
        date=day,
        kind=kind,
        name=(name or "").strip()[:200],
        intervals=intervals.strip(),
        source=CalendarDay.Source.MANUAL,
    )
    _touch(calendar)
    return entry


@transaction.atomic
def remove_calendar_days(*, actor: User | None, calendar: Calendar, day_ids: Iterable[int]) -> int:
    _require_manager(actor)
    removed, _detail = calendar.days.filter(pk__in=list(day_ids)).delete()
    if removed:
        _touch(calendar)
    return removed


@dataclass(frozen=True)
class TargetMinutes:
    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None


POLICY_FIELDS = (
    "name",
    "is_active",
    "calendar",
    "warning_percent",
    "pause_when_pending",
    "pause_when_on_hold",
    "priorities",
    "channels",
    "raise_priority",
    "escalate_to_next_tier",
    "notify_user",
)


def _check_policy(data: dict) -> dict:
    data = dict(data)
    if "name" in data:
        data["name"] = _name(data["name"])
    percent = data.get("warning_percent")
    if percent is not None and not 0 <= percent <= 100:
        raise InvalidInput.for_field("warning_percent", _("Give a percentage from 0 to 100."))
    if "priorities" in data:
        try:
            data["priorities"] = sorted({int(Priority(int(p))) for p in data["priorities"] or ()})
        except ValueError:
            raise InvalidInput.for_field("priorities", _("Unknown priority.")) from None
    if "channels" in data:
        channels = sorted(set(data["channels"] or ()))
        if set(channels) - set(Channel.values):
            raise InvalidInput.for_field("channels", _("Unknown channel."))
        data["channels"] = channels
    notify = data.get("notify_user")
    if notify is not None and not (notify.is_active and notify.is_agent):
        raise InvalidInput.for_field("notify_user", _("Choose an active staff member."))
    return data


def _save_targets(policy: Policy, targets: dict[int, TargetMinutes]) -> None:
    for priority, minutes in targets.items():
        values = [minutes.first_response, minutes.next_response, minutes.resolution]
        if any(v is not None and v <= 0 for v in values):
            raise InvalidInput.for_field(
                f"{Priority(priority).key}_resolution", _("Targets are positive minutes.")
            )
    policy.targets.all().delete()
    PolicyTarget.objects.bulk_create(
        PolicyTarget(
            policy=policy,
            priority=priority,
            first_response_minutes=m.first_response,
            next_response_minutes=m.next_response,
            resolution_minutes=m.resolution,
        )
        for priority, m in sorted(targets.items())
        if any(v is not None for v in (m.first_response, m.next_response, m.resolution))
    )


def _set_conditions(policy: Policy, conditions: dict) -> None:
    for name in ("organizations", "categories", "groups"):
        if name in conditions:
            getattr(policy, name).set(conditions[name] or [])


@transaction.atomic
def create_policy(
    *,
    actor: User | None,
    name: str,
    calendar: Calendar,
    targets: dict[int, TargetMinutes],
    organizations: Iterable[Organization] = (),
    categories: Iterable[Category] = (),
    groups: Iterable[Group] = (),
    **fields,
) -> Policy:
    """A policy, placed after the existing ones. `targets` maps priorities to minutes."""
    _require_manager(actor)
    fields = _check_policy({"name": name, **fields})
    _unique_name(Policy, fields["name"])
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"unknown policy fields: {sorted(unknown)}")
    last = Policy.objects.aggregate(last=Max("position"))["last"]
    policy = Policy.objects.create(
        calendar=calendar, position=0 if last is None else last + 1, **fields
    )
    _set_conditions(
        policy, {"organizations": organizations, "categories": categories, "groups": groups}
    )
    _save_targets(policy, targets)
    _changed()
    return policy


@transaction.atomic
def update_policy(
    *,
    actor: User | None,
    policy: Policy,
    targets: dict[int, TargetMinutes] | None = None,
    **changes,
) -> Policy:
    """Changes the given fields, conditions (organizations, categories, groups) and targets."""
    _require_manager(actor)
    conditions = {
        k: changes.pop(k) for k in ("organizations", "categories", "groups") if k in changes
    }
    changes = _check_policy(changes)
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"unknown policy fields: {sorted(unknown)}")
    if "name" in changes:
        _unique_name(Policy, changes["name"], exclude_pk=policy.pk)
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.updated_at = clock.now()
    policy.save(update_fields=[*changes, "updated_at"])
    _set_conditions(policy, conditions)
    if targets is not None:
        _save_targets(policy, targets)
    _changed()
    return policy


@transaction.atomic
def move_policy(*, actor: User | None, policy: Policy, up: bool) -> None:
    """Swaps the policy with its neighbour in the order in which policies are tried."""
    _require_manager(actor)
    ordered = list(Policy.objects.select_for_update().order_by("position", "pk"))
    index = next(i for i, p in enumerate(ordered) if p.pk == policy.pk)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, item in enumerate(ordered):
        item.position = position
    Policy.objects.bulk_update(ordered, ["position"])
    _changed()


@transaction.atomic
def delete_policy(*, actor: User | None, policy: Policy) -> None:
    """Removes a policy no contract names; its tickets are re-targeted (or lose their SLA)."""
    _require_manager(actor)
    if policy.contracts.exists():
        raise Conflict(_("A contract names this policy; change the contract first."))
    policy.delete()
    _changed()


@transaction.atomic
def save_contract(
    *,
    actor: User | None,
    organization: Organization,
    policy: Policy | None = None,
    calendar: Calendar | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    notes: str = "",
    contract: Contract | None = None,
) -> Contract:
    """An organization's own policy and/or calendar (one contract per organization)."""
    _require_manager(actor)
    if policy is None and calendar is None:
        raise InvalidInput.for_field("policy", _("Name a policy, a calendar or both."))
    if starts_on and ends_on and ends_on < starts_on:
        raise InvalidInput.for_field("ends_on", _("The contract ends before it starts."))
    existing = Contract.objects.filter(organization=organization)
    if contract is not None:
        existing = existing.exclude(pk=contract.pk)
    if existing.exists():
        message = _("%(organization)s already has a contract.") % {"organization": organization}
        raise Conflict.for_field("organization", message)
    contract = contract or Contract()
    contract.organization, contract.policy, contract.calendar = organization, policy, calendar
    contract.starts_on, contract.ends_on, contract.notes = starts_on, ends_on, notes.strip()
    contract.save()
    _changed()
    return contract


@transaction.atomic
def delete_contract(*, actor: User | None, contract: Contract) -> None:
    _require_manager(actor)
    contract.delete()
    _changed()


# --- Each ticket's clock (called from the ticket signals, in the ticket's transaction) ------


def _today(now: datetime) -> date:
    return timezone.localdate(now)


_NEW_SLA = "_firstline_new_sla"  # the clock plan_new_ticket worked out, on the new ticket
_UNKNOWN = object()


def plan_new_ticket(*, ticket: Ticket) -> None:
    """Before a new ticket is written: works out its SLA clock, so that the ticket row is
    written with its due time (`sla_due_at`) rather than written again once the clock runs.
    `track_new_ticket` stores the clock once the ticket has its number."""
    config = sla_config.current()
    selection = config.select(ticket, _today(ticket.created_at))
    sla = None
    if selection is not None:
        sla = _new_sla(ticket, selection)
        tracking.replay_history(sla, [], ticket.status, ticket.created_at)
        _refresh(sla, selection.rule, config.calendar(selection.calendar_id))
    ticket.sla_due_at = sla.next_due_at if sla is not None else None
    setattr(ticket, _NEW_SLA, sla)


def track_new_ticket(*, ticket: Ticket) -> None:
    """Starts the ticket's SLA clock if a policy applies; else the ticket has no SLA."""
    sla = ticket.__dict__.pop(_NEW_SLA, _UNKNOWN)
    if sla is _UNKNOWN:  # not planned, or the ticket changed since (see ticket_changed)
        plan_new_ticket(ticket=ticket)
        sla = ticket.__dict__.pop(_NEW_SLA)
        _show_due_time(ticket, ticket.sla_due_at, known=False)
    if sla is None:
        return
    sla.ticket = ticket  # planned before the ticket had its number
    # One INSERT, no read first. If a receiver that ran first changed the ticket, its clock
    # was started then (`_start_late`), from the changed ticket: that row stays.
    insert_one(sla, ignore_conflicts=True)


def _show_due_time(ticket: Ticket, due: datetime | None, *, known: bool = True) -> None:
    """Copies the SLA's next due time onto the ticket row, where queues sort by it; written
    only when it changed (`known`: whether the ticket's copy in memory is the stored one)."""
    if known and ticket.__dict__.get("sla_due_at", _UNKNOWN) == due:
        return
    ticket.sla_due_at = due
    update_rows(Ticket, [ticket], ["sla_due_at"])


def _show_due_times(dues: dict[Ticket, datetime | None]) -> None:
    """`_show_due_time` for many tickets (loaded whole), in one statement."""
    changed = [t for t, due in dues.items() if t.__dict__.get("sla_due_at", _UNKNOWN) != due]
    for ticket in changed:
        ticket.sla_due_at = dues[ticket]
    update_rows(Ticket, changed, ["sla_due_at"])


def _new_sla(ticket: Ticket, selection: sla_config.Selection) -> TicketSla:
    sla = TicketSla(
        ticket=ticket,
        policy_id=selection.rule.id,
        calendar_id=selection.calendar_id,
        priority=ticket.priority,
        started_at=ticket.created_at,
        first_response_met_at=ticket.first_responded_at,
    )
    tracking.apply_targets(sla, selection.targets)
    return sla


def _refresh(sla: TicketSla, rule, calendar, now: datetime | None = None) -> None:
    tracking.refresh(sla, rule, calendar, now or clock.now())


def ticket_changed(*, ticket: Ticket, fields: frozenset[str]) -> None:
    """Pauses, resumes, meets or re-targets the clock after a change of the ticket row."""
    if not fields & WATCHED_FIELDS:
        return
    ticket.__dict__.pop(_NEW_SLA, None)  # a new ticket's planned clock is out of date
    sla = TicketSla.objects.filter(ticket_id=ticket.pk).first()
    config = sla_config.current()
    if sla is None:  # a ticket without SLA, or one changed before its creation signal
        sla = _start_late(ticket, config)
    elif _follow(sla, ticket, fields, config):
        sla.save()
    elif sla.pk is None:  # deleted: the ticket lost its SLA
        sla = None
    _show_due_time(ticket, sla.next_due_at if sla is not None else None)


def tickets_changed(*, changes: list[tuple[Ticket, frozenset[str]]]) -> None:
    """`ticket_changed` for many tickets at once (escalate_many): one read, one write. The
    sweep's escalations reuse the rows the sweep has loaded (see `_sweep_batch`)."""
    changes = [(ticket, fields) for ticket, fields in changes if fields & WATCHED_FIELDS]
    loaded = _loaded_slas.get()
    by_ticket = dict(loaded.slas if loaded else {})
    unknown = [ticket.pk for ticket, _fields in changes if ticket.pk not in by_ticket]
    by_ticket.update(
        (sla.ticket_id, sla) for sla in TicketSla.objects.filter(ticket_id__in=unknown)
    )
    config, followed, dues = sla_config.current(), [], {}
    days = {at: _today(at) for at in {ticket.updated_at for ticket, _fields in changes}}
    for ticket, fields in changes:
        sla = by_ticket.get(ticket.pk)
        if sla is None:
            sla = _start_late(ticket, config)
        elif _follow(sla, ticket, fields, config, days[ticket.updated_at]):
            followed.append(sla)
        elif sla.pk is None:  # deleted: the ticket lost its SLA
            sla = None
        dues[ticket] = sla.next_due_at if sla is not None else None
    if loaded is not None:
        loaded.saved.update(sla.ticket_id for sla in followed)
    columns = _RETARGET_COLUMNS
    if any(fields & {"status", "first_responded_at"} for _ticket, fields in changes):
        columns = _SLA_COLUMNS
    update_rows(TicketSla, followed, columns, key="ticket")
    _show_due_times(dues)


# What re-targeting (`_follow` without a status change) writes.
_RETARGET_COLUMNS = [
    "policy",
    "calendar",
    "priority",
    "warning_percent",
    "paused_since",
    *(f"{t}_{part}" for t in tracking.TARGETS for part in ("minutes", "due_at", "warn_at")),
    "fired",
    "next_due_at",
    "next_check_at",
    "business_seconds_used",
    "updated_at",
]


@dataclass
class _LoadedSlas:
    """TicketSla rows a sweep batch has loaded, for its escalations' re-targeting to reuse,
    and which of them that re-targeting has saved (the sweep saves the others)."""

    slas: dict[int, TicketSla]
    saved: set[int] = field(default_factory=set)


_loaded_slas: ContextVar[_LoadedSlas | None] = ContextVar("loaded_slas", default=None)


def _follow(
    sla: TicketSla, ticket: Ticket, fields: frozenset[str], config, today: date | None = None
) -> bool:
    """Brings `sla` in step with the changed `fields` of `ticket`; False when there is
    nothing to save (unchanged terms, or the ticket lost its SLA and the row is gone).
    `today`: the local date of the change, when the caller has worked it out."""
    if "status" in fields:
        tracking.status_changed(sla, ticket.status, ticket.updated_at)
    if "first_responded_at" in fields:
        sla.first_response_met_at = ticket.first_responded_at
    rule = config.rules_by_id.get(sla.policy_id)
    calendar = config.calendar(sla.calendar_id) if sla.calendar_id else None
    if fields & SELECTION_FIELDS or rule is None or calendar is None:
        selection = config.select(ticket, today or _today(ticket.updated_at))
        if selection is None:
            sla.delete()
            return False
        if not fields & {"status", "first_responded_at"} and _same_terms(sla, selection):
            return False  # e.g. another group under the same policy: nothing to recompute
        sla.policy_id, sla.calendar_id = selection.rule.id, selection.calendar_id
        sla.priority = ticket.priority
        tracking.apply_targets(sla, selection.targets)
        rule, calendar = selection.rule, config.calendar(selection.calendar_id)
    _refresh(sla, rule, calendar)
    return True


def _same_terms(sla: TicketSla, selection: sla_config.Selection) -> bool:
    return (sla.policy_id, sla.calendar_id) == (selection.rule.id, selection.calendar_id) and all(
        getattr(sla, f"{t}_minutes") == selection.targets.minutes(t) for t in tracking.TARGETS
    )


def _status_history(ticket_ids: list[int]) -> dict[int, list[tuple]]:
    changes = defaultdict(list)
    events = (
        TicketEvent.objects.filter(ticket_id__in=ticket_ids, kind=EventKind.CHANGED, field="status")
        .order_by("created_at", "pk")
        .values_list("ticket_id", "created_at", "old_value", "new_value")
    )
    for ticket_id, *change in events:
        changes[ticket_id].append(tuple(change))
    return changes


def _start_late(ticket: Ticket, config: sla_config.Config) -> TicketSla | None:
    """A ticket that now matches a policy: its pauses so far come from its history."""
    selection = config.select(ticket, _today(ticket.updated_at))
    if selection is None:
        return None
    sla = _new_sla(ticket, selection)
    changes = _status_history([ticket.pk]).get(ticket.pk, [])
    tracking.replay_history(sla, changes, ticket.status, ticket.updated_at)
    _refresh(sla, selection.rule, config.calendar(selection.calendar_id))
    sla.save()
    return sla


def reply_posted(*, ticket: Ticket, comment, actor: User | None) -> None:
    """A requester's public reply starts a next-response clock (once the first response was
    given); the agent's next public reply meets it."""
    sla = TicketSla.objects.filter(ticket_id=ticket.pk).first()
    if sla is None:
        return
    agent_side = actor is not None and actor.is_agent and actor.pk != ticket.requester_id
    waiting = sla.next_response_started_at is not None and sla.next_response_met_at is None
    if agent_side:
        if not waiting:
            return
        sla.next_response_met_at = comment.created_at
    else:
        if sla.first_response_met_at is None or waiting:
            return
        sla.next_response_cycle += 1
        sla.next_response_started_at, sla.next_response_met_at = comment.created_at, None
        sla.fired &= ~tracking.NEXT_RESPONSE_BITS
    config = sla_config.current()
    rule = config.rules_by_id.get(sla.policy_id)
    calendar = config.calendar(sla.calendar_id) if sla.calendar_id else None
    if rule is None or calendar is None:
        return
    _refresh(sla, rule, calendar)
    sla.save()
    _show_due_time(ticket, sla.next_due_at)


def retarget_open_tickets(*, batch_size: int = 500) -> int:
    """After a configuration change: every ticket not closed gets the policy, calendar and
    due times the configuration now gives it (or loses its SLA). Runs in batches, each its
    own transaction with the tickets locked; returns how many tickets were looked at."""
    cursor, seen = 0, 0
    while True:
        with transaction.atomic():
            ids = list(
                Ticket.objects.filter(pk__gt=cursor)
                .exclude(status=Status.CLOSED)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return seen
            _retarget_batch(ids)
        cursor, seen = ids[-1], seen + len(ids)


def _retarget_batch(ids: list[int]) -> None:
    tickets = list(Ticket.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))
    slas = {s.ticket_id: s for s in TicketSla.objects.filter(ticket_id__in=ids)}
    config, now = sla_config.current(), clock.now()
    history = _status_history([t.pk for t in tickets if t.pk not in slas])
    created, updated, dropped, dues = [], [], [], {}
    for ticket in tickets:
        sla = slas.get(ticket.pk)
        selection = config.select(ticket, _today(now))
        if selection is None:
            if sla is not None:
                dropped.append(ticket.pk)
            dues[ticket] = None
            continue
        if sla is None:
            sla = _new_sla(ticket, selection)
            tracking.replay_history(sla, history.get(ticket.pk, []), ticket.status, now)
            created.append(sla)
        else:
            sla.policy_id, sla.calendar_id = selection.rule.id, selection.calendar_id
            sla.priority = ticket.priority
            tracking.apply_targets(sla, selection.targets)
            updated.append(sla)
        _refresh(sla, selection.rule, config.calendar(selection.calendar_id), now)
        dues[ticket] = sla.next_due_at
    TicketSla.objects.filter(ticket_id__in=dropped).delete()
    TicketSla.objects.bulk_create(created, batch_size=500)
    update_rows(TicketSla, updated, _SLA_COLUMNS, key="ticket")
    _show_due_times(dues)


_SLA_COLUMNS = [f.name for f in TicketSla._meta.concrete_fields if f.name not in ("ticket",)]


# --- The sweep ------------------------------------------------------------------------------


@dataclass
class SweepReport:
    checked: int = 0  # tickets found due
    warnings: int = 0
    breaches: int = 0
    already_done: int = 0  # events another sweep had acted on
    escalations: int = 0  # tickets escalated
    messages: int = 0  # e-mails queued
    busy: int = 0  # tickets locked by someone else, left for the next run
    events: list[tuple[int, str, int, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # time spent per stage


def sweep(*, now: datetime | None = None, batch_size: int = 2000) -> SweepReport:
    """Acts on every warning and breach due by `now`. Nothing due costs one indexed query.

    Due tickets are read by (next_check_at, ticket) keyset, a batch at a time; each batch is
    one transaction that locks its tickets (skipping those another sweep or an agent holds:
    they stay due for the next run), inserts the events first and acts only on the inserted
    ones, so two sweeps at once never act twice.
    """
    now = now or clock.now()
    report = SweepReport()
    cursor: tuple[datetime, int] | None = None
    while True:
        due = TicketSla.objects.filter(next_check_at__lte=now)
        if cursor is not None:
            due = due.filter(
                Q(next_check_at__gt=cursor[0]) | Q(next_check_at=cursor[0], ticket_id__gt=cursor[1])
            )
        rows = list(
            due.order_by("next_check_at", "ticket_id").values_list("next_check_at", "ticket_id")[
                :batch_size
            ]
        )
        if not rows:
            return report
        cursor = rows[-1]
        with fast_timestamps():  # a batch reads some 20 timestamps per ticket
            _sweep_batch([pk for _at, pk in rows], now, report)
        if len(rows) < batch_size:
            return report


@dataclass
class _Fired:
    sla: TicketSla
    ticket: Ticket
    event: tracking.Due


@transaction.atomic
def _sweep_batch(ids: list[int], now: datetime, report: SweepReport) -> None:
    clock_ = _StageClock(report)
    tickets = {
        t.pk: t
        for t in Ticket.objects.select_for_update(skip_locked=True)
        .defer("description")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    assignees = User.objects.in_bulk({t.assignee_id for t in tickets.values() if t.assignee_id})
    for ticket in tickets.values():
        ticket.assignee = assignees.get(ticket.assignee_id)
    report.busy += len(ids) - len(tickets)
    slas = list(TicketSla.objects.filter(ticket_id__in=list(tickets), next_check_at__lte=now))
    report.checked += len(slas)
    claim, candidates = uuid.uuid4(), []
    for sla in slas:
        events, bits = tracking.due_events(sla, now)
        sla.fired |= bits
        tracking.reschedule(sla)
        candidates += [_Fired(sla, tickets[sla.ticket_id], e) for e in events]
    clock_.lap("load")
    insert_columns(
        SlaEvent,
        {
            "ticket_id": [c.sla.ticket_id for c in candidates],
            "target": [c.event.target for c in candidates],
            "cycle": [c.event.cycle for c in candidates],
            "kind": [c.event.kind for c in candidates],
            "due_at": [c.event.moment for c in candidates],
            "claim": [claim] * len(candidates),
            "created_at": [now] * len(candidates),
        },
        ignore_conflicts=True,
        batch_size=2000,
    )
    won = set(
        SlaEvent.objects.filter(claim=claim).values_list("ticket_id", "target", "cycle", "kind")
    )
    fired = [
        c
        for c in candidates
        if (c.sla.ticket_id, c.event.target, c.event.cycle, c.event.kind) in won
    ]
    report.already_done += len(candidates) - len(fired)
    clock_.lap("events")
    if not fired:
        _save_schedules(slas)
        return
    config = sla_config.current()
    _record_history(fired, config, now)
    clock_.lap("history")
    report.messages += _notify(fired, config)
    clock_.lap("notify")
    for c in fired:
        report.events.append((c.sla.ticket_id, c.event.target, c.event.cycle, c.event.kind))
        if c.event.kind == "breach":
            report.breaches += 1
        else:
            report.warnings += 1
        if sla_event is not None:  # automation rules on "SLA warning" / "SLA breach"
            sla_event.send(
                sender=SlaEvent, ticket=c.ticket, kind=c.event.kind, target=c.event.target
            )
    loaded = _LoadedSlas({sla.ticket_id: sla for sla in slas})
    token = _loaded_slas.set(loaded)
    try:
        report.escalations += _escalate(fired, config)
    finally:
        _loaded_slas.reset(token)
    _save_schedules([sla for sla in slas if sla.ticket_id not in loaded.saved])
    clock_.lap("escalate")


class _StageClock:
    """Adds the time spent in each stage of the sweep to the report (for the benchmark)."""

    def __init__(self, report: SweepReport):
        self.report, self.last = report, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.report.seconds[stage] = self.report.seconds.get(stage, 0.0) + now - self.last
        self.last = now


def _save_schedules(slas: list[TicketSla]) -> None:
    """The new `fired`, `next_due_at` and `next_check_at` of many rows at once. The ticket's
    copy of `next_due_at` stays true: acting on events changes no due or met time."""
    update_rows(TicketSla, slas, ["fired", "next_due_at", "next_check_at"], key="ticket")


def _local(moment: datetime, config: sla_config.Config, calendar_id: int | None) -> tuple:
    spec = config.calendars.get(calendar_id) if calendar_id else None
    zone = spec.time_zone if spec else "UTC"
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M"), zone


def _record_history(fired: list[_Fired], config: sla_config.Config, now: datetime) -> None:
    notes, kinds = [], []
    for c in fired:
        when, zone = _local(c.event.moment, config, c.sla.calendar_id)
        verb = "warning at" if c.event.kind == "warning" else "due"
        notes.append(f"{verb} {when} ({zone})")
        kinds.append(EventKind.SLA_WARNING if c.event.kind == "warning" else EventKind.SLA_BREACH)
    n = len(fired)
    insert_columns(
        TicketEvent,
        {
            "ticket_id": [c.sla.ticket_id for c in fired],
            "actor_id": [None] * n,
            "channel": [Channel.WEB] * n,
            "kind": kinds,
            "field": ["sla"] * n,
            "old_value": [""] * n,
            "new_value": [c.event.target for c in fired],
            "note": notes,
            "is_public": [False] * n,
            "created_at": [now] * n,
        },
    )


def _desk_url(ticket: Ticket | None = None) -> str:
    """The ticket's page in the desk, or without a ticket the agent's notifications."""
    base = getattr(settings, "FIRSTLINE_BASE_URL", "").rstrip("/")
    if not base:
        return ""
    return f"{base}/desk/tickets/{ticket.pk}/" if ticket else f"{base}/desk/notifications/"


def _notify(fired: list[_Fired], config: sla_config.Config) -> int:
    """Tells the assignee, the group's members and, for a breach, the policy's supervisor:
    by e-mail and in-app, one notice per ticket or one digest for people told about many
    (see channels.notices). Returns how many e-mails were queued."""
    from firstline.channels import notices
    from firstline.desk import services as desk_services

    members = _group_members({c.ticket.group_id for c in fired if c.ticket.group_id})
    notify_ids = {
        rule.notify_user_id
        for c in fired
        if c.event.kind == "breach"
        and (rule := config.rules_by_id.get(c.sla.policy_id)) is not None
        and rule.notify_user_id
    }
    supervisors = {u.pk: u for u in User.objects.filter(pk__in=notify_ids, is_active=True)}
    labels: dict[str, dict] = {}
    people: dict[tuple, list[User]] = {}  # one list for the tickets told to the same people
    batch = []
    for c in fired:
        assignee = c.ticket.assignee
        if assignee is not None and not assignee.is_active:
            assignee = None
        rule = config.rules_by_id.get(c.sla.policy_id)
        boss = None
        if c.event.kind == "breach" and rule and rule.notify_user_id in supervisors:
            boss = supervisors[rule.notify_user_id]
        key = (assignee and assignee.pk, c.ticket.group_id, boss and boss.pk)
        if key not in people:
            people[key] = _people(assignee, members.get(c.ticket.group_id, ()), boss)
        due = getattr(c.sla, f"{c.event.target}_due_at") or c.event.moment
        when, zone = _local(due, config, c.sla.calendar_id)
        batch.append(
            notices.Notice(
                kind="sla_warning" if c.event.kind == "warning" else "sla_breach",
                ticket=c.ticket,
                people=people[key],
                context=_notice_context(c, when, zone, labels),
                data={"target": c.event.target, "due": due.isoformat(), "time_zone": zone},
            )
        )
    plan = notices.plan(batch)
    desk_services.notify_in_app(plan=plan)
    return notices.queue_emails(plan, digest_context=lambda _language: {"desk_url": _desk_url()})


def _people(assignee: User | None, members: Iterable[User], boss: User | None) -> list[User]:
    """The assignee, the group's members, the supervisor: each once, in that order."""
    people = {} if assignee is None else {assignee.pk: assignee}
    for person in [*members, boss] if boss else members:
        people.setdefault(person.pk, person)
    return list(people.values())


def _group_members(group_ids: set[int]) -> dict[int, list[User]]:
    members = defaultdict(list)
    links = Group.members.through.objects.filter(
        group_id__in=group_ids, user__is_active=True
    ).select_related("user")
    for link in links:
        members[link.group_id].append(link.user)
    return members


def _notice_context(c: _Fired, when: str, zone: str, labels: dict[str, dict]):
    def context(language: str) -> dict:
        words = labels.get(language) or labels.setdefault(language, _labels(language))
        return {
            "ticket": c.ticket,
            "target": words[c.event.target],
            "priority": words[c.ticket.priority],
            "due": when,
            "time_zone": zone,
            "desk_url": _desk_url(c.ticket),
        }

    return context


def _labels(language: str) -> dict:
    """Target and priority names in `language`, worked out once per sweep batch."""
    with override(language):
        return {
            **{t.value: str(t.label) for t in Target},
            **{int(p): str(p.label) for p in Priority},
        }


def _escalate(fired: list[_Fired], config: sla_config.Config) -> int:
    """Applies the policy's escalation actions (raise the priority one step, move to the
    next tier's group) for the breaches this batch inserted, in the batch's transaction:
    a breach is inserted once, so its escalation happens once; breaches of several targets
    of one ticket escalate it once. The supervisor was told with the breach e-mail.
    Returns how many tickets were escalated."""
    from firstline.tickets import services as ticket_services

    targets: dict[int, set[str]] = defaultdict(set)
    rules = {}
    for c in fired:
        rule = config.rules_by_id.get(c.sla.policy_id)
        if (
            c.event.kind == "breach"
            and rule
            and (rule.raise_priority or rule.escalate_to_next_tier)
        ):
            targets[c.sla.ticket_id].add(c.event.target)
            rules[c.sla.ticket_id] = rule
    escalations = [
        ticket_services.AutoEscalation(
            ticket_id=ticket_id,
            raise_priority=rules[ticket_id].raise_priority,
            next_tier=rules[ticket_id].escalate_to_next_tier,
            reason=_breach_reason(frozenset(names)),
        )
        for ticket_id, names in targets.items()
    ]
    if not escalations:
        return 0
    locked = {c.ticket.pk: c.ticket for c in fired}  # read and locked by `_sweep_batch`
    return ticket_services.escalate_many(
        escalations=escalations, channel=Channel.WEB, locked=locked
    )


@functools.lru_cache(maxsize=16)
def _breach_reason(targets: frozenset[str]) -> str:
    with override(settings.LANGUAGE_CODE):  # the history's language, not the worker's
        names = ", ".join(str(Target(t).label) for t in Target.values if t in targets)
        return _("SLA breached: %(targets)s") % {"targets": names}
