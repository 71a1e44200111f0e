"""Reads for the agent workspace: queues, their counts, and what a ticket page shows."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from firstline.accounts.models import STAFF_ROLES, Group, User
from firstline.accounts.selectors import users_for
from firstline.core.errors import NotFound
from firstline.tickets import selectors as ticket_selectors
from firstline.tickets.lifecycle import ACTIVE_STATUSES
from firstline.tickets.models import Ticket

from .models import SavedFilter


@dataclass(frozen=True)
class Queue:
    key: str  # "mine", "unassigned", "all" or "group-<slug>"
    group: Group | None = None


def user_groups(user: User) -> list[Group]:
    if user.sees_all_tickets:
        return list(Group.objects.filter(is_active=True).order_by("tier", "name"))
    return list(user.support_groups.filter(is_active=True).order_by("tier", "name"))


def resolve_queue(user: User, key: str) -> Queue:
    if key in ("mine", "unassigned") or (key == "all" and user.sees_all_tickets):
        return Queue(key)
    if key.startswith("group-"):
        for group in user_groups(user):
            if group.slug == key.removeprefix("group-"):
                return Queue(key, group)
    raise NotFound(_("No such queue."))


def queue_tickets(user: User, queue: Queue, filters) -> QuerySet[Ticket]:
    tickets = ticket_selectors.list_tickets(user, filters)
    if queue.key == "mine":
        return tickets.filter(assignee=user)
    if queue.key == "unassigned":
        mine = [g.pk for g in user_groups(user)]
        return tickets.filter(assignee__isnull=True, group__in=mine)
    if queue.group is not None:
        return tickets.filter(group=queue.group)
    return tickets


def queue_counts(user: User, groups: list[Group]) -> dict[str, int]:
    """Open work per queue for the sidebar, in two queries whatever the number of groups."""
    active = ticket_selectors.visible_tickets(user).filter(status__in=ACTIVE_STATUSES)
    totals = active.aggregate(
        mine=Count("pk", filter=Q(assignee=user)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True, group__in=[g.pk for g in groups])),
        all=Count("pk"),
    )
    per_group = dict(
        active.filter(group__in=[g.pk for g in groups])
        .values_list("group")
        .annotate(n=Count("pk"))
        .values_list("group", "n")
    )
    totals.update({f"group-{g.slug}": per_group.get(g.pk, 0) for g in groups})
    return totals


def saved_filters(user: User) -> QuerySet[SavedFilter]:
    return SavedFilter.objects.filter(user=user)


def all_agents() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=sorted(STAFF_ROLES)).order_by(
        "first_name", "username"
    )


def assignable_agents(group: Group | None) -> QuerySet[User]:
    """Who may take a ticket of this group: its members, and supervisors and admins."""
    agents = User.objects.filter(is_active=True, role__in=["supervisor", "admin"])
    if group is not None:
        agents = agents | User.objects.filter(is_active=True, support_groups=group)
    return agents.distinct().order_by("first_name", "username")


def requester_recent_tickets(user: User, ticket: Ticket, limit: int = 5) -> list[Ticket]:
    return list(
        ticket_selectors.visible_tickets(user)
        .filter(requester_id=ticket.requester_id)
        .exclude(pk=ticket.pk)
        .only("pk", "subject", "status", "created_at")
        .order_by("-pk")[:limit]
    )


def find_person(user: User, username_or_email: str) -> User | None:
    value = username_or_email.strip()
    people = users_for(user).filter(is_active=True)
    if "@" in value:
        return people.filter(email__iexact=value).first()
    return people.filter(username__iexact=value).first()
