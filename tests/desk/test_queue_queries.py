"""The queue page's queries written faster give what the ORM's plain queries give: the
sidebar's count query built once per user and groups, and the rows chosen by SLA due time
sorted the way each database sorts fastest."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext

from firstline.accounts.models import User
from firstline.desk import selectors
from firstline.desk.forms import sort_order
from firstline.sla import services as sla_services
from firstline.sla.models import TicketSla
from firstline.sla.services import TargetMinutes
from firstline.tickets import services
from firstline.tickets.lifecycle import ACTIVE_STATUSES
from firstline.tickets.models import Priority, Status, Ticket
from firstline.tickets.selectors import TicketFilters

from ..factories import AgentFactory, GroupFactory

pytestmark = pytest.mark.django_db


def _orm_counts(user: User, every: str = "*") -> tuple[list[tuple], list[str]]:
    """The sidebar's count rows as the ORM reads them, and the SQL it runs."""
    counts = {
        "n": Count(every),
        "mine": Count("pk", filter=Q(assignee=user)),
        "unassigned": Count("pk", filter=Q(assignee__isnull=True)),
    }
    with CaptureQueriesContext(connection) as queries:
        rows = [tuple(r.values()) for r in selectors._unresolved_counts(user, **counts)]
    return sorted(rows, key=repr), [q["sql"] for q in queries]


def _fast_counts(user: User) -> tuple[list[tuple], list[str]]:
    with CaptureQueriesContext(connection) as queries:
        rows = selectors._sidebar_counts(user)
    return sorted(rows, key=repr), [q["sql"] for q in queries]


def _fresh(user: User) -> User:
    """The user as the next request loads it (the member groups read anew)."""
    return User.objects.get(pk=user.pk)


@pytest.fixture
def work(desk):
    """Open tickets in every group, some assigned, some resolved, some requested by agents."""
    tickets = []
    members = {desk.l1: desk.l1_agent, desk.l2: desk.l2_agent, desk.l3: desk.supervisor}
    for group in (desk.l1, desk.l2, desk.l3, None):
        for assignee in (None, members.get(group, desk.supervisor), desk.supervisor):
            tickets.append(
                services.create_ticket(
                    actor=desk.supervisor,
                    requester=desk.alice,
                    subject="Work",
                    group=group,
                    assignee=assignee,
                )
            )
    services.create_ticket(actor=desk.l1_agent, requester=desk.l1_agent, subject="Own")
    Ticket.objects.filter(pk=tickets[4].pk).update(group=desk.l3)  # l2agent's, elsewhere now
    services.update_ticket(
        actor=desk.supervisor, ticket=tickets[0], channel="web", status=Status.RESOLVED
    )
    services.update_ticket(
        actor=desk.supervisor, ticket=tickets[3], channel="web", status=Status.PENDING
    )
    return tickets


def test_sidebar_counts_are_the_orms_for_every_kind_of_staff(desk, work):
    closed = GroupFactory(slug="closed", name="Closed", tier=2, members=[desk.l1_agent])
    closed.is_active = False
    closed.save(update_fields=["is_active"])
    admin = AgentFactory(username="root", role="admin")
    lone = AgentFactory(username="lone")  # in no group
    both = AgentFactory(username="both")
    desk.l1.members.add(both)
    desk.l2.members.add(both)
    staff = [desk.l1_agent, desk.l2_agent, desk.supervisor, admin, lone, both]
    for user in staff:
        expected, expected_sql = _orm_counts(_fresh(user))
        assert expected == _orm_counts(_fresh(user), every="pk")[0]
        for _request in range(2):  # built, then reused
            rows, sql = _fast_counts(_fresh(user))
            assert rows == expected, user.username
            assert sql[-1] == expected_sql[-1], user.username  # the same statement
            assert len(sql) <= len(expected_sql)
    assert _fast_counts(_fresh(desk.l1_agent))[0]  # counted something


def test_sidebar_counts_follow_the_users_groups_and_role(desk, work):
    agent = desk.l2_agent
    before = selectors.queue_counts(_fresh(agent), selectors.user_groups(_fresh(agent)))
    desk.l1.members.add(agent)
    user = _fresh(agent)
    after = selectors.queue_counts(user, selectors.user_groups(user))
    in_l1 = Ticket.objects.filter(group=desk.l1, status__in=ACTIVE_STATUSES)
    assert "group-l1" not in before and after["group-l1"] == in_l1.count() > 0
    assert after["unassigned"] == before["unassigned"] + in_l1.filter(assignee=None).count()
    assert _fast_counts(user)[0] == _orm_counts(user)[0]
    User.objects.filter(pk=agent.pk).update(role="supervisor")
    boss = _fresh(agent)
    everything = selectors.queue_counts(boss, selectors.user_groups(boss))
    assert everything["all"] == Ticket.objects.filter(status__in=ACTIVE_STATUSES).count()
    assert _fast_counts(boss)[0] == _orm_counts(boss)[0]


def test_sidebar_counts_of_people_who_are_not_staff_are_not_kept(desk, work):
    for user in (desk.alice, desk.acme_manager):
        assert selectors._sidebar_count_key(user) is None
        assert _fast_counts(user)[0] == _orm_counts(user)[0]


def test_the_page_chosen_by_due_time_is_the_orms_order(desk):
    """Tickets with SLA due times (some equal), paused ones and ones without an SLA: every
    page of either direction holds the rows the ORM's plain ORDER BY sorts there, nulls
    last."""
    with time_machine.travel(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), tick=False):
        office = sla_services.create_calendar(
            actor=None, name="Office", time_zone="UTC", always_open=True
        )
        minutes = TargetMinutes(60, 120, 480)
        sla_services.create_policy(
            actor=None, name="All", calendar=office, targets=dict.fromkeys(Priority, minutes)
        )
        tickets = [
            services.create_ticket(
                actor=desk.supervisor, requester=desk.alice, subject=f"Ticket {i}", group=desk.l1
            )
            for i in range(12)
        ]
    slas = list(TicketSla.objects.order_by("ticket_id"))
    assert len(slas) == 12
    base = datetime(2026, 3, 3, tzinfo=UTC)
    for i, sla in enumerate(slas):
        due = None if i % 4 == 0 else base + timedelta(hours=i % 3)  # ties and nulls
        TicketSla.objects.filter(pk=sla.pk).update(next_due_at=due)
        Ticket.objects.filter(pk=sla.pk).update(sla_due_at=due)  # as the SLA services do
    lost = [tickets[1].pk, tickets[6].pk]
    TicketSla.objects.filter(ticket_id__in=lost).delete()
    Ticket.objects.filter(pk__in=lost).update(sla_due_at=None)
    user = _fresh(desk.l1_agent)
    queue = selectors.resolve_queue(user, "group-l1")
    queued = selectors.queue_tickets(user, queue, TicketFilters(status=list(ACTIVE_STATUSES)))
    for sort in ("due", "-due"):
        order = sort_order(sort)
        joined = list(queued.order_by(*order).values_list("pk", flat=True))
        assert len(joined) == 12
        for bottom, top in ((0, 5), (5, 10), (10, 15), (0, 50)):
            rows = selectors.page_of(queued, order, bottom, top)
            assert [row.pk for row in rows] == joined[bottom:top], (sort, bottom)
        without = {t.pk for t in tickets if not TicketSla.objects.filter(ticket=t).exists()}
        nulls = without | set(
            TicketSla.objects.filter(next_due_at__isnull=True).values_list("ticket_id", flat=True)
        )
        assert set(joined[-len(nulls) :]) == nulls  # no due time: last either way
