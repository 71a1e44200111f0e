"""Each ticket carries its SLA's next due time (Ticket.sla_due_at), which the queues sort by
without reading the SLA rows: the copy must stay true through everything that moves the
clock, and a new ticket is written once, with its due time."""

from dataclasses import replace

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from firstline.sla import services
from firstline.sla.models import TicketSla
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel, Priority, Status, Ticket
from firstline.tickets.services import AutoEscalation

from .conftest import STANDARD, sh, sla_of
from .test_services import agent_reply, requester_reply, set_status

pytestmark = pytest.mark.django_db


def copies() -> dict[int, object]:
    return dict(Ticket.objects.order_by("pk").values_list("pk", "sla_due_at"))


def due_times() -> dict[int, object]:
    """What each ticket's copy must be: its SLA's next due time, None without an SLA."""
    dues = dict.fromkeys(Ticket.objects.values_list("pk", flat=True))
    dues.update(TicketSla.objects.values_list("ticket_id", "next_due_at"))
    return dues


def test_a_new_ticket_is_written_once_with_its_due_time(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 10, 0))
    with CaptureQueriesContext(connection) as queries:
        ticket = new_ticket(priority="urgent")
    assert ticket.sla_due_at == sh(2026, 3, 2, 10, 15)  # the first response, 15 minutes
    assert copies() == due_times() == {ticket.pk: sh(2026, 3, 2, 10, 15)}
    ticket_updates = [q for q in queries.captured_queries if 'UPDATE "tickets_ticket"' in q["sql"]]
    assert ticket_updates == []


def test_a_ticket_without_sla_has_no_due_time(desk, new_ticket, clock):
    ticket = new_ticket()
    assert ticket.sla_due_at is None
    assert copies() == {ticket.pk: None}


def test_the_copy_follows_replies_pauses_and_changes(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 10, 0))
    ticket = new_ticket()
    new_ticket(priority="low")  # another ticket, whose copy must not move with this one's
    assert copies() == due_times()
    seen = {ticket.pk: ticket.sla_due_at}

    def step():
        assert copies() == due_times()
        now = Ticket.objects.get(pk=ticket.pk).sla_due_at
        changed, seen[ticket.pk] = now != seen[ticket.pk], now
        return changed

    clock.to(sh(2026, 3, 2, 10, 20))
    agent_reply(desk, ticket)  # first response met: the resolution is next
    assert step() and seen[ticket.pk] == sla_of(ticket).resolution_due_at
    ticket.refresh_from_db()
    set_status(desk, ticket, Status.PENDING)  # the clock stops: no due time
    assert step() and seen[ticket.pk] is None
    clock.to(sh(2026, 3, 2, 11, 0))
    requester_reply(ticket)  # back to open, and a next response is due
    assert step() and seen[ticket.pk] is not None
    ticket.refresh_from_db()
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel=Channel.WEB, priority="urgent"
    )
    assert step()
    ticket.refresh_from_db()
    set_status(desk, ticket, Status.RESOLVED)
    assert step() and seen[ticket.pk] is None


def test_losing_the_sla_clears_the_copy(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 10, 0))
    services.update_policy(actor=None, policy=standard, groups=[desk.l1])
    ticket = new_ticket()
    assert ticket.group == desk.l1 and ticket.sla_due_at is not None
    ticket_services.escalate_ticket(
        actor=desk.l1_agent, ticket=ticket, reason="Needs desktop support", channel=Channel.WEB
    )
    assert Ticket.objects.get(pk=ticket.pk).group == desk.l2
    assert copies() == due_times() == {ticket.pk: None}


def test_re_targeting_after_a_policy_change_moves_the_copies(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 10, 0))
    web, mail = new_ticket(), new_ticket(channel=Channel.EMAIL)
    faster = {p: replace(STANDARD[p], first_response=5) for p in Priority}
    services.update_policy(actor=None, policy=standard, channels=["web"], targets=faster)
    services.retarget_open_tickets()
    assert copies() == due_times()
    assert copies() == {web.pk: sh(2026, 3, 2, 10, 5), mail.pk: None}


def test_escalating_many_moves_the_copies(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 10, 0))
    tickets = [new_ticket(), new_ticket()]
    before = copies()
    escalations = [AutoEscalation(t.pk, True, False, "breach") for t in tickets]
    assert ticket_services.escalate_many(escalations=escalations, channel="web") == 2
    assert copies() == due_times()
    assert copies() != before  # a higher priority, sooner due times


def test_the_sweep_leaves_the_copies_true(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 10, 0))
    ticket = new_ticket()
    clock.to(sh(2026, 3, 2, 12, 0))  # the first response is overdue
    report = services.sweep()
    assert report.breaches >= 1
    assert copies() == due_times()
    assert Ticket.objects.get(pk=ticket.pk).sla_due_at == sh(2026, 3, 2, 11, 0)


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_copies_the_due_times_of_existing_tickets(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 10, 0))
    new_ticket(), new_ticket(priority="high"), new_ticket(channel=Channel.PHONE)
    expected = due_times()
    assert sum(due is not None for due in expected.values()) == 3
    executor = MigrationExecutor(connection)
    executor.migrate([("sla", "0007_drop_config_revision")])
    Ticket.objects.update(sla_due_at=None)  # as before the copy existed
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert copies() == expected
