"""The rule engine: which rules a ticket event starts, whether their conditions hold, and
their actions, carried out through the ticket services as the system (`actor=None`) with the
rule named in the history.

When rules run. Ticket signals are sent in the middle of a change's transaction; rules run
once it has committed (`transaction.on_commit`; at once outside a transaction), so that they
see the whole change, never act on one that is rolled back, and a failing rule cannot undo a
person's change. Every event of one transaction is handled together (a reply with three files
is one update), and the caller's ticket object is refreshed when rules changed the ticket, so
that an API answer or a redirect shows the ticket as it now is.

Loops. While a rule's actions run, the events they cause are collected instead of scheduled
(a context variable holds the current run: its depth and what it caused); they then start the
rules of the next level. A rule never runs twice on the same ticket for one top-level event,
and no rule runs deeper than MAX_DEPTH levels below the person's (or task's) change.
"""

import contextvars
import copy
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from firstline.accounts.models import Group, User
from firstline.channels import outbound
from firstline.core import clock, revisions
from firstline.core.errors import ServiceError
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Category, Channel, Priority, Status, Ticket

from . import history, placeholders, selectors
from .models import Match, Rule, RuleRun, Trigger

log = logging.getLogger(__name__)

MAX_DEPTH = 3
# Automation acts through the web application; the history's note names the rule.
CHANNEL = Channel.WEB
EMAIL_KIND = "automation"


@dataclass
class Event:
    """Something happened to a ticket: created, updated (with the columns that changed),
    an SLA warning or breach, or a time check."""

    ticket_id: int
    trigger: str
    fields: frozenset[str] = frozenset()
    instance: Ticket | None = field(default=None, compare=False, repr=False)


@dataclass
class _Run:
    """The level of rules being run, and the events their actions caused."""

    depth: int
    caused: list[Event] = field(default_factory=list)


_current: contextvars.ContextVar[_Run | None] = contextvars.ContextVar(
    "firstline_automation_run", default=None
)


def current_depth() -> int:
    """0 outside rule execution; 1 while rules started by a person's change run, and so on."""
    run = _current.get()
    return run.depth if run is not None else 0


# Scheduling: one batch of events per transaction, handled when it commits.

_BATCH_ATTRIBUTE = "firstline_automation_batch"


class _Batch:
    def __init__(self, event: Event):
        self.events = [event]
        self.done = False
        self.callback = self.run  # one object, to find it among the commit hooks

    def waiting(self, connection) -> bool:
        """Still to run with the current transaction (not rolled back, not run yet)."""
        return not self.done and any(hook[1] is self.callback for hook in connection.run_on_commit)

    def run(self) -> None:
        self.done = True
        process(self.events)


def notify(event: Event) -> None:
    """Called by the signal receivers for every ticket event."""
    run = _current.get()
    if run is not None:  # caused by a rule (or routing): the next level handles it
        run.caused.append(event)
        return
    connection = transaction.get_connection()
    batch = getattr(connection, _BATCH_ATTRIBUTE, None)
    if batch is not None and batch.waiting(connection):
        batch.events.append(event)
        return
    batch = _Batch(event)
    setattr(connection, _BATCH_ATTRIBUTE, batch)
    # Robust: the change has committed; an error here is logged, never shown as a failure.
    transaction.on_commit(batch.callback, robust=True)


def _coalesce(events: list[Event]) -> list[Event]:
    """One event per ticket and trigger, with the changed fields together; a ticket's
    updates in the transaction that created it are part of its creation."""
    created = {e.ticket_id for e in events if e.trigger == Trigger.CREATED}
    merged: dict[tuple[int, str], Event] = {}
    for event in events:
        if event.trigger == Trigger.UPDATED and event.ticket_id in created:
            continue
        key = (event.ticket_id, event.trigger)
        if key in merged:
            known = merged[key]
            merged[key] = Event(
                event.ticket_id,
                event.trigger,
                known.fields | event.fields,
                known.instance or event.instance,
            )
        else:
            merged[key] = event
    return list(merged.values())


class _Rules:
    """The active rules by trigger and the groups with automatic assignment for a top-level
    event, as this process keeps them while the configuration's revision holds."""

    def __init__(self):
        self._memo = revisions.memo(revisions.CONFIGURATION)
        self._by_trigger: dict[str, list[Rule]] = {}

    def for_trigger(self, trigger: str) -> list[Rule]:
        if trigger not in self._by_trigger:
            key = ("active_rules", trigger)
            if key not in self._memo:
                self._memo[key] = selectors.active_rules(trigger)
            # Copies: the rules this process keeps are shared by its threads.
            self._by_trigger[trigger] = copy.deepcopy(self._memo[key])
        return self._by_trigger[trigger]

    def routed_groups(self) -> frozenset[int]:
        if "routed_group_ids" not in self._memo:
            self._memo["routed_group_ids"] = frozenset(selectors.routed_group_ids())
        return self._memo["routed_group_ids"]


def process(events: list[Event]) -> None:
    """Runs the rules for a top-level event (a person's or a task's change) and, level by
    level, for what those rules change."""
    ran: set[tuple[int, int]] = set()
    rules = _Rules()
    queue = deque((event, 1) for event in _coalesce(events))
    changed: set[int] = set()
    while queue:
        event, depth = queue.popleft()
        if depth > MAX_DEPTH:
            log.warning(
                "Automation stopped on ticket #%s: rules changed it %s levels deep.",
                event.ticket_id,
                MAX_DEPTH,
            )
            continue
        caused = _handle(event, depth, ran, rules)
        changed |= {e.ticket_id for e in caused}
        queue.extend((e, depth + 1) for e in _coalesce(caused))
    refreshed: set[int] = set()
    for event in events:
        instance = event.instance
        if instance is not None and event.ticket_id in changed and id(instance) not in refreshed:
            refreshed.add(id(instance))
            instance.refresh_from_db()


def _load(ticket_id: int) -> Ticket | None:
    return (
        Ticket.objects.select_related("requester", "organization", "group", "assignee", "category")
        .prefetch_related("tags")
        .filter(pk=ticket_id)
        .first()
    )


def _handle(event: Event, depth: int, ran: set[tuple[int, int]], rules: _Rules) -> list[Event]:
    candidates = rules.for_trigger(event.trigger)
    may_route = (event.trigger == Trigger.CREATED or "group" in event.fields) and bool(
        rules.routed_groups()
    )
    if not candidates and not may_route:
        return []
    ticket = _load(event.ticket_id)
    if ticket is None:
        return []
    run = _Run(depth)
    token = _current.set(run)
    try:
        facts = Facts(ticket, event)
        for rule in candidates:
            if (rule.pk, ticket.pk) in ran:
                continue
            if event.trigger == Trigger.TIME and selectors.rule_ran_since(
                rule, ticket, facts.status_since
            ):
                continue
            if not matches(rule, facts):
                continue
            ran.add((rule.pk, ticket.pk))
            before = len(run.caused)
            error = _run_rule(rule, ticket)
            if error:
                del run.caused[before:]  # rolled back: it changed nothing
            RuleRun.objects.create(
                rule=rule, ticket=ticket, trigger=event.trigger, depth=depth, error=error[:2000]
            )
            if len(run.caused) > before:
                ticket = _load(ticket.pk)
                if ticket is None:
                    break
                facts = Facts(ticket, event)
        if ticket is not None and may_route and ticket.group_id in rules.routed_groups():
            _route(ticket)
    finally:
        _current.reset(token)
    return run.caused


def _run_rule(rule: Rule, ticket: Ticket) -> str:
    """Carries out the rule's actions, all or nothing; the error, or "" when it worked."""
    try:
        with transaction.atomic():
            execute(rule, ticket)
    except ServiceError as error:
        log.info("Rule %s on ticket #%s refused: %s", rule.pk, ticket.pk, error.message)
        return error.message
    except Exception as error:  # a broken rule must not break the change that started it
        log.exception("Rule %s on ticket #%s failed", rule.pk, ticket.pk)
        return f"{type(error).__name__}: {error}"
    return ""


def _route(ticket: Ticket) -> None:
    from . import services

    try:
        services.route_ticket(ticket=ticket)
    except ServiceError as error:
        log.info("Automatic assignment of ticket #%s refused: %s", ticket.pk, error.message)
    except Exception:
        log.exception("Automatic assignment of ticket #%s failed", ticket.pk)


# Conditions.


class Facts:
    """What conditions look at, read at most once per ticket state."""

    def __init__(self, ticket: Ticket, event: Event):
        self.ticket, self.event = ticket, event
        self.now = clock.now()
        self._status_since: datetime | None = None
        self._categories: dict[int, Category | None] = {}

    @property
    def status_since(self) -> datetime:
        if self._status_since is None:
            self._status_since = selectors.status_since(self.ticket)
        return self._status_since

    @property
    def tags(self) -> set[str]:
        return {t.name for t in self.ticket.tags.all()}

    def category(self, pk: int) -> Category | None:
        if pk not in self._categories:
            self._categories[pk] = Category.objects.filter(pk=pk).first()
        return self._categories[pk]

    def days_since(self, moment: datetime) -> float:
        return (self.now - moment).total_seconds() / 86400


def matches(rule: Rule, facts: Facts) -> bool:
    if not rule.conditions:
        return True
    results = (holds(condition, facts) for condition in rule.conditions)
    return any(results) if rule.match == Match.ANY else all(results)


def _compare(op: str, actual, expected) -> bool:
    if op == "is":
        return actual == expected
    if op == "is_not":
        return actual != expected
    if op == "is_set":
        return actual is not None
    if op == "is_not_set":
        return actual is None
    if op == "at_least":
        return actual >= expected
    if op == "at_most":
        return actual <= expected
    if op == "less_than":
        return actual < expected
    return False


def holds(condition: dict, facts: Facts) -> bool:
    """Whether one condition is true of the ticket; an unknown one is never true."""
    t = facts.ticket
    name, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    if name == "status":
        return _compare(op, t.status, value)
    if name == "priority":
        try:
            return _compare(op, t.priority, int(Priority.from_key(value)))
        except (KeyError, AttributeError):
            return False
    if name in ("group", "organization", "assignee", "category") and op != "under":
        return _compare(op, getattr(t, f"{name}_id"), value)
    if name == "category":  # under: the category or one below it
        wanted = facts.category(value)
        if wanted is None or t.category is None:
            return False
        full = t.category.full_name
        return full == wanted.full_name or full.startswith(wanted.full_name + " > ")
    if name == "channel":
        return _compare(op, t.channel, value)
    if name == "tags":
        found = str(value).strip().lower() in facts.tags
        return found if op == "includes" else not found
    if name in ("subject", "description", "text"):
        haystack = {
            "subject": t.subject,
            "description": t.description,
            "text": f"{t.subject}\n{t.description}",
        }[name]
        found = str(value).casefold() in haystack.casefold()
        return found if op == "contains" else not found
    if name == "changed":
        found = value in facts.event.fields
        return found if op == "includes" else not found
    if name in ("days_in_status", "days_since_update", "days_since_created"):
        moment = {
            "days_in_status": lambda: facts.status_since,
            "days_since_update": lambda: t.updated_at,
            "days_since_created": lambda: t.created_at,
        }[name]()
        return _compare(op, facts.days_since(moment), float(value))
    return False


# Actions.


def _tag_names(ticket: Ticket) -> list[str]:
    return sorted(ticket.tags.values_list("name", flat=True))


def _signature(rule: Rule) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _("Automatic note by the rule “%(name)s”.") % {"name": rule.name}


def _default_reason(rule: Rule) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _("Moved by the rule “%(name)s”.") % {"name": rule.name}


# What a rule may still do to a closed ticket, which can no longer change.
CLOSED_TICKET_ACTIONS = frozenset({"add_note", "send_email"})


def execute(rule: Rule, ticket: Ticket) -> None:
    """Carries out the rule's actions in order; each skips what is already so (and, on a
    closed ticket, what would change it)."""
    via = history.for_rule(rule)

    def update(current: Ticket, **changes) -> Ticket:
        return ticket_services.update_ticket(
            actor=None, ticket=current, channel=CHANNEL, via=via, **changes
        )

    for action in rule.actions:
        kind, value = action.get("type"), action.get("value")
        if ticket.status == Status.CLOSED and kind not in CLOSED_TICKET_ACTIONS:
            continue
        if kind == "set_status" and ticket.status != value:
            ticket = update(ticket, status=value)
        elif kind == "set_priority" and Priority(ticket.priority).key != value:
            ticket = update(ticket, priority=value)
        elif kind == "set_category" and ticket.category_id != value:
            ticket = update(ticket, category=Category.objects.get(pk=value))
        elif kind == "assign" and ticket.assignee_id != value:
            ticket = update(ticket, assignee=User.objects.get(pk=value))
        elif kind == "unassign" and ticket.assignee_id is not None:
            ticket = update(ticket, assignee=None)
        elif kind == "move_group" and ticket.group_id != value:
            ticket = _move(rule, ticket, Group.objects.get(pk=value), action.get("text"), via)
        elif kind == "add_tag" and value not in (names := _tag_names(ticket)):
            ticket = update(ticket, tags=[*names, value])
        elif kind == "remove_tag" and value in (names := _tag_names(ticket)):
            ticket = update(ticket, tags=[n for n in names if n != value])
        elif kind == "add_note":
            text = placeholders.render(action["text"], placeholders.values_for(ticket))
            ticket_services.add_system_note(
                ticket=ticket, body=f"{text}\n\n— {_signature(rule)}", channel=CHANNEL
            )
        elif kind == "send_email":
            _send_email(ticket, action)
        elif kind == "close" and ticket.status != Status.CLOSED:
            if ticket.status != Status.RESOLVED:
                ticket = update(ticket, status=Status.RESOLVED)
            ticket = update(ticket, status=Status.CLOSED)


def _move(rule: Rule, ticket: Ticket, group: Group, reason: str | None, via: str) -> Ticket:
    """Within a tier, a move; to another tier, an escalation (or de-escalation) with reason."""
    current = ticket.group
    if current is None or current.tier == group.tier:
        return ticket_services.update_ticket(
            actor=None, ticket=ticket, channel=CHANNEL, via=via, group=group
        )
    return ticket_services.escalate_ticket(
        actor=None,
        ticket=ticket,
        reason=(reason or "").strip() or _default_reason(rule),
        channel=CHANNEL,
        group=group,
        upwards=group.tier > current.tier,
        via=via,
    )


def _language(user: User | None) -> str:
    return (user.language if user is not None else "") or settings.LANGUAGE_CODE


def _send_email(ticket: Ticket, action: dict) -> None:
    ticket = _load(ticket.pk) or ticket
    if action["to"] == "requester":
        people = [ticket.requester]
    elif action["to"] == "assignee":
        people = [ticket.assignee] if ticket.assignee else []
    else:
        people = list(ticket.group.members.filter(is_active=True)) if ticket.group else []
    values = placeholders.values_for(ticket)
    subject = " ".join(placeholders.render(action["subject"], values).split())
    body = placeholders.render(action["text"], values)
    for person in people:
        if person.email:
            outbound.queue(
                kind=EMAIL_KIND,
                ticket=ticket,
                recipients=[person.email],
                language=_language(person),
                context={"subject": subject, "body": body},
            )


# Time-based rules: run by a periodic task.


def run_time_rules(limit: int = 500) -> int:
    """Runs the time-based rules on the tickets they may concern; each ticket is its own
    top-level event. Returns how many tickets were looked at."""
    now = clock.now()
    ticket_ids: list[int] = []
    for rule in selectors.active_rules(Trigger.TIME):
        for pk in selectors.time_rule_candidates(rule, now, limit=limit):
            if pk not in ticket_ids:
                ticket_ids.append(pk)
    for pk in ticket_ids:
        process([Event(pk, Trigger.TIME)])
    return len(ticket_ids)
