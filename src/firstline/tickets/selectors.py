"""Reads of tickets, always scoped to what the acting user may see.

This module is where tenant isolation lives: every view, API handler and export asks here.
"""

import functools
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.core.errors import NotFound
from firstline.search import selectors as search_selectors

from .models import Attachment, Category, Comment, Tag, Ticket, TicketEvent


def visible_tickets(user: User, tickets: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    """Supervisors see all; agents their groups' and their own; requesters theirs (managers:
    their organization's). `tickets` (default: all of them) narrowed to those."""
    tickets = Ticket.objects.all() if tickets is None else tickets
    if not user.is_authenticated or not user.is_active:
        return tickets.none()
    if user.sees_all_tickets:
        return tickets
    if user.is_agent:
        return tickets.filter(
            Q(group__in=user.support_groups.values("pk")) | Q(assignee=user) | Q(requester=user)
        )
    if user.is_org_manager and user.organization_id is not None:
        return tickets.filter(Q(organization_id=user.organization_id) | Q(requester=user))
    return tickets.filter(requester=user)


def member_group_ids(user: User) -> list[int]:
    """The groups an agent belongs to (active or not), read once per request."""
    ids = getattr(user, "_member_group_ids", None)
    if ids is None:
        ids = user._member_group_ids = list(user.support_groups.values_list("pk", flat=True))
    return ids


def visible_parts(user: User) -> list[QuerySet[Ticket]]:
    """visible_tickets(user) as disjoint parts that each read one index: an agent's groups,
    then what is assigned to or requested by them elsewhere. Counting a desk's open work this
    way reads the (group, assignee) index alone instead of every row of the agent's groups."""
    if not user.is_authenticated or not user.is_active or user.sees_all_tickets:
        return [visible_tickets(user)]
    if not user.is_agent:
        return [visible_tickets(user)]
    groups = member_group_ids(user)
    elsewhere = Ticket.objects.filter(Q(assignee=user) | Q(requester=user))
    return [Ticket.objects.filter(group_id__in=groups), elsewhere.exclude(group_id__in=groups)]


def tickets_in_groups(user: User, group_ids: list[int]) -> QuerySet[Ticket]:
    """The tickets of `group_ids` that `user` sees. An agent sees every ticket of their own
    groups, so for those this is a plain group filter, which the queue index serves."""
    if not user.is_authenticated or not user.is_active or not user.is_agent:
        return visible_tickets(user).filter(group_id__in=group_ids)
    if user.sees_all_tickets:
        return Ticket.objects.filter(group_id__in=group_ids)
    own = set(member_group_ids(user))
    if all(pk in own for pk in group_ids):
        return Ticket.objects.filter(group_id__in=group_ids)
    return visible_tickets(user).filter(group_id__in=group_ids)


def tickets_assigned_to(user: User) -> QuerySet[Ticket]:
    """What `user` works on: an agent sees every ticket assigned to them."""
    if user.is_authenticated and user.is_active and user.is_agent:
        return Ticket.objects.filter(assignee=user)
    return visible_tickets(user).filter(assignee=user)


def get_ticket(user: User, number: int) -> Ticket:
    """The ticket if `user` may see it; a ticket they may not see does not exist for them."""
    ticket = (
        visible_tickets(user)
        .select_related("requester", "organization", "group", "assignee", "category", "merged_into")
        .prefetch_related("tags", "links")
        .filter(pk=number)
        .first()
    )
    if ticket is None:
        raise NotFound(_("Ticket #%(number)s not found.") % {"number": number})
    return ticket


@dataclass(frozen=True)
class TicketFilters:
    status: list[str] | None = None
    priority: list[int] | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    organization_id: int | None = None
    requester_id: int | None = None
    category_id: int | None = None
    tag: str | None = None
    channel: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    q: str | None = None


def list_tickets(user: User, filters: TicketFilters, *, before_number: int | None = None):
    """Newest first; `before_number` is the keyset cursor, which stays fast on deep pages."""
    return filter_tickets(user, visible_tickets(user), filters, before_number=before_number)


def filter_tickets(
    user: User,
    tickets: QuerySet[Ticket],
    filters: TicketFilters,
    *,
    before_number: int | None = None,
) -> QuerySet[Ticket]:
    """`filters` applied to `tickets`, which one of the scoping selectors above gave."""
    return (
        _filtered(user, tickets, filters, before_number=before_number)
        .select_related("requester", "organization", "group", "assignee", "category")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("name")))
        .order_by("-pk")
    )


def list_ticket_values(
    user: User,
    filters: TicketFilters,
    fields: tuple[str, ...],
    *,
    limit: int,
    before_number: int | None = None,
) -> list[dict]:
    """The first `limit` tickets of list_tickets() as dicts of `fields` (lookups such as
    "requester__username"), read in one query: a page that shows a few columns of each
    related row costs a fraction of what five model instances per ticket do."""
    tickets = visible_tickets(user, _columns(fields).all())
    tickets = _filtered(user, tickets, filters, before_number=before_number)
    return list(tickets.order_by("-pk")[:limit])


@functools.cache
def _columns(fields: tuple[str, ...]) -> QuerySet[Ticket]:
    """Tickets as dicts of `fields`, set up once per process: turning a few dozen lookups into
    joins cost a request more than all its filters. Only ever copied (never evaluated)."""
    return Ticket.objects.values(*fields)


@functools.cache
def _tag_pairs() -> QuerySet:
    return Ticket.tags.through.objects.order_by("tag__name").values_list("ticket_id", "tag__name")


def tag_names(ticket_ids: list[int]) -> dict[int, list[str]]:
    """The tag names of each of `ticket_ids`, in name order, in one query. The ids must come
    from a read scoped by this module (tags are internal: requesters are not shown them)."""
    if not ticket_ids:
        return {}
    names: dict[int, list[str]] = {}
    for ticket_id, name in _tag_pairs().filter(ticket_id__in=ticket_ids):
        names.setdefault(ticket_id, []).append(name)
    return names


def _filtered(
    user: User,
    tickets: QuerySet[Ticket],
    filters: TicketFilters,
    *,
    before_number: int | None = None,
) -> QuerySet[Ticket]:
    f = filters
    conditions = {
        "status__in": f.status,
        "priority__in": f.priority,
        "group_id": f.group_id,
        "assignee_id": f.assignee_id,
        "organization_id": f.organization_id,
        "requester_id": f.requester_id,
        "category_id": f.category_id,
        "channel": f.channel,
        "created_at__gte": f.created_after,
        "created_at__lt": f.created_before,
        "pk__lt": before_number,
    }
    tickets = tickets.filter(**{k: v for k, v in conditions.items() if v is not None})
    if f.unassigned:
        tickets = tickets.filter(assignee__isnull=True)
    if f.tag:
        tickets = tickets.filter(tags__name=f.tag.strip().lower())
    if f.q:
        q = f.q.strip()
        text = Q(pk__in=search_selectors.ticket_match_ids(user, q))  # subject, text, replies
        if q.lstrip("#").isdigit():
            text |= Q(pk=int(q.lstrip("#")))
        tickets = tickets.filter(text)
    return tickets


def ticket_comments(user: User, ticket: Ticket) -> QuerySet[Comment]:
    comments = ticket.comments.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=_attachments_for(user, ticket))
    )
    return comments if user.is_agent else comments.filter(is_public=True)


def _attachments_for(user: User, ticket: Ticket) -> QuerySet[Attachment]:
    attachments = Attachment.objects.filter(ticket=ticket)
    return attachments if user.is_agent else attachments.filter(is_public=True)


def ticket_attachments(user: User, ticket: Ticket) -> QuerySet[Attachment]:
    return _attachments_for(user, ticket).select_related("uploaded_by")


def get_attachment(user: User, ticket: Ticket, attachment_id: int) -> Attachment:
    attachment = _attachments_for(user, ticket).filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("Attachment not found."))
    return attachment


def ticket_history(user: User, ticket: Ticket) -> QuerySet[TicketEvent]:
    events = ticket.events.select_related("actor")
    return events if user.is_agent else events.filter(is_public=True)


def active_categories() -> QuerySet[Category]:
    """Categories are shared by every organization; only active ones are offered."""
    return Category.objects.filter(is_active=True).order_by("full_name")


def get_category(category_id: int) -> Category:
    category = active_categories().filter(pk=category_id).first()
    if category is None:
        raise NotFound(_("No category %(id)s.") % {"id": category_id})
    return category
