"""The SLA configuration compiled for fast use: which policy applies to a ticket, and the
business-time calendars. Cached per process and checked with one query against the
configuration's revision token, which every configuration change replaces."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, time

from django.db.models.signals import post_save
from django.dispatch import receiver

from firstline.core import revisions
from firstline.tickets.models import Category

from . import business_time as bt
from .models import Calendar, CalendarDay, Contract, Policy, WorkingHours

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Targets:
    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None

    def minutes(self, target: str) -> int | None:
        return getattr(self, target)

    def __bool__(self) -> bool:
        return any(
            m is not None for m in (self.first_response, self.next_response, self.resolution)
        )


@dataclass(frozen=True)
class Rule:
    """A policy as the matching and the clock need it."""

    id: int
    name: str
    position: int
    is_active: bool
    calendar_id: int
    warning_percent: int
    pause_statuses: frozenset[str]
    targets: dict[int, Targets]
    organizations: frozenset[int]
    categories: frozenset[int]  # the named categories and everything below them
    groups: frozenset[int]
    priorities: frozenset[int]
    channels: frozenset[str]
    raise_priority: bool
    escalate_to_next_tier: bool
    notify_user_id: int | None

    def matches(self, ticket) -> bool:
        return (
            (not self.organizations or ticket.organization_id in self.organizations)
            and (not self.categories or ticket.category_id in self.categories)
            and (not self.groups or ticket.group_id in self.groups)
            and (not self.priorities or ticket.priority in self.priorities)
            and (not self.channels or ticket.channel in self.channels)
        )

    def targets_for(self, priority: int) -> Targets:
        return self.targets.get(priority) or Targets()


@dataclass(frozen=True)
class ContractTerms:
    organization_id: int
    policy_id: int | None
    calendar_id: int | None
    starts_on: date | None
    ends_on: date | None

    def in_force(self, day: date) -> bool:
        return (self.starts_on is None or self.starts_on <= day) and (
            self.ends_on is None or day <= self.ends_on
        )


@dataclass(frozen=True)
class Selection:
    rule: Rule
    calendar_id: int
    targets: Targets


@dataclass
class CalendarSpec:
    id: int
    name: str
    time_zone: str
    always_open: bool
    hours: dict[int, list[tuple[time, time]]]
    days: list[tuple[date, str, str, str]]  # date, kind, name, intervals
    _engine: bt.Calendar | None = field(default=None, repr=False)

    def engine(self) -> bt.Calendar:
        if self._engine is None:
            self._engine = build_engine_calendar(self)
        return self._engine


def build_engine_calendar(spec: CalendarSpec) -> bt.Calendar:
    hours = {
        day: tuple(bt.Interval(start, end) for start, end in intervals)
        for day, intervals in spec.hours.items()
        if intervals
    }
    closed = {d: name or "closed" for d, kind, name, _ivs in spec.days if kind == "closed"}
    typical = _typical_day(hours)
    extra = {}
    for d, kind, _name, ivs in spec.days:
        if kind != "open" or spec.always_open:
            continue
        parsed = parse_intervals(ivs) if ivs.strip() else typical
        if parsed:
            extra[d] = parsed
    return bt.Calendar(
        time_zone=spec.time_zone,
        hours={} if spec.always_open else hours,
        closed_dates=frozenset(closed),
        extra_open_dates=extra,
        always_open=spec.always_open,
        name=spec.name,
        closed_date_names=closed,
    )


def _typical_day(hours: dict[int, tuple]) -> tuple:
    days = [ivs for _, ivs in sorted(hours.items()) if ivs]
    return Counter(days).most_common(1)[0][0] if days else ()


def parse_intervals(text: str) -> tuple[bt.Interval, ...]:
    """'09:00-12:00, 13:00-18:00' -> sorted intervals; raises ValueError (overlaps, syntax)."""
    items = [part for part in text.replace(";", ",").split(",") if part.strip()]
    return bt._checked((bt.Interval.parse(part) for part in items), "a day")


@dataclass
class Config:
    token: str | None
    rules: list[Rule]  # active ones, in order
    rules_by_id: dict[int, Rule]
    calendars: dict[int, CalendarSpec]
    contracts: dict[int, ContractTerms]

    def select(self, ticket, today: date) -> Selection | None:
        """The policy (and calendar) for the ticket, or None: then it has no SLA."""
        terms = self.contracts.get(ticket.organization_id) if ticket.organization_id else None
        if terms is not None and not terms.in_force(today):
            terms = None
        rule = None
        if terms is not None and terms.policy_id is not None:
            candidate = self.rules_by_id.get(terms.policy_id)
            rule = candidate if candidate is not None and candidate.is_active else None
        if rule is None:
            rule = next((r for r in self.rules if r.matches(ticket)), None)
        if rule is None:
            return None
        targets = rule.targets_for(ticket.priority)
        if not targets:
            return None
        calendar_id = terms.calendar_id if terms and terms.calendar_id else rule.calendar_id
        if calendar_id not in self.calendars:
            return None
        return Selection(rule, calendar_id, targets)

    def calendar(self, calendar_id: int) -> bt.Calendar | None:
        spec = self.calendars.get(calendar_id)
        return spec.engine() if spec is not None else None


_lock = threading.Lock()
_cached: dict[str, Config] = {}
REVISION = "sla"  # the name of its token among core's revisions


def current_token() -> str | None:
    """Read for every ticket change: with the other revisions (core/revisions.py), so that a
    request checks all its configuration with one query. None: never configured."""
    return revisions.tokens().get(REVISION)


def current() -> Config:
    """The compiled configuration: one query when nothing changed since the last call."""
    token = current_token()
    if token is None:  # never configured: no policy exists, so no ticket has an SLA
        return Config(token=None, rules=[], rules_by_id={}, calendars={}, contracts={})
    cached = _cached.get("config")
    if cached is not None and cached.token == token:
        return cached
    config = load(token)
    with _lock:
        _cached["config"] = config
    return config


def load(token: str | None) -> Config:
    policies = list(
        Policy.objects.prefetch_related("organizations", "categories", "groups", "targets")
    )
    subtree = _category_subtrees({c.pk for p in policies for c in p.categories.all()})
    rules = [_rule(p, subtree) for p in policies]
    calendars = _calendars()
    contracts = {
        c.organization_id: ContractTerms(
            c.organization_id, c.policy_id, c.calendar_id, c.starts_on, c.ends_on
        )
        for c in Contract.objects.all()
    }
    return Config(
        token=token,
        rules=[r for r in sorted(rules, key=lambda r: (r.position, r.id)) if r.is_active],
        rules_by_id={r.id: r for r in rules},
        calendars=calendars,
        contracts=contracts,
    )


def _rule(policy: Policy, subtree: dict[int, set[int]]) -> Rule:
    pause = {"pending"} if policy.pause_when_pending else set()
    if policy.pause_when_on_hold:
        pause.add("on_hold")
    categories = set()
    for category in policy.categories.all():
        categories |= subtree.get(category.pk, {category.pk})
    return Rule(
        id=policy.pk,
        name=policy.name,
        position=policy.position,
        is_active=policy.is_active,
        calendar_id=policy.calendar_id,
        warning_percent=policy.warning_percent,
        pause_statuses=frozenset(pause),
        targets={
            t.priority: Targets(
                t.first_response_minutes, t.next_response_minutes, t.resolution_minutes
            )
            for t in policy.targets.all()
        },
        organizations=frozenset(o.pk for o in policy.organizations.all()),
        categories=frozenset(categories),
        groups=frozenset(g.pk for g in policy.groups.all()),
        priorities=frozenset(int(p) for p in policy.priorities or ()),
        channels=frozenset(policy.channels or ()),
        raise_priority=policy.raise_priority,
        escalate_to_next_tier=policy.escalate_to_next_tier,
        notify_user_id=policy.notify_user_id,
    )


def _category_subtrees(roots: set[int]) -> dict[int, set[int]]:
    """Each root category with all its descendants (a condition on Hardware covers
    Hardware > Printer)."""
    if not roots:
        return {}
    children: dict[int | None, list[int]] = {}
    for pk, parent in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    result = {}
    for root in roots:
        found, stack = set(), [root]
        while stack:
            node = stack.pop()
            if node not in found:
                found.add(node)
                stack.extend(children.get(node, ()))
        result[root] = found
    return result


def _calendars() -> dict[int, CalendarSpec]:
    specs = {
        c.pk: CalendarSpec(c.pk, c.name, c.time_zone, c.always_open, {}, [])
        for c in Calendar.objects.all()
    }
    for h in WorkingHours.objects.order_by("weekday", "start"):
        if h.calendar_id in specs:
            specs[h.calendar_id].hours.setdefault(h.weekday, []).append((h.start, h.end))
    days = CalendarDay.objects.values_list("calendar_id", "date", "kind", "name", "intervals")
    for calendar_id, day, kind, name, intervals in days:
        if calendar_id in specs:
            specs[calendar_id].days.append((day, kind, name, intervals))
    return specs


def bump() -> None:
    """Marks the configuration as changed (call inside the transaction of the change)."""
    revisions.bump(REVISION)


@receiver(post_save, sender=Category)
def _category_saved(sender, instance, created, **kwargs):
    """A new or moved category changes which tickets a category condition covers."""
    if current_token() is not None:
        bump()
