"""The periodic sweep: warnings and breaches found with an indexed query, recorded in the
history, e-mailed, escalated, and each acted on once however many sweeps run."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from firstline.channels.models import OutboundMessage
from firstline.core import scheduler
from firstline.desk.models import Notification
from firstline.sla import services, tasks
from firstline.sla.models import SlaEvent, TicketSla
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Priority, TicketEvent

from .. import markers
from ..factories import AgentFactory
from .conftest import SH, STANDARD, sh, sla_of


@pytest.fixture
def escalating(office, desk):
    """Standard targets; a breach raises the priority, moves the ticket up a tier and tells
    the supervisor."""
    return services.create_policy(
        actor=None,
        name="Escalating",
        calendar=office,
        targets=STANDARD,
        raise_priority=True,
        escalate_to_next_tier=True,
        notify_user=desk.supervisor,
    )


@pytest.fixture
def colleague(desk):
    return AgentFactory(username="colleague", language="zh-hans")


@pytest.fixture
def team(desk, colleague):
    desk.l1.members.add(colleague)
    return desk.l1


def sla_mail(kind):
    return list(OutboundMessage.objects.filter(kind=kind).order_by("pk"))


def sla_history(ticket):
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind__startswith="sla_")
        .order_by("pk")
        .values_list("kind", "new_value")
    )


def test_a_sweep_with_nothing_due_is_one_query(
    standard, new_ticket, clock, django_assert_num_queries
):
    clock.to(sh(2026, 3, 2, 9, 0))
    for _ in range(5):
        new_ticket()
    with django_assert_num_queries(1):
        report = services.sweep()
    assert report.checked == 0


def test_the_warning_then_the_breach_are_recorded_mailed_and_escalated(
    desk, team, colleague, escalating, new_ticket, clock
):
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = ticket_services.create_ticket(
        actor=desk.l1_agent,
        requester=desk.alice,
        subject="Printer on floor 3 jams",
        priority="high",
        assignee=desk.l1_agent,
    )
    assert sla_of(ticket).first_response_warn_at == sh(2026, 3, 2, 9, 22, 30)  # 75 % of 30 min

    clock.to(sh(2026, 3, 2, 9, 25))
    report = services.sweep()
    assert (report.warnings, report.breaches) == (1, 0)
    assert sla_history(ticket) == [("sla_warning", "first_response")]
    warnings = sla_mail("sla_warning")
    # The assignee and the group's members, one message per language.
    assert [m.recipients for m in warnings] == [["l1agent@example.com"], ["colleague@example.com"]]
    assert warnings[0].subject == (
        f"[#{ticket.pk}] SLA warning (First response): Printer on floor 3 jams"
    )
    assert "due 2026-03-02 09:30 (Asia/Shanghai)" in warnings[0].body
    assert warnings[1].subject.startswith(f"[#{ticket.pk}] SLA 预警（首次响应）")
    assert sla_of(ticket).next_check_at == sh(2026, 3, 2, 9, 30)  # the breach is next

    clock.to(sh(2026, 3, 2, 9, 31))
    report = services.sweep()
    assert (report.warnings, report.breaches, report.escalations) == (0, 1, 1)
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT  # raised one step
    assert ticket.group == desk.l2  # moved to the next tier
    assert ticket.assignee is None  # l1agent does not work in L2
    breach = sla_mail("sla_breach")
    assert [m.recipients for m in breach] == [
        ["boss@example.com", "l1agent@example.com"],
        ["colleague@example.com"],
    ]
    kinds = list(
        TicketEvent.objects.filter(ticket=ticket).order_by("pk").values_list("kind", "field")
    )
    assert kinds[-4:] == [
        ("sla_breach", "sla"),
        ("changed", "priority"),
        ("escalated", "group"),
        ("changed", "assignee"),
    ]
    escalated = TicketEvent.objects.get(ticket=ticket, kind="escalated")
    assert escalated.note == "SLA breached: First response" and escalated.actor is None
    assert sla_mail("escalated")  # the L2 group hears of it as of any escalation
    # Re-targeted for urgent (15 min first response): breached already, but acted on once.
    sla = sla_of(ticket)
    assert sla.priority == Priority.URGENT and sla.first_response_due_at == sh(2026, 3, 2, 9, 15)
    assert services.sweep().breaches == 0


def test_running_the_sweep_twice_acts_once(desk, escalating, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 9, 0))
    tickets = [new_ticket() for _ in range(3)]
    clock.to(sh(2026, 3, 2, 18, 30))  # everything is breached
    first = services.sweep()
    second = services.sweep()
    assert first.breaches == 6  # first response and resolution of each
    assert first.warnings == 0  # overtaken by their breaches: not sent
    assert second.checked == 0 and second.breaches == 0
    for ticket in tickets:
        assert SlaEvent.objects.filter(ticket=ticket, kind="breach").count() == 2
        assert len(sla_history(ticket)) == 2
        ticket.refresh_from_db()
        assert ticket.priority == Priority.HIGH  # escalated once per run, not per target
    # Six breaches for the same people: one digest each rather than six e-mails.
    assert not sla_mail("sla_breach")
    digests = sla_mail("sla_breach_digest")
    assert sorted(m.primary_recipient for m in digests) == sorted(
        [desk.l1_agent.email, desk.supervisor.email]
    )
    for digest in digests:
        assert "6 tickets" in digest.subject
        assert all(f"#{t.pk} " in digest.body for t in tickets)


def test_a_storm_of_breaches_writes_what_one_ticket_at_a_time_would(
    desk, team, colleague, escalating, new_ticket, clock
):
    """The sweep's set-based writes: the history of each ticket, and SLA rows equal to a
    recomputation from scratch (`retarget_open_tickets`, one row at a time)."""
    clock.to(sh(2026, 3, 2, 9, 0))
    tickets = [
        new_ticket(priority=priority, subject=f'Printer "{n}" jams, {{again}} \\ NULL')
        for n, priority in enumerate(["normal", "high", "low", "normal", "urgent", "normal"])
    ]
    for ticket, assignee in zip(
        tickets, [desk.l1_agent, colleague, None, desk.l1_agent, None, None], strict=True
    ):
        if assignee is not None:
            ticket_services.update_ticket(
                actor=desk.supervisor, ticket=ticket, channel="web", assignee=assignee
            )
    now = clock.to(sh(2026, 3, 2, 18, 30))
    report = services.sweep()
    assert (report.breaches, report.escalations) == (11, 6)  # not the low one's resolution

    for ticket in tickets:
        breaches = SlaEvent.objects.filter(ticket=ticket, kind="breach").order_by("due_at")
        entries = TicketEvent.objects.filter(ticket=ticket, created_at=now).order_by("pk")
        assert {(e.actor_id, e.channel) for e in entries} == {(None, "web")}
        rows = entries.values_list("kind", "field", "old_value", "new_value", "note", "is_public")
        assert list(rows[: len(breaches)]) == [
            (
                "sla_breach",
                "sla",
                "",
                b.target,
                f"due {b.due_at.astimezone(SH):%Y-%m-%d %H:%M} (Asia/Shanghai)",
                False,
            )
            for b in breaches
        ]
    low = TicketEvent.objects.filter(ticket=tickets[2], created_at=now).order_by("pk")
    assert list(low.values_list("kind", "field", "old_value", "new_value", "note"))[1:] == [
        ("changed", "priority", "low", "normal", ""),
        ("escalated", "group", "l1", "l2", "SLA breached: First response"),
    ]
    colleagues = TicketEvent.objects.filter(ticket=tickets[1], created_at=now).order_by("pk")
    assert colleagues.last().new_value == "" and colleagues.last().old_value == "colleague"

    # Not re-targeted (the urgent one kept its terms): its time used is that of its last change.
    columns = [f.attname for f in TicketSla._meta.concrete_fields]
    columns = [c for c in columns if c not in ("updated_at", "business_seconds_used")]
    swept = list(TicketSla.objects.order_by("ticket_id").values_list(*columns))
    services.retarget_open_tickets()
    assert list(TicketSla.objects.order_by("ticket_id").values_list(*columns)) == swept


def test_each_breached_target_escalates_once(desk, escalating, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    clock.to(sh(2026, 3, 2, 10, 5))
    assert services.sweep().escalations == 1
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.group) == (Priority.HIGH, desk.l2)
    assert services.sweep().escalations == 0  # the same breach, swept again
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.group) == (Priority.HIGH, desk.l2)
    # The resolution breach later on is another target: escalated once more.
    clock.to(sh(2026, 3, 2, 14, 5))  # high: 240 min from 09:00, lunch skipped: 14:00
    report = services.sweep()
    ticket.refresh_from_db()
    assert report.breaches == 1 and report.events[0][1] == "resolution"
    assert (ticket.priority, ticket.group) == (Priority.URGENT, desk.l3)


def test_a_sweep_that_finds_the_event_already_inserted_does_nothing(
    desk, escalating, new_ticket, clock
):
    """Another sweep on another machine got there first: the insert fails, nothing is done."""
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    clock.to(sh(2026, 3, 2, 10, 5))
    rival = services.sweep()
    assert rival.breaches == 1
    # Make this ticket look due again, as it did to a sweep that read it before the rival
    # committed.
    TicketSla.objects.filter(ticket=ticket).update(fired=0, next_check_at=sh(2026, 3, 2, 9, 0))
    late = services.sweep()
    assert late.checked == 1 and late.breaches == 0 and late.already_done == 1
    assert len(sla_history(ticket)) == 1
    assert len(sla_mail("sla_breach")) == 1
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert sla_of(ticket).fired & 2  # marked as acted on, so it is not looked at again


needs_concurrent_writers = markers.needs_concurrent_writers(
    "the sequential race above covers SQLite"
)


@needs_concurrent_writers
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_act_on_each_breach_once(desk, escalating, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 9, 0))
    tickets = [new_ticket() for _ in range(40)]
    clock.to(sh(2026, 3, 2, 18, 30))
    barrier, reports, errors = threading.Barrier(2), [], []

    def sweeper():
        try:
            barrier.wait(timeout=10)
            reports.append(services.sweep(batch_size=7))
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    leftovers = services.sweep()  # what a sweep skipped as locked is done by the next one
    total = sum(r.breaches for r in reports) + leftovers.breaches
    assert total == 80
    assert SlaEvent.objects.filter(kind="breach").count() == 80
    assert TicketEvent.objects.filter(kind="sla_breach").count() == 80
    for person in (desk.l1_agent, desk.supervisor):  # each breach told once to each of them
        notices = Notification.objects.filter(recipient=person, kind="sla_breach")
        assert sum(notices.values_list("count", flat=True)) == 80
        # A notice of one ticket goes to all its people at once (the first is its primary
        # recipient): a batch that told a person of few tickets sent them such notices.
        singles = sum(
            person.email in m.recipients for m in OutboundMessage.objects.filter(kind="sla_breach")
        )
        digests = OutboundMessage.objects.filter(
            kind="sla_breach_digest", primary_recipient=person.email
        )
        digested = sum(int(m.subject.split()[3]) for m in digests)
        assert singles + digested == 80
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.priority == Priority.HIGH  # escalated exactly once


def test_next_response_breaches_once_per_requester_reply(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    ticket_services.add_comment(actor=desk.l1_agent, ticket=ticket, body="Hi", channel="web")
    clock.to(sh(2026, 3, 2, 9, 30))
    ticket_services.add_comment(actor=desk.alice, ticket=ticket, body="Well?", channel="web")
    clock.to(sh(2026, 3, 2, 14, 0))  # 120 business minutes later (lunch skipped): 11:30
    report = services.sweep()
    assert ("next_response", 1, "breach") in {(t, c, k) for _n, t, c, k in report.events}
    ticket_services.add_comment(actor=desk.l1_agent, ticket=ticket, body="Sorry", channel="web")
    clock.to(sh(2026, 3, 2, 14, 10))
    ticket_services.add_comment(actor=desk.alice, ticket=ticket, body="Again", channel="web")
    clock.to(sh(2026, 3, 2, 17, 0))
    report = services.sweep()
    assert ("next_response", 2, "breach") in {(t, c, k) for _n, t, c, k in report.events}
    cycles = SlaEvent.objects.filter(ticket=ticket, target="next_response", kind="breach")
    assert sorted(cycles.values_list("cycle", flat=True)) == [1, 2]


def test_a_paused_ticket_is_not_breached(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    ticket_services.add_comment(actor=desk.l1_agent, ticket=ticket, body="Hi", channel="web")
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel="web", status="pending"
    )
    clock.to(sh(2026, 3, 20, 9, 0))
    assert services.sweep().checked == 0
    assert not SlaEvent.objects.exists()


def test_a_closed_ticket_is_no_longer_escalated(desk, escalating, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    TicketSla.objects.filter(ticket=ticket).update(next_check_at=sh(2026, 3, 2, 9, 0))
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel="web", status="resolved"
    )
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel="web", status="closed"
    )
    clock.to(sh(2026, 3, 9, 9, 0))
    assert services.sweep().breaches == 0


def test_the_sweep_is_a_periodic_job(standard, new_ticket, clock):
    assert "firstline.sla.tasks.sweep_sla" in {job.task for job in scheduler.JOBS}
    clock.to(sh(2026, 3, 2, 9, 0))
    new_ticket()
    clock.to(sh(2026, 3, 2, 9, 0) + timedelta(days=1))
    result = tasks.sweep_sla.enqueue()
    assert result.return_value == {"checked": 1, "warnings": 0, "breaches": 2}


def test_automation_hears_of_each_warning_and_breach_once(standard, new_ticket, clock):
    signals = pytest.importorskip("firstline.automation.signals")
    heard = []

    def listener(sender, ticket, kind, target, **kwargs):
        heard.append((ticket.pk, kind, target))

    signals.sla_event.connect(listener)
    try:
        clock.to(sh(2026, 3, 2, 9, 0))
        ticket = new_ticket()
        clock.to(sh(2026, 3, 2, 9, 50))
        services.sweep()
        services.sweep()
        clock.to(sh(2026, 3, 2, 10, 5))
        services.sweep()
    finally:
        signals.sla_event.disconnect(listener)
    assert heard == [
        (ticket.pk, "warning", "first_response"),
        (ticket.pk, "breach", "first_response"),
    ]
