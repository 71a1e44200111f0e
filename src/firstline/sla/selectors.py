"""Reads of SLA data: a ticket's timeline (through the ticket selectors, so only for tickets
the user may see) and the configuration for the administration pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.core import clock
from firstline.core.errors import NotFound
from firstline.tickets import selectors as ticket_selectors
from firstline.tickets.models import Ticket

from . import business_time as bt
from . import config as sla_config
from . import explaining, tracking
from .models import Calendar, CalendarDay, Contract, Policy, Target, TicketSla


@dataclass(frozen=True)
class TargetLine:
    target: str
    label: str
    minutes: int
    cycle: int  # next response: the number of the requester reply it answers
    started_at: datetime
    due_at: datetime | None  # None while the clock stands still
    warning_at: datetime | None
    met_at: datetime | None
    state: str  # running, warning, breached, paused, met, met_late
    spent: timedelta  # business time the clock ran
    remaining: timedelta  # negative: overdue by that much business time
    explanation: str  # why the due time is what it is (business_time.explain)


@dataclass(frozen=True)
class PauseLine:
    start: datetime
    end: datetime | None
    reason: str  # the ticket status that stopped the clock


@dataclass(frozen=True)
class Timeline:
    """A ticket's SLA as the desk panel and the API show it (the same numbers)."""

    number: int
    policy_id: int | None
    policy_name: str
    calendar_name: str
    time_zone: str
    warning_percent: int
    paused_since: datetime | None
    state: str
    targets: list[TargetLine]
    pauses: list[PauseLine]
    now: datetime


def ticket_timeline(user: User, number: int) -> Timeline | None:
    """The SLA of a ticket the user may see (NotFound otherwise); None: it has no SLA."""
    ticket = ticket_selectors.get_ticket(user, number)
    return timeline_for(ticket)


def timeline_for(ticket: Ticket, now: datetime | None = None) -> Timeline | None:
    """For a ticket already read through the ticket selectors."""
    sla = TicketSla.objects.select_related("policy", "calendar").filter(ticket_id=ticket.pk).first()
    if sla is None:
        return None
    now = now or clock.now()
    config = sla_config.current()
    rule = config.rules_by_id.get(sla.policy_id)
    calendar = config.calendar(sla.calendar_id) if sla.calendar_id else None
    lines = []
    if rule is not None and calendar is not None:
        lines = [_line(sla, rule, calendar, t, now) for t in tracking.TARGETS]
    pauses = []
    if rule is not None:
        pauses = [PauseLine(p.start, p.end, p.reason) for p in tracking.effective_pauses(sla, rule)]
    return Timeline(
        number=ticket.pk,
        policy_id=sla.policy_id,
        policy_name=sla.policy.name if sla.policy else "",
        calendar_name=sla.calendar.name if sla.calendar else "",
        time_zone=sla.calendar.time_zone if sla.calendar else "UTC",
        warning_percent=sla.warning_percent,
        paused_since=sla.paused_since,
        state=tracking.overall_state(sla, now),
        targets=[line for line in lines if line is not None],
        pauses=pauses,
        now=now,
    )


def _line(sla, rule, calendar, target: str, now: datetime) -> TargetLine | None:
    state = tracking.target_state(sla, target, now)
    if state is None:
        return None
    minutes = getattr(sla, f"{target}_minutes")
    start = tracking.start_of(sla, target)
    met = tracking.met_at(sla, target)
    duration = timedelta(minutes=minutes)
    pauses = tracking.effective_pauses(sla, rule, until=met)
    spent = tracking.used(sla, rule, calendar, target, now)
    try:
        explanation = explaining.sentence(bt.explain(calendar, start, duration, pauses))
    except ValueError:
        explanation = ""
    return TargetLine(
        target=target,
        label=str(Target(target).label),
        minutes=minutes,
        cycle=sla.next_response_cycle if target == Target.NEXT_RESPONSE else 0,
        started_at=start,
        due_at=getattr(sla, f"{target}_due_at"),
        warning_at=getattr(sla, f"{target}_warn_at"),
        met_at=met,
        state=state,
        spent=spent,
        remaining=duration - spent,
        explanation=explanation,
    )


# --- Configuration, for the administration pages ---------------------------------------------


def _managed(actor: User, queryset: QuerySet) -> QuerySet:
    return queryset if actor.sees_all_tickets else queryset.none()


def calendars(actor: User) -> QuerySet[Calendar]:
    return _managed(
        actor,
        Calendar.objects.annotate(policy_count=Count("policies", distinct=True)).prefetch_related(
            "hours"
        ),
    )


def get_calendar(actor: User, calendar_id: int) -> Calendar:
    calendar = _managed(actor, Calendar.objects.all()).filter(pk=calendar_id).first()
    if calendar is None:
        raise NotFound(_("No calendar %(id)s.") % {"id": calendar_id})
    return calendar


def calendar_days(actor: User, calendar: Calendar) -> QuerySet[CalendarDay]:
    return _managed(actor, calendar.days.all()).order_by("date")


def policies(actor: User) -> QuerySet[Policy]:
    return _managed(
        actor,
        Policy.objects.select_related("calendar", "notify_user")
        .prefetch_related("organizations", "categories", "groups", "targets")
        .order_by("position", "pk"),
    )


def get_policy(actor: User, policy_id: int) -> Policy:
    policy = policies(actor).filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(_("No policy %(id)s.") % {"id": policy_id})
    return policy


def contracts(actor: User) -> QuerySet[Contract]:
    return _managed(
        actor,
        Contract.objects.select_related("organization", "policy", "calendar").order_by(
            "organization__name"
        ),
    )


def get_contract(actor: User, contract_id: int) -> Contract:
    contract = contracts(actor).filter(pk=contract_id).first()
    if contract is None:
        raise NotFound(_("No contract %(id)s.") % {"id": contract_id})
    return contract
