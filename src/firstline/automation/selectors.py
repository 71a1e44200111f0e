"""Reads for automation: rules, macros, routing and availability, scoped to the acting user
where a person asks; and the queries the engine and the periodic tasks run as the system."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from firstline.accounts.models import STAFF_ROLES, Group, User
from firstline.core.errors import NotFound
from firstline.tickets.lifecycle import ACTIVE_STATUSES
from firstline.tickets.models import Comment, Priority, Status, Ticket, TicketEvent

from . import placeholders
from .models import AgentAvailability, GroupRouting, Macro, Match, RoutingMethod, Rule, RuleRun

# Rules and macros as people see them.


def rules_for(user: User) -> QuerySet[Rule]:
    """Supervisors and administrators manage rules; nobody else sees them."""
    if not user.is_active or not user.sees_all_tickets:
        return Rule.objects.none()
    return Rule.objects.order_by("position", "pk")


def rules_with_activity(user: User) -> QuerySet[Rule]:
    """The rules list: how often each ran, when last, and whether it last failed."""
    last_error = Subquery(
        RuleRun.objects.filter(rule=OuterRef("pk")).order_by("-ran_at", "-pk").values("error")[:1]
    )
    return rules_for(user).annotate(
        run_count=Count("runs"), last_run_at=Max("runs__ran_at"), last_error=last_error
    )


def get_rule(user: User, rule_id: int) -> Rule:
    rule = rules_for(user).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Rule %(id)s not found.") % {"id": rule_id})
    return rule


def recent_runs(user: User, rule: Rule, limit: int = 20) -> list[RuleRun]:
    if not user.sees_all_tickets:
        return []
    return list(rule.runs.order_by("-ran_at", "-pk")[:limit])


def macros_for(user: User) -> QuerySet[Macro]:
    """The macros an agent can use on a ticket: the active ones."""
    if not user.is_active or not user.is_agent:
        return Macro.objects.none()
    return Macro.objects.filter(is_active=True).order_by("name")


def managed_macros(user: User) -> QuerySet[Macro]:
    if not user.is_active or not user.sees_all_tickets:
        return Macro.objects.none()
    return Macro.objects.order_by("name")


def get_macro(user: User, macro_id: int, *, to_manage: bool = False) -> Macro:
    macros = managed_macros(user) if to_manage else macros_for(user)
    macro = macros.filter(pk=macro_id).first()
    if macro is None:
        raise NotFound(_("Macro %(id)s not found.") % {"id": macro_id})
    return macro


def render_macro(user: User, ticket: Ticket, macro: Macro) -> str:
    """The macro's text for this ticket, written by `user`. The caller has checked that the
    user may see the ticket (tickets.selectors.get_ticket)."""
    return placeholders.render(macro.body, placeholders.values_for(ticket, agent=user))


# Routing and availability.


def availability(user: User) -> AgentAvailability | None:
    return AgentAvailability.objects.filter(user=user).first()


def is_away(user: User) -> bool:
    return AgentAvailability.objects.filter(user=user, is_away=True).exists()


def routing_of(user: User, group: Group) -> GroupRouting | None:
    if not user.sees_all_tickets:
        return None
    return GroupRouting.objects.filter(group=group).first()


def groups_with_routing(user: User) -> list[Group]:
    """Every group with its routing (`group.routing_method`, `group.routing_skills`)."""
    if not user.sees_all_tickets:
        return []
    groups = list(
        Group.objects.annotate(member_count=Count("members", distinct=True)).order_by(
            "tier", "name"
        )
    )
    routings = {r.group_id: r for r in GroupRouting.objects.select_related("last_assigned")}
    for group in groups:
        routing = routings.get(group.pk)
        group.routing_method = routing.method if routing else RoutingMethod.MANUAL
        group.routing_label = RoutingMethod(group.routing_method).label
        group.routing_skills = bool(routing and routing.use_skills)
        group.routing_last = routing.last_assigned if routing else None
    return groups


def agents_with_availability(user: User) -> list[User]:
    """Every active agent with `agent.away`, `agent.skill_categories`, `agent.skill_languages`."""
    if not user.sees_all_tickets:
        return []
    agents = list(
        User.objects.filter(is_active=True, role__in=sorted(STAFF_ROLES))
        .prefetch_related("support_groups")
        .order_by("username")
    )
    rows = {
        a.user_id: a
        for a in AgentAvailability.objects.filter(user__in=agents).prefetch_related("categories")
    }
    names = dict(settings.LANGUAGES)
    for agent in agents:
        row = rows.get(agent.pk)
        agent.away = bool(row and row.is_away)
        agent.skill_categories = list(row.categories.all()) if row else []
        agent.skill_languages = [names.get(code, code) for code in (row.languages if row else [])]
    return agents


def get_agent(user: User, username: str) -> User:
    agent = None
    if user.sees_all_tickets:
        agent = User.objects.filter(
            username=username, is_active=True, role__in=sorted(STAFF_ROLES)
        ).first()
    if agent is None:
        raise NotFound(_("No agent '%(username)s'.") % {"username": username})
    return agent


def routed_group_ids() -> set[int]:
    """The groups whose new tickets are assigned automatically."""
    return set(
        GroupRouting.objects.exclude(method=RoutingMethod.MANUAL).values_list("group_id", flat=True)
    )


def ticket_language(ticket: Ticket) -> str:
    return (ticket.requester.language or settings.LANGUAGE_CODE).lower()


def _fits(row: AgentAvailability | None, ticket: Ticket) -> bool:
    if row is None:
        return True
    languages = [code.lower() for code in row.languages]
    if languages and ticket_language(ticket) not in languages:
        return False
    categories = list(row.categories.all())
    if not categories or ticket.category is None:
        return True
    full = ticket.category.full_name
    return any(full == c.full_name or full.startswith(c.full_name + " > ") for c in categories)


def routing_candidates(routing: GroupRouting, ticket: Ticket) -> list[User]:
    """The group's active staff members who are not away (and, with skills, fit the ticket),
    in a stable order."""
    members = (
        routing.group.members.filter(is_active=True, role__in=sorted(STAFF_ROLES))
        .exclude(availability__is_away=True)
        .order_by("pk")
    )
    members = list(members)
    if not routing.use_skills or not members:
        return members
    rows = {
        a.user_id: a
        for a in AgentAvailability.objects.filter(user__in=members).prefetch_related("categories")
    }
    return [m for m in members if _fits(rows.get(m.pk), ticket)]


def open_ticket_counts(user_ids: list[int]) -> dict[int, int]:
    """How many unresolved tickets each of these agents has."""
    return dict(
        Ticket.objects.filter(assignee_id__in=user_ids, status__in=ACTIVE_STATUSES)
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )


# What the engine and the periodic tasks read.


def active_rules(trigger: str) -> list[Rule]:
    return list(Rule.objects.filter(trigger=trigger, is_active=True).order_by("position", "pk"))


def _last_status_change():
    return (
        TicketEvent.objects.filter(ticket=OuterRef("pk"), field="status")
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )


def status_since(ticket: Ticket) -> datetime:
    """When the ticket entered its current status (its creation, if it never changed)."""
    last = (
        TicketEvent.objects.filter(ticket=ticket, field="status")
        .order_by("-created_at", "-pk")
        .values_list("created_at", flat=True)
        .first()
    )
    return last or ticket.created_at


def rule_ran_since(rule: Rule, ticket: Ticket, since: datetime) -> bool:
    return RuleRun.objects.filter(rule=rule, ticket=ticket, ran_at__gte=since).exists()


def _prefilter(rule: Rule, now: datetime) -> Q:
    """The part of a time-based rule's conditions the database can check, to look at few
    tickets; the engine checks every condition again."""
    if rule.match != Match.ALL:
        return Q()
    query = Q()
    columns = {
        "days_in_status": "status_since",
        "days_since_update": "updated_at",
        "days_since_created": "created_at",
    }
    for c in rule.conditions:
        name, op, value = c.get("field"), c.get("op"), c.get("value")
        if name in columns and op in ("at_least", "less_than"):
            moment = now - timedelta(days=float(value))
            column = columns[name]
            query &= (
                Q(**{f"{column}__lte": moment})
                if op == "at_least"
                else Q(**{f"{column}__gt": moment})
            )
        elif name == "status" and op in ("is", "is_not"):
            query &= Q(status=value) if op == "is" else ~Q(status=value)
        elif name == "priority" and op == "is" and value in [p.key for p in Priority]:
            query &= Q(priority=Priority.from_key(value))
        elif name == "group" and op == "is":
            query &= Q(group_id=value)
    return query


def time_rule_candidates(rule: Rule, now: datetime, *, limit: int = 500) -> list[int]:
    """Open tickets the time-based rule may act on: not closed, and not acted on by this rule
    since they entered their current status (it acts once per stay in a status)."""
    already = RuleRun.objects.filter(
        rule=rule, ticket=OuterRef("pk"), ran_at__gte=OuterRef("status_since")
    )
    tickets = (
        Ticket.objects.exclude(status=Status.CLOSED)
        .annotate(status_since=Coalesce(Subquery(_last_status_change()), F("created_at")))
        .filter(_prefilter(rule, now))
        .exclude(Exists(already))
        .order_by("pk")
    )
    return list(tickets.values_list("pk", flat=True)[:limit])


def _auto_close_queryset(days: int, now: datetime) -> QuerySet[Ticket]:
    cutoff = now - timedelta(days=days)
    replied = Comment.objects.filter(ticket=OuterRef("pk"), is_public=True, created_at__gt=cutoff)
    resolved_long_ago = Q(resolved_at__lte=cutoff) | Q(
        resolved_at__isnull=True, updated_at__lte=cutoff
    )
    return Ticket.objects.filter(resolved_long_ago, status=Status.RESOLVED).exclude(Exists(replied))


def auto_close_due(days: int, now: datetime, *, limit: int = 500) -> list[int]:
    """Resolved tickets with neither a resolution nor a public reply in the last `days`."""
    tickets = _auto_close_queryset(days, now).order_by("pk")
    return list(tickets.values_list("pk", flat=True)[:limit])


def auto_close_is_due(ticket_id: int, days: int, now: datetime) -> bool:
    return _auto_close_queryset(days, now).filter(pk=ticket_id).exists()
