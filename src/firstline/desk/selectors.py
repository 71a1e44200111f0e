"""Reads for the agent workspace: queues, their counts, and what a ticket page shows."""

from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import NamedTuple

from django.core.cache import cache
from django.db import connections
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from firstline.accounts.models import STAFF_ROLES, Group, Organization, User, display_name_of
from firstline.accounts.selectors import users_for
from firstline.core.bulk import fast_timestamps
from firstline.core.errors import NotFound
from firstline.sla.models import Target
from firstline.sla.tracking import TARGETS
from firstline.tickets import selectors as ticket_selectors
from firstline.tickets.lifecycle import ACTIVE_STATUSES
from firstline.tickets.models import Category, Status, Ticket

from .models import Notification, SavedFilter


@dataclass(frozen=True)
class Queue:
    key: str  # "mine", "unassigned", "all" or "group-<slug>"
    group: Group | None = None


COUNTED_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
CHOICES_CACHE_KEY = "desk:choices"
CHOICES_TTL = 300  # seconds; every change of the listed rows forgets them at once (receivers)


def user_groups(user: User) -> list[Group]:
    """The user's active queues; read once per request (kept on the user object)."""
    groups = getattr(user, "_desk_groups", None)
    if groups is None:
        if user.sees_all_tickets:
            groups = list(Group.objects.filter(is_active=True).order_by("tier", "name"))
        else:
            member_of = list(user.support_groups.order_by("tier", "name"))
            user._member_group_ids = [g.pk for g in member_of]
            groups = [g for g in member_of if g.is_active]
        user._desk_groups = groups
    return groups


def resolve_queue(user: User, key: str) -> Queue:
    if key in ("mine", "unassigned") or (key == "all" and user.sees_all_tickets):
        return Queue(key)
    if key.startswith("group-"):
        for group in user_groups(user):
            if group.slug == key.removeprefix("group-"):
                return Queue(key, group)
    raise NotFound(_("No such queue."))


def queue_tickets(user: User, queue: Queue, filters) -> QuerySet[Ticket]:
    if queue.key == "mine":
        tickets = ticket_selectors.tickets_assigned_to(user)
    elif queue.key == "unassigned":
        mine = [g.pk for g in user_groups(user)]
        tickets = ticket_selectors.tickets_in_groups(user, mine).filter(assignee__isnull=True)
    elif queue.group is not None:
        tickets = ticket_selectors.tickets_in_groups(user, [queue.group.pk])
    else:
        tickets = ticket_selectors.visible_tickets(user)
    return ticket_selectors.filter_tickets(user, tickets, filters)


def _unresolved_counts(user: User, **counts) -> list[dict]:
    """Counts of the user's visible unresolved tickets per status and group, one part of
    visible_parts() after the other in one UNION ALL query. Each part reads the work index
    (status, group, assignee...) alone, in its order (so SQLite needs no sorting either).
    A group can appear in several rows: callers add them up."""
    return list(_unresolved_counts_query(user, **counts))


def _unresolved_counts_query(user: User, **counts) -> QuerySet:
    user_groups(user)  # reads the member groups once, for the parts too
    parts = [
        part.filter(status__in=ACTIVE_STATUSES)
        .order_by()
        .values("status", "group")
        .annotate(**counts)
        .values("status", "group", *counts)
        for part in ticket_selectors.visible_parts(user)
    ]
    return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]


# The sidebar's count query as SQL and parameters, per user and what its SQL depends on
# (see _sidebar_count_key): Django took longer to build it than the database to answer.
_SIDEBAR_SQL: dict[tuple, tuple[str, tuple]] = {}
_SIDEBAR_SQL_KEPT = 2000  # users' queries kept, at most (forgotten all at once past that)


def _sidebar_count_key(user: User) -> tuple | None:
    """All that the SQL of the sidebar's count query depends on: the user (their tickets),
    whether they see every ticket, and else their groups, in visible_parts' order (an
    agent's). None for anyone else, whose query is built each time."""
    if not user.is_authenticated or not user.is_active or not user.is_agent:
        return None
    alias = Ticket.objects.db
    if user.sees_all_tickets:
        return (alias, user.pk, "all")
    user_groups(user)  # reads the member groups once
    return (alias, user.pk, "groups", tuple(ticket_selectors.member_group_ids(user)))


def _sidebar_counts(user: User) -> list[tuple]:
    """(status, group id, tickets, the user's, unassigned) per status and group of the
    user's visible unresolved tickets: _unresolved_counts' query, built once per user and
    groups, then only run."""
    counts = {
        "n": Count("*"),  # COUNT(*): SQLite counts a fifth faster than COUNT(id)
        "mine": Count("pk", filter=Q(assignee=user)),
        "unassigned": Count("pk", filter=Q(assignee__isnull=True)),
    }
    key = _sidebar_count_key(user)
    if key is None:
        return [tuple(row.values()) for row in _unresolved_counts(user, **counts)]
    compiled = _SIDEBAR_SQL.get(key)
    if compiled is None:
        query = _unresolved_counts_query(user, **counts)
        compiled = query.query.get_compiler(using=query.db).as_sql()
        if len(_SIDEBAR_SQL) >= _SIDEBAR_SQL_KEPT:
            _SIDEBAR_SQL.clear()
        _SIDEBAR_SQL[key] = compiled
    with connections[key[0]].cursor() as cursor:
        cursor.execute(*compiled)
        return cursor.fetchall()


def queue_counts(
    user: User, groups: list[Group], rows: "list[CountsRow] | None" = None
) -> dict[str, int]:
    """Open work per queue for the sidebar, in one query whatever the number of groups:
    the user's visible unresolved tickets counted per group, split by assignee (or from
    the `rows` of ticket_counts, which the counts page has read already)."""
    if rows is not None:
        per_group_rows = [
            (r.group.pk if r.group else None, r.total, r.mine, r.unassigned) for r in rows
        ]
    else:
        per_group_rows = [row[1:] for row in _sidebar_counts(user)]
    mine_groups = {g.pk for g in groups}
    totals = {"mine": 0, "unassigned": 0, "all": 0}
    per_group: dict[int, int] = {}
    for group_id, n, mine, unassigned in per_group_rows:
        totals["all"] += n
        totals["mine"] += mine
        if group_id in mine_groups:
            totals["unassigned"] += unassigned
            per_group[group_id] = per_group.get(group_id, 0) + n
    totals.update({f"group-{g.slug}": per_group.get(g.pk, 0) for g in groups})
    return totals


# What a queue row shows (desk/rows.py), in QueueRow's order: not the description,
# passwords or SLA pauses; then what the SLA badge reads.
_PERSON = ("username", "first_name", "last_name")
SLA_COLUMNS = (
    *("next_due_at", "paused_since", "started_at", "next_response_started_at", "fired"),
    *(f"{t}_{f}" for t in TARGETS for f in ("minutes", "due_at", "warn_at", "met_at")),
)
ROW_COLUMNS = (
    *("pk", "subject", "status", "priority", "updated_at", "organization__name"),
    *(f"{who}__{name}" for who in ("requester", "assignee") for name in _PERSON),
    "sla__ticket_id",
    *(f"sla__{name}" for name in SLA_COLUMNS),
)


# The columns resolved once (35 lookups through four joins): each page only adds its rows'
# numbers and order. The chosen rows are the queue's, filtered and visible to the user.
_ROWS = Ticket.objects.select_related(None).prefetch_related(None).values_list(*ROW_COLUMNS)


class QueueRow(NamedTuple):
    """One row of a queue page as plain values (desk/rows.py shows it)."""

    pk: int
    subject: str
    status: str
    priority: int
    updated_at: datetime
    organization: str | None
    requester: str  # display names
    assignee: str | None
    sla: "SlaClock | None"
    tags: list[str]


SlaClock = namedtuple("SlaClock", SLA_COLUMNS)
SlaClock.__doc__ = """The columns of a ticket's SLA that its queue badge and
sla.tracking.overall_state read, without a model instance (half a page's Python time went
into making those)."""


def page_of(tickets: QuerySet[Ticket], order: list, bottom: int, top: int) -> list[QueueRow]:
    """Rows `bottom` to `top` of `tickets` in `order`, with everything they show, as plain
    values. The rows are chosen by a narrow subquery first (all the queue's filters are in
    it), so that the related rows (requester, SLA, organization...) are joined for the 50
    rows shown, not for every ticket of the queue; their tags come in a second query."""
    choosing = _choosing_order(order, connections[tickets.db].vendor)
    chosen = tickets.order_by(*choosing).values("pk")[bottom:top]
    with fast_timestamps():  # PostgreSQL: its compiled reader of the 14 date columns
        found = list(_ROWS.filter(pk__in=chosen).order_by(*order))
    tags = ticket_selectors.tag_names([row[0] for row in found])
    return [_queue_row(values, tags.get(values[0], [])) for values in found]


_SLA_DUE = "sla_due_at"


def _choosing_order(order: list, vendor: str) -> list:
    """`order` as the subquery that chooses a page's rows sorts them. SQLite sorts the
    thousands of open tickets of a queue by SLA due time (nulls last) a quarter faster when
    NULLS LAST is said as "IS NULL" first: its sorter then compares plain values. Same order;
    PostgreSQL keeps NULLS LAST (no faster otherwise there)."""
    if vendor != "sqlite":
        return order
    chosen = []
    for field in order:
        if (
            isinstance(field, OrderBy)
            and field.nulls_last
            and isinstance(field.expression, F)
            and field.expression.name == _SLA_DUE
        ):
            chosen.append(ExpressionWrapper(Q(**{f"{_SLA_DUE}__isnull": True}), BooleanField()))
            field = OrderBy(F(_SLA_DUE), descending=field.descending)
        chosen.append(field)
    return chosen


def _queue_row(values: tuple, tags: list[str]) -> QueueRow:
    pk, subject, status, priority, updated_at, organization, *people, has_sla = values[:13]
    return QueueRow(
        pk,
        subject,
        status,
        priority,
        updated_at,
        organization,
        display_name_of(*people[:3]),
        display_name_of(*people[3:]) if people[3] is not None else None,
        SlaClock._make(values[13:]) if has_sla is not None else None,
        tags,
    )


def saved_filters(user: User) -> QuerySet[SavedFilter]:
    return SavedFilter.objects.filter(user=user)


def all_agents() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=sorted(STAFF_ROLES)).order_by(
        "first_name", "username"
    )


def reference_choices() -> dict[str, list[tuple[str, str]]]:
    """The option lists of the queue filters and bulk actions (categories, organizations,
    agents, groups): the same for everyone, so kept in the cache rather than read on every
    page. Forgotten whenever one of those rows changes (see receivers.py)."""
    choices = cache.get(CHOICES_CACHE_KEY)
    if choices is None:
        choices = {
            "category": [
                (str(pk), name)
                for pk, name in Category.objects.filter(is_active=True)
                .order_by("full_name")
                .values_list("pk", "full_name")
            ],
            "organization": list(Organization.objects.order_by("name").values_list("slug", "name")),
            "agent": [(str(a.pk), a.display_name) for a in all_agents()],
            "group": [
                (str(g.pk), str(g))
                for g in Group.objects.filter(is_active=True).order_by("tier", "name")
            ],
        }
        cache.set(CHOICES_CACHE_KEY, choices, CHOICES_TTL)
    return choices


def forget_reference_choices() -> None:
    cache.delete_many([CHOICES_CACHE_KEY, CHOICES_CACHE_KEY + ":html"])


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


def notifications(user: User, limit: int = 50) -> list:
    """The user's newest notifications, with the tickets they name that the user may see."""
    notices = list(
        Notification.objects.filter(recipient=user)
        .select_related("ticket")
        .order_by("-created_at", "-pk")[:limit]
    )
    numbers = {n for notice in notices for n in notice.data.get("tickets", [])}
    numbers |= {notice.ticket_id for notice in notices if notice.ticket_id}
    visible = {
        t.pk: t
        for t in ticket_selectors.visible_tickets(user).filter(pk__in=numbers).only("id", "subject")
    }
    for notice in notices:
        notice.listed = [visible[n] for n in notice.data.get("tickets", []) if n in visible]
        if notice.ticket_id not in visible:
            notice.ticket = None
        due, target = notice.data.get("due"), notice.data.get("target")
        notice.due = datetime.fromisoformat(due) if due else None
        notice.target_label = Target(target).label if target in Target.values else ""
    return notices


def unread_notification_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


AGE_BUCKETS = (  # (key, lower bound in days, label); the last one has no upper bound
    ("day", 0, gettext_lazy("Under a day")),
    ("days3", 1, gettext_lazy("1–3 days")),
    ("week", 3, gettext_lazy("3–7 days")),
    ("month", 7, gettext_lazy("7–30 days")),
    ("older", 30, gettext_lazy("Over 30 days")),
)
AGE_KEYS = [key for key, _days, _label in AGE_BUCKETS]


@dataclass
class CountsRow:
    group: Group | None  # None: tickets in no group
    statuses: dict[str, int]
    ages: dict[str, int]
    mine: int = 0  # assigned to the user
    unassigned: int = 0

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def ticket_counts(user: User, now) -> list[CountsRow]:
    """Unresolved tickets the user may see, per group: by status and by age since they were
    opened. One grouped query over the unresolved tickets (a tenth of a desk's tickets).
    It counts the tickets newer than each bucket's end, one comparison per ticket and
    bucket; testing both ends of every bucket took SQLite 40% longer."""
    # Each bucket but the last ends where the next one starts: tickets newer than that end
    # are in this bucket or a younger one.
    newer = {
        key: Count("pk", filter=Q(created_at__gt=now - timedelta(days=older_from)))
        for (key, *_bucket), (_next, older_from, _label) in pairwise(AGE_BUCKETS)
    }
    rows = _unresolved_counts(
        user,
        n=Count("pk"),
        mine=Count("pk", filter=Q(assignee=user)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        **newer,
    )
    per_group: dict[int | None, CountsRow] = {}
    for row in rows:
        counts = per_group.setdefault(
            row["group"],
            CountsRow(None, dict.fromkeys(COUNTED_STATUSES, 0), dict.fromkeys(AGE_KEYS, 0)),
        )
        counts.statuses[row["status"]] += row["n"]
        counts.mine += row["mine"]
        counts.unassigned += row["unassigned"]
        _add_ages(counts.ages, row)
    groups = Group.objects.in_bulk([pk for pk in per_group if pk is not None])
    for pk, counts in per_group.items():
        counts.group = groups.get(pk)
    return sorted(
        per_group.values(),
        key=lambda r: (r.group is None, r.group.tier if r.group else 0, str(r.group or "")),
    )


def _add_ages(ages: dict[str, int], row: dict) -> None:
    """Adds a counts row's tickets per age bucket: row["week"] holds the tickets of that
    bucket and of the younger ones, row["n"] all of them."""
    younger = 0
    for key in AGE_KEYS[:-1]:
        ages[key] += row[key] - younger
        younger = row[key]
    ages[AGE_KEYS[-1]] += row["n"] - younger


def counts_total(rows: list[CountsRow]) -> CountsRow:
    total = CountsRow(None, dict.fromkeys(COUNTED_STATUSES, 0), dict.fromkeys(AGE_KEYS, 0))
    for row in rows:
        for key, n in row.statuses.items():
            total.statuses[key] += n
        for key, n in row.ages.items():
            total.ages[key] += n
    return total
