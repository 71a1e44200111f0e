"""Every write of automation: rules, macros, routing settings and availability, automatic
assignment and auto-close. Keyword-only functions, one transaction each."""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from firstline.accounts.models import Group, User
from firstline.core import clock, revisions
from firstline.core.errors import Conflict, InvalidInput, NotAllowed, ServiceError
from firstline.tickets import services as ticket_services
from firstline.tickets.lifecycle import ACTIVE_STATUSES
from firstline.tickets.models import Category, Channel, Comment, Status, Ticket

from . import history, placeholders, schema, selectors
from .models import AgentAvailability, GroupRouting, Macro, Match, RoutingMethod, Rule, Trigger

log = logging.getLogger(__name__)

TIME_FIELDS = ("days_in_status", "days_since_update", "days_since_created")


def _require_manager(actor: User | None) -> None:
    if actor is not None and not actor.sees_all_tickets:
        raise NotAllowed(_("Only supervisors and administrators can change automation."))


def _name(value: str, *, max_length: int = 200) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput.for_field("name", _("The name cannot be empty."))
    if len(value) > max_length:
        message = _("The name is longer than %(max)s characters.") % {"max": max_length}
        raise InvalidInput.for_field("name", message)
    return value


# Routing and availability.


@transaction.atomic
def update_routing(
    *, actor: User | None, group: Group, method: str, use_skills: bool = False
) -> GroupRouting:
    _require_manager(actor)
    if method not in RoutingMethod.values:
        message = _("Unknown assignment method '%(method)s'.") % {"method": method}
        raise InvalidInput.for_field("method", message)
    routing, _created = GroupRouting.objects.select_for_update().get_or_create(group=group)
    routing.method, routing.use_skills, routing.updated_at = method, use_skills, clock.now()
    routing.save(update_fields=["method", "use_skills", "updated_at"])
    return routing


def _check_agent(user: User) -> None:
    if not user.is_agent:
        raise InvalidInput.for_field("user", _("Only agents have an availability."))


@transaction.atomic
def set_away(*, actor: User | None, user: User, away: bool) -> AgentAvailability:
    """An agent marks themself away (or back); supervisors may do it for anyone."""
    if actor is not None and actor.pk != user.pk:
        _require_manager(actor)
    _check_agent(user)
    row, _created = AgentAvailability.objects.select_for_update().get_or_create(user=user)
    if row.is_away != away:
        row.is_away, row.away_since = away, clock.now() if away else None
        row.updated_at = clock.now()
        row.save(update_fields=["is_away", "away_since", "updated_at"])
    return row


@transaction.atomic
def update_skills(
    *,
    actor: User | None,
    user: User,
    categories: Iterable[Category],
    languages: Iterable[str],
    is_away: bool | None = None,
) -> AgentAvailability:
    _require_manager(actor)
    _check_agent(user)
    known = {code.lower() for code, _name in settings.LANGUAGES}
    codes = sorted({code.lower() for code in languages})
    unknown = [code for code in codes if code not in known]
    if unknown:
        message = _("Unknown language '%(code)s'.") % {"code": unknown[0]}
        raise InvalidInput.for_field("languages", message)
    row, _created = AgentAvailability.objects.select_for_update().get_or_create(user=user)
    row.languages, row.updated_at = codes, clock.now()
    fields = ["languages", "updated_at"]
    if is_away is not None and is_away != row.is_away:
        row.is_away, row.away_since = is_away, clock.now() if is_away else None
        fields += ["is_away", "away_since"]
    row.save(update_fields=fields)
    row.categories.set(list(categories))
    return row


@transaction.atomic
def route_ticket(*, ticket: Ticket) -> User | None:
    """Assigns a ticket that is in a group without an assignee, by the group's method;
    the agent chosen, or None (manual routing, nobody available)."""
    ticket = (
        Ticket.objects.select_related("group", "requester", "category").filter(pk=ticket.pk).first()
    )
    if ticket is None or ticket.assignee_id or ticket.group_id is None:
        return None
    if ticket.status not in ACTIVE_STATUSES:
        return None
    routing = (
        GroupRouting.objects.select_for_update()
        .select_related("group")
        .filter(group_id=ticket.group_id)
        .first()
    )
    if routing is None or routing.method == RoutingMethod.MANUAL:
        return None
    candidates = selectors.routing_candidates(routing, ticket)
    if not candidates:
        log.info("Nobody available to take ticket #%s in %s", ticket.pk, routing.group.slug)
        return None
    if routing.method == RoutingMethod.ROUND_ROBIN:
        last = routing.last_assigned_id
        after = [c for c in candidates if last is not None and c.pk > last]
        chosen = after[0] if after else candidates[0]
    else:
        loads = selectors.open_ticket_counts([c.pk for c in candidates])
        chosen = min(candidates, key=lambda c: (loads.get(c.pk, 0), c.pk))
    routing.last_assigned = chosen
    routing.save(update_fields=["last_assigned"])
    ticket_services.update_ticket(
        actor=None,
        ticket=ticket,
        channel=Channel.WEB,
        assignee=chosen,
        via=history.for_routing(routing.method),
    )
    return chosen


# Rules.


def _check_rule(trigger: str, match: str, conditions, actions) -> tuple[list, list]:
    if trigger not in Trigger.values:
        message = _("Unknown trigger '%(trigger)s'.") % {"trigger": trigger}
        raise InvalidInput.for_field("trigger", message)
    if match not in Match.values:
        raise InvalidInput.for_field("match", _("Choose all or any of the conditions."))
    conditions = schema.validate_conditions(conditions)
    actions = schema.validate_actions(actions)
    fields = {c["field"] for c in conditions}
    if trigger != Trigger.UPDATED and "changed" in fields:
        message = _("“Changed field” only applies to rules on ticket updates.")
        raise InvalidInput.for_field("conditions", message)
    if trigger == Trigger.TIME:
        timed = [c for c in conditions if c["field"] in TIME_FIELDS and c["op"] == "at_least"]
        if not timed or match != Match.ALL:
            message = _(
                "A time-based rule needs all of its conditions and one of them on days "
                "(for example: days in the current status at least 5)."
            )
            raise InvalidInput.for_field("conditions", message)
    return conditions, actions


@transaction.atomic
def create_rule(
    *,
    actor: User | None,
    name: str,
    trigger: str,
    conditions: list,
    actions: list,
    match: str = Match.ALL,
    is_active: bool = True,
) -> Rule:
    _require_manager(actor)
    name = _name(name)
    conditions, actions = _check_rule(trigger, match, conditions, actions)
    last = Rule.objects.select_for_update().aggregate(last=Max("position"))["last"]
    now = clock.now()
    return Rule.objects.create(
        name=name,
        trigger=trigger,
        match=match,
        conditions=conditions,
        actions=actions,
        is_active=is_active,
        position=(last or 0) + 1,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )


@transaction.atomic
def update_rule(
    *,
    actor: User | None,
    rule: Rule,
    name: str,
    trigger: str,
    conditions: list,
    actions: list,
    match: str = Match.ALL,
    is_active: bool = True,
) -> Rule:
    _require_manager(actor)
    name = _name(name)
    conditions, actions = _check_rule(trigger, match, conditions, actions)
    rule.name, rule.trigger, rule.match = name, trigger, match
    rule.conditions, rule.actions, rule.is_active = conditions, actions, is_active
    rule.updated_at = clock.now()
    rule.save(
        update_fields=[
            "name",
            "trigger",
            "match",
            "conditions",
            "actions",
            "is_active",
            "updated_at",
        ]
    )
    return rule


@transaction.atomic
def set_rule_active(*, actor: User | None, rule: Rule, active: bool) -> Rule:
    _require_manager(actor)
    rule.is_active, rule.updated_at = active, clock.now()
    rule.save(update_fields=["is_active", "updated_at"])
    return rule


@transaction.atomic
def move_rule(*, actor: User | None, rule: Rule, up: bool) -> None:
    """Swaps the rule with the one before (or after) it; positions are renumbered 1, 2, 3…"""
    _require_manager(actor)
    rules = list(Rule.objects.select_for_update().order_by("position", "pk"))
    index = next((i for i, r in enumerate(rules) if r.pk == rule.pk), None)
    if index is None:
        return
    other = index - 1 if up else index + 1
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
    changed = []
    for position, item in enumerate(rules, start=1):
        if item.position != position:
            item.position = position
            changed.append(item)
    Rule.objects.bulk_update(changed, ["position"])
    revisions.bump(revisions.CONFIGURATION)  # a bulk update sends no signal


@transaction.atomic
def delete_rule(*, actor: User | None, rule: Rule) -> None:
    _require_manager(actor)
    rule.delete()


# Macros.


def _check_macro(name: str, body: str, changes) -> tuple[str, str, dict]:
    name = _name(name)
    body = (body or "").strip()
    if not body:
        raise InvalidInput.for_field("body", _("The text cannot be empty."))
    if len(body) > schema.MAX_TEXT:
        message = _("The text is longer than %(max)s characters.") % {"max": schema.MAX_TEXT}
        raise InvalidInput.for_field("body", message)
    unknown = placeholders.unknown(body)
    if unknown:
        message = _("Unknown placeholder %(name)s.") % {"name": ", ".join(unknown)}
        raise InvalidInput.for_field("body", message)
    return name, body, schema.validate_macro_changes(changes or {})


def _check_macro_name(name: str, exclude: int | None = None) -> None:
    if Macro.objects.filter(name__iexact=name).exclude(pk=exclude).exists():
        message = _("A macro named '%(name)s' already exists.") % {"name": name}
        raise Conflict.for_field("name", message)


@transaction.atomic
def create_macro(
    *, actor: User | None, name: str, body: str, changes: dict | None = None, is_active=True
) -> Macro:
    _require_manager(actor)
    name, body, changes = _check_macro(name, body, changes)
    _check_macro_name(name)
    now = clock.now()
    return Macro.objects.create(
        name=name,
        body=body,
        changes=changes,
        is_active=is_active,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )


@transaction.atomic
def update_macro(
    *,
    actor: User | None,
    macro: Macro,
    name: str,
    body: str,
    changes: dict | None = None,
    is_active: bool = True,
) -> Macro:
    _require_manager(actor)
    name, body, changes = _check_macro(name, body, changes)
    _check_macro_name(name, exclude=macro.pk)
    macro.name, macro.body, macro.changes, macro.is_active = name, body, changes, is_active
    macro.updated_at = clock.now()
    macro.save(update_fields=["name", "body", "changes", "is_active", "updated_at"])
    return macro


@transaction.atomic
def delete_macro(*, actor: User | None, macro: Macro) -> None:
    _require_manager(actor)
    macro.delete()


def _apply_macro(actor: User, ticket: Ticket, macro: Macro, channel: str) -> Ticket:
    changes: dict = {}
    wanted = macro.changes or {}
    if wanted.get("status"):
        changes["status"] = wanted["status"]
    if wanted.get("priority"):
        changes["priority"] = wanted["priority"]
    if wanted.get("add_tags"):
        current = set(ticket.tags.values_list("name", flat=True))
        if not set(wanted["add_tags"]) <= current:
            changes["tags"] = sorted(current | set(wanted["add_tags"]))
    if wanted.get("assign_to_me"):
        changes["assignee"] = actor
    if not changes:
        return ticket
    return ticket_services.update_ticket(
        actor=actor, ticket=ticket, channel=channel, via=history.for_macro(macro), **changes
    )


@transaction.atomic
def reply_with_macros(
    *,
    actor: User,
    ticket: Ticket,
    body: str,
    channel: str,
    macros: Iterable[Macro],
    public: bool = True,
    uploads: Iterable[ticket_services.Upload] = (),
) -> Comment:
    """The agent's reply, then the field changes of the macros they chose, all or nothing:
    when a change is refused nothing is sent, and the form keeps what they typed."""
    ticket_services.require_agent(actor)
    comment = ticket_services.post_reply(
        actor=actor, ticket=ticket, body=body, channel=channel, public=public, uploads=uploads
    )
    for macro in macros:
        if not macro.is_active:
            raise InvalidInput.for_field(
                "macros", _("The macro “%(name)s” is no longer active.") % {"name": macro.name}
            )
        ticket = _apply_macro(actor, ticket, macro, channel)
    return comment


# Auto-close.


def auto_close_days() -> int:
    return max(int(getattr(settings, "AUTO_CLOSE_DAYS", 7) or 0), 0)


@transaction.atomic
def _auto_close_one(ticket_id: int, days: int, now: datetime) -> bool:
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None or not selectors.auto_close_is_due(ticket_id, days, now):
        return False
    ticket_services.update_ticket(
        actor=None, ticket=ticket, channel=Channel.WEB, status=Status.CLOSED, via=history.AUTO_CLOSE
    )
    return True


def auto_close_resolved(*, now: datetime | None = None) -> list[int]:
    """Closes resolved tickets without a reply for AUTO_CLOSE_DAYS days (0: never); each in
    its own transaction. The numbers of the tickets closed."""
    days = auto_close_days()
    if days == 0:
        return []
    now = now or clock.now()
    closed = []
    for ticket_id in selectors.auto_close_due(days, now):
        try:
            if _auto_close_one(ticket_id, days, now):
                closed.append(ticket_id)
        except ServiceError as error:  # changed meanwhile (reopened, closed by someone)
            log.info("Auto-close of ticket #%s refused: %s", ticket_id, error.message)
    return closed
