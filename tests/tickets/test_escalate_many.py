"""Escalating many tickets at once (SLA breaches): the same history and notifications as
one ticket at a time, in a few statements."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from firstline.channels.models import OutboundMessage
from firstline.tickets import services
from firstline.tickets.models import Priority, Status, Ticket, TicketEvent

from ..factories import AgentFactory, GroupFactory

pytestmark = pytest.mark.django_db


def escalation(ticket, *, raise_priority=True, next_tier=True):
    return services.AutoEscalation(
        ticket_id=ticket.pk,
        raise_priority=raise_priority,
        next_tier=next_tier,
        reason="SLA breached: Resolution",
    )


def history(ticket):
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind__in=["changed", "escalated"])
        .order_by("pk")
        .values_list("kind", "field", "old_value", "new_value", "note", "is_public")
    )


def test_raises_priority_moves_up_a_tier_and_records_it(desk, new_ticket):
    ticket = new_ticket()
    services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel="web", assignee=desk.l1_agent
    )
    version = type(ticket).objects.get(pk=ticket.pk).version

    assert services.escalate_many(escalations=[escalation(ticket)], channel="web") == 1

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.group, ticket.assignee) == (Priority.HIGH, desk.l2, None)
    assert ticket.version == version + 1
    assert history(ticket)[-3:] == [
        ("changed", "priority", "normal", "high", "", True),
        ("escalated", "group", "l1", "l2", "SLA breached: Resolution", False),
        ("changed", "assignee", "l1agent", "", "", False),  # not a member of L2
    ]


def test_an_assignee_of_the_new_group_keeps_the_ticket(desk, new_ticket):
    both = AgentFactory(username="both")
    desk.l1.members.add(both)
    desk.l2.members.add(both)
    ticket = new_ticket()
    services.update_ticket(actor=desk.supervisor, ticket=ticket, channel="web", assignee=both)

    services.escalate_many(escalations=[escalation(ticket)], channel="web")

    ticket.refresh_from_db()
    assert (ticket.group, ticket.assignee) == (desk.l2, both)


def test_closed_tickets_stay_and_resolved_ones_only_rise_in_priority(desk, new_ticket):
    closed, resolved, urgent_top = new_ticket(), new_ticket(), new_ticket(priority="urgent")
    for ticket, status in ((closed, Status.RESOLVED), (resolved, Status.RESOLVED)):
        services.update_ticket(actor=desk.l1_agent, ticket=ticket, channel="web", status=status)
    services.update_ticket(actor=desk.l1_agent, ticket=closed, channel="web", status="closed")
    services.escalate_ticket(actor=desk.l1_agent, ticket=urgent_top, reason="x", channel="web")
    services.escalate_ticket(actor=desk.l2_agent, ticket=urgent_top, reason="y", channel="web")

    changed = services.escalate_many(
        escalations=[escalation(t) for t in (closed, resolved, urgent_top)], channel="web"
    )

    assert changed == 1  # the resolved one's priority; nothing above urgent and L3
    for ticket in (closed, resolved, urgent_top):
        ticket.refresh_from_db()
    assert (closed.priority, closed.group) == (Priority.NORMAL, desk.l1)
    assert (resolved.priority, resolved.group) == (Priority.HIGH, desk.l1)
    assert (urgent_top.priority, urgent_top.group) == (Priority.URGENT, desk.l3)


def test_group_members_get_one_e_mail_per_ticket_or_a_digest(
    desk, new_ticket, django_capture_on_commit_callbacks
):
    few, many = [new_ticket() for _ in range(2)], [new_ticket() for _ in range(5)]
    services.escalate_many(
        escalations=[escalation(t, raise_priority=False) for t in few], channel="web"
    )
    mails = OutboundMessage.objects.filter(primary_recipient=desk.l2_agent.email)
    assert sorted(m.ticket_id for m in mails.filter(kind="escalated")) == [t.pk for t in few]

    services.escalate_many(
        escalations=[escalation(t, raise_priority=False) for t in many], channel="web"
    )
    digest = mails.get(kind="escalated_digest")
    assert digest.subject == "5 tickets escalated"
    assert all(f"#{t.pk} " in digest.body for t in many)
    assert mails.filter(kind="escalated").count() == 2  # nothing more one by one


def test_a_group_serving_other_organizations_is_passed_over(desk, new_ticket):
    globex_only = GroupFactory(slug="l2-globex", name="A Globex team", tier=2)
    globex_only.organizations.add(desk.globex)
    ticket = new_ticket()  # Acme's

    services.escalate_many(escalations=[escalation(ticket, raise_priority=False)], channel="web")

    ticket.refresh_from_db()
    assert ticket.group == desk.l2


def test_tickets_the_caller_has_locked_are_not_read_again(desk, new_ticket):
    """The sweep passes the tickets it has locked and read: the same result, one read less."""

    def run(tickets, locked):
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            if locked:
                read = (
                    Ticket.objects.select_for_update()
                    .defer("description")
                    .filter(pk__in=[t.pk for t in tickets])
                )
                locked = {t.pk: t for t in read}
            services.escalate_many(
                escalations=[escalation(t) for t in tickets], channel="web", locked=locked
            )
        reads = [q for q in queries if 'FROM "tickets_ticket"' in q["sql"]]
        for ticket in tickets:
            ticket.refresh_from_db()
        results = [(t.priority, t.group_id, t.assignee_id, t.version) for t in tickets]
        return results, [history(t) for t in tickets], len(reads)

    def make():
        closed, open_ = new_ticket(), new_ticket()
        services.update_ticket(
            actor=desk.l1_agent, ticket=open_, channel="web", assignee=desk.l1_agent
        )
        services.update_ticket(actor=desk.l1_agent, ticket=closed, channel="web", status="resolved")
        services.update_ticket(actor=desk.l1_agent, ticket=closed, channel="web", status="closed")
        return [closed, open_]

    alone, alone_history, alone_reads = run(make(), locked=False)
    given, given_history, given_reads = run(make(), locked=True)

    assert given == alone and given_history == alone_history
    assert given[0][0] == Priority.NORMAL and given[1][1] == desk.l2.pk  # closed one left alone
    assert given_reads == alone_reads  # the caller's read instead of escalate_many's own
