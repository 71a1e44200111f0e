"""Automation rules: triggers, conditions, every action, the history, and the loop guard."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from firstline.automation import engine, services, tasks
from firstline.automation.models import Match, RuleRun, Trigger
from firstline.automation.signals import sla_event
from firstline.channels.models import OutboundMessage
from firstline.core.errors import InvalidInput, NotAllowed
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Comment, EventKind, Status, TicketEvent

from ..factories import CategoryFactory

pytestmark = pytest.mark.django_db


def tags(ticket):
    return sorted(ticket.tags.values_list("name", flat=True))


def update(desk, ticket, **changes):
    return ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel="web", **changes
    )


# Triggers and conditions.


def test_a_rule_on_creation_acts_on_matching_tickets_only(desk, new_ticket, make_rule, automation):
    make_rule(
        "VPN is urgent",
        Trigger.CREATED,
        conditions=[{"field": "text", "op": "contains", "value": "vpn"}],
        actions=[{"type": "set_priority", "value": "urgent"}, {"type": "add_tag", "value": "vpn"}],
    )
    with automation():
        vpn = new_ticket(subject="The VPN drops every hour")
        printer = new_ticket(subject="Printer jams")
    assert (vpn.priority_key, tags(vpn)) == ("urgent", ["vpn"])
    assert (printer.priority_key, tags(printer)) == ("normal", [])


def test_a_rule_on_update_sees_what_changed(desk, new_ticket, make_rule, automation):
    make_rule(
        "Pending tickets are tagged",
        conditions=[
            {"field": "changed", "op": "includes", "value": "status"},
            {"field": "status", "op": "is", "value": "pending"},
        ],
        actions=[{"type": "add_tag", "value": "waiting"}],
    )
    ticket = new_ticket()
    with automation():
        update(desk, ticket, priority="high")
    assert tags(ticket) == []
    with automation():
        update(desk, ticket, status="pending")
    assert tags(ticket) == ["waiting"]


def test_conditions_on_fields_channel_and_organization(desk, new_ticket, make_rule, automation):
    hardware = CategoryFactory(name="Hardware")
    printer = CategoryFactory(name="Printer", parent=hardware, full_name="Hardware > Printer")
    make_rule(
        "Acme printers by phone",
        Trigger.CREATED,
        conditions=[
            {"field": "organization", "op": "is", "value": desk.acme.pk},
            {"field": "channel", "op": "is", "value": "phone"},
            {"field": "category", "op": "under", "value": hardware.pk},
            {"field": "priority", "op": "at_least", "value": "normal"},
            {"field": "assignee", "op": "is_not_set"},
            {"field": "group", "op": "is", "value": desk.l1.pk},
            {"field": "subject", "op": "not_contains", "value": "test"},
        ],
        actions=[{"type": "add_tag", "value": "matched"}],
    )
    with automation():
        yes = new_ticket(channel="phone", category=printer)
        by_web = new_ticket(channel="web", category=printer)
        globex = new_ticket(requester=desk.carol, channel="phone", category=printer)
        low = new_ticket(channel="phone", category=printer, priority="low")
        no_category = new_ticket(channel="phone")
        a_test = new_ticket(channel="phone", category=printer, subject="Just a TEST")
    assert tags(yes) == ["matched"]
    for ticket in (by_web, globex, low, no_category, a_test):
        assert tags(ticket) == [], ticket.subject


def test_any_condition(desk, new_ticket, make_rule, automation):
    make_rule(
        "Either",
        Trigger.CREATED,
        match=Match.ANY,
        conditions=[
            {"field": "subject", "op": "contains", "value": "vpn"},
            {"field": "priority", "op": "is", "value": "urgent"},
        ],
        actions=[{"type": "add_tag", "value": "either"}],
    )
    with automation():
        one = new_ticket(subject="VPN")
        other = new_ticket(subject="Server down", priority="urgent")
        neither = new_ticket(subject="Mouse")
    assert (tags(one), tags(other), tags(neither)) == (["either"], ["either"], [])


def test_tags_conditions(desk, new_ticket, make_rule, automation):
    make_rule(
        "VIP",
        conditions=[
            {"field": "tags", "op": "includes", "value": "vip"},
            {"field": "tags", "op": "excludes", "value": "seen"},
        ],
        actions=[{"type": "set_priority", "value": "high"}],
    )
    ticket = new_ticket()
    with automation():
        ticket = update(desk, ticket, tags=["vip"])
    assert ticket.priority_key == "high"  # the object the caller got shows the rule's change


def test_rules_run_in_order_and_disabled_ones_not_at_all(desk, new_ticket, make_rule, automation):
    first = make_rule("First", Trigger.CREATED, actions=[{"type": "set_priority", "value": "low"}])
    make_rule("Second", Trigger.CREATED, actions=[{"type": "set_priority", "value": "high"}])
    off = make_rule("Off", Trigger.CREATED, actions=[{"type": "add_tag", "value": "off"}])
    services.set_rule_active(actor=None, rule=off, active=False)
    with automation():
        ticket = new_ticket()
    assert (ticket.priority_key, tags(ticket)) == ("high", [])
    services.move_rule(actor=None, rule=first, up=False)  # now: Second, First, Off
    with automation():
        ticket = new_ticket()
    assert ticket.priority_key == "low"


# Every action, and the history naming the rule.


def rule_events(ticket, rule):
    return list(TicketEvent.objects.filter(ticket=ticket, note=f"rule:{rule.pk}:{rule.name}"))


def test_set_fields_and_tags(desk, new_ticket, make_rule, automation):
    hardware = CategoryFactory(name="Hardware")
    rule = make_rule(
        "Triage",
        Trigger.CREATED,
        actions=[
            {"type": "set_status", "value": "on_hold"},
            {"type": "set_priority", "value": "high"},
            {"type": "set_category", "value": hardware.pk},
            {"type": "add_tag", "value": "triaged"},
            {"type": "add_tag", "value": "temporary"},
            {"type": "remove_tag", "value": "temporary"},
        ],
    )
    with automation():
        ticket = new_ticket()
    assert (ticket.status, ticket.priority_key, ticket.category, tags(ticket)) == (
        "on_hold",
        "high",
        hardware,
        ["triaged"],
    )
    events = rule_events(ticket, rule)
    assert [e.field for e in events] == ["status", "priority", "category", "tags", "tags", "tags"]
    assert all(e.actor is None and e.kind == EventKind.CHANGED for e in events)


def test_assign_and_unassign(desk, new_ticket, make_rule, automation):
    rule = make_rule(
        "To L1", Trigger.CREATED, actions=[{"type": "assign", "value": desk.l1_agent.pk}]
    )
    with automation():
        ticket = new_ticket()
    assert (ticket.assignee, ticket.status) == (desk.l1_agent, Status.OPEN)
    assert [e.field for e in rule_events(ticket, rule)] == ["assignee", "status"]
    make_rule(
        "Urgent ones wait for a supervisor",
        conditions=[{"field": "priority", "op": "is", "value": "urgent"}],
        actions=[{"type": "unassign"}],
    )
    with automation():
        ticket = update(desk, ticket, priority="urgent")
    assert ticket.assignee is None


def test_move_group_within_a_tier_and_to_another_tier(desk, new_ticket, make_rule, automation):
    desk.l3.tier = 2
    desk.l3.save()
    make_rule(
        "Servers to infrastructure",
        Trigger.CREATED,
        conditions=[{"field": "subject", "op": "contains", "value": "server"}],
        actions=[{"type": "move_group", "value": desk.l3.pk, "text": "Servers are theirs"}],
    )
    rule = make_rule(
        "Desktops to L2",
        Trigger.CREATED,
        conditions=[{"field": "subject", "op": "contains", "value": "desktop"}],
        actions=[{"type": "move_group", "value": desk.l2.pk}],
    )
    with automation():
        server = new_ticket(subject="Server room too warm")
        desktop = new_ticket(subject="Desktop won't boot")
    assert (server.group, desktop.group) == (desk.l3, desk.l2)
    escalation = TicketEvent.objects.get(ticket=server, kind=EventKind.ESCALATED)
    assert (escalation.actor, escalation.note) == (None, "Servers are theirs")
    escalation = TicketEvent.objects.get(ticket=desktop, kind=EventKind.ESCALATED)
    assert escalation.note == "Moved by the rule “Desktops to L2”."
    # Within the tier, a plain move: desktop is at L2, L3 is L2 too now.
    make_rule(
        "Then to L3",
        conditions=[{"field": "tags", "op": "includes", "value": "infra"}],
        actions=[{"type": "move_group", "value": desk.l3.pk}],
    )
    with automation():
        update(desk, desktop, tags=["infra"])
    desktop.refresh_from_db()
    assert desktop.group == desk.l3
    assert TicketEvent.objects.filter(ticket=desktop, field="group", kind="changed").exists()
    assert rule_events(desktop, rule) == []  # the escalation's reason names the rule instead


def test_internal_note(desk, new_ticket, make_rule, automation):
    make_rule(
        "Remind",
        Trigger.CREATED,
        actions=[
            {"type": "add_note", "text": "Call {{ requester.name }} about #{{ ticket.number }}"}
        ],
    )
    with automation():
        ticket = new_ticket()
    note = Comment.objects.get(ticket=ticket)
    assert (note.author, note.is_public) == (None, False)
    assert note.body.startswith(f"Call {desk.alice.display_name} about #{ticket.pk}")
    assert "Automatic note by the rule “Remind”." in note.body


def test_send_a_templated_e_mail(desk, new_ticket, make_rule, automation):
    make_rule(
        "Tell the requester",
        Trigger.CREATED,
        conditions=[{"field": "priority", "op": "is", "value": "urgent"}],
        actions=[
            {
                "type": "send_email",
                "to": "requester",
                "subject": "We are on #{{ ticket.number }}",
                "text": "Hello {{ requester.first_name }},\nwe are on it: {{ ticket.subject }}.",
            },
            {"type": "send_email", "to": "group", "subject": "Urgent", "text": "Look at it."},
        ],
    )
    with automation():
        ticket = new_ticket(priority="urgent", subject="Mail is down")
    to_requester = OutboundMessage.objects.get(kind="automation", recipients=[desk.alice.email])
    assert to_requester.subject == f"We are on #{ticket.pk}"
    assert to_requester.body == f"Hello {desk.alice.first_name},\nwe are on it: Mail is down.\n"
    assert to_requester.ticket == ticket
    assert OutboundMessage.objects.filter(kind="automation", recipients=[desk.l1_agent.email])


def test_close(desk, new_ticket, make_rule, automation):
    rule = make_rule(
        "Spam",
        Trigger.CREATED,
        conditions=[{"field": "subject", "op": "contains", "value": "lottery"}],
        actions=[{"type": "add_tag", "value": "spam"}, {"type": "close"}],
    )
    with automation():
        ticket = new_ticket(subject="You won the lottery")
    assert ticket.status == Status.CLOSED
    statuses = [
        (e.old_value, e.new_value) for e in rule_events(ticket, rule) if e.field == "status"
    ]
    assert statuses == [("new", "resolved"), ("resolved", "closed")]


def test_the_history_page_names_the_rule(client, desk, new_ticket, make_rule, automation):
    make_rule("Urgent VPN", Trigger.CREATED, actions=[{"type": "set_priority", "value": "urgent"}])
    with automation():
        ticket = new_ticket()
    client.force_login(desk.l1_agent)
    page = client.get(reverse("desk:ticket", args=[ticket.pk]) + "?tab=history").content.decode()
    assert "by the rule “Urgent VPN”" in page


def test_a_failing_rule_changes_nothing_and_does_not_stop_the_others(
    desk, new_ticket, make_rule, automation
):
    broken = make_rule(
        "Assign to someone outside the group",
        Trigger.CREATED,
        actions=[
            {"type": "add_tag", "value": "half-done"},
            {"type": "assign", "value": desk.l2_agent.pk},  # not an L1 member: refused
        ],
    )
    make_rule("Then this", Trigger.CREATED, actions=[{"type": "add_tag", "value": "fine"}])
    with automation():
        ticket = new_ticket()
    assert tags(ticket) == ["fine"]
    run = RuleRun.objects.get(rule=broken)
    assert "not a member" in run.error


def test_a_rule_is_not_started_by_a_change_that_is_rolled_back(
    desk, new_ticket, make_rule, automation
):
    make_rule("Tag", actions=[{"type": "add_tag", "value": "seen"}])
    ticket = new_ticket()
    with automation(), pytest.raises(InvalidInput):
        ticket_services.update_ticket(
            actor=desk.l1_agent, ticket=ticket, channel="web", priority="high", group=None
        )
    assert tags(ticket) == [] and not RuleRun.objects.exists()


# The loop guard.


def test_a_rule_triggered_by_its_own_change_runs_once(desk, new_ticket, make_rule, automation):
    rule = make_rule(
        "Note every update", actions=[{"type": "add_note", "text": "Updated."}]
    )  # the note updates the ticket, which would start the rule again
    ticket = new_ticket()
    with automation():
        update(desk, ticket, priority="high")
    assert Comment.objects.filter(ticket=ticket).count() == 1
    assert RuleRun.objects.filter(rule=rule).count() == 1


def test_two_rules_undoing_each_other_stop(desk, new_ticket, make_rule, automation):
    up = make_rule(
        "Low becomes high",
        conditions=[{"field": "priority", "op": "is", "value": "low"}],
        actions=[{"type": "set_priority", "value": "high"}],
    )
    down = make_rule(
        "High becomes low",
        conditions=[{"field": "priority", "op": "is", "value": "high"}],
        actions=[{"type": "set_priority", "value": "low"}],
    )
    ticket = new_ticket()
    with automation():
        ticket = update(desk, ticket, priority="low")
    assert RuleRun.objects.filter(rule=up).count() == 1
    assert RuleRun.objects.filter(rule=down).count() == 1
    assert ticket.priority_key == "low"


def test_rules_started_by_rules_stop_at_the_depth_limit(desk, new_ticket, make_rule, automation):
    """Each rule reacts to the tag the previous one adds; listed last-first so that every
    step needs a new level: a → b (level 1) → c (2) → d (3), and no further."""
    assert engine.MAX_DEPTH == 3
    steps = ["a", "b", "c", "d", "e", "f"]
    rules = {}
    for before, after in reversed(list(itertools.pairwise(steps))):
        rules[after] = make_rule(
            f"{before} then {after}",
            conditions=[{"field": "tags", "op": "includes", "value": before}],
            actions=[{"type": "add_tag", "value": after}],
        )
    ticket = new_ticket()
    with automation():
        update(desk, ticket, tags=["a"])
    assert tags(ticket) == ["a", "b", "c", "d"]
    depths = {r.rule.name: r.depth for r in RuleRun.objects.select_related("rule")}
    assert depths == {"a then b": 1, "b then c": 2, "c then d": 3}


def test_the_depth_is_known_while_rules_run(desk, new_ticket, make_rule, automation):
    seen = []

    def spy(sender, ticket, fields, **kwargs):
        seen.append(engine.current_depth())

    from firstline.tickets.signals import ticket_saved

    make_rule("Tag", actions=[{"type": "add_tag", "value": "x"}])
    ticket = new_ticket()
    ticket_saved.connect(spy)
    try:
        with automation():
            update(desk, ticket, priority="high")
    finally:
        ticket_saved.disconnect(spy)
    assert seen == [0, 1]  # the agent's change, then the rule's
    assert engine.current_depth() == 0


# Time-based rules.

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_pending_for_five_days(desk, new_ticket, make_rule):
    rule = make_rule(
        "Nudge after 5 days pending",
        Trigger.TIME,
        conditions=[
            {"field": "status", "op": "is", "value": "pending"},
            {"field": "days_in_status", "op": "at_least", "value": 5},
        ],
        actions=[
            {"type": "add_tag", "value": "nudged"},
            {
                "type": "send_email",
                "to": "requester",
                "subject": "Still there?",
                "text": "Hello {{ requester.first_name }}, we are waiting for your answer.",
            },
        ],
    )
    with time_machine.travel(T0, tick=False):
        ticket = new_ticket()
        update(desk, ticket, status="pending")
        other = new_ticket(subject="Open, not pending")
    with time_machine.travel(T0 + timedelta(days=4, hours=23), tick=False):
        tasks.run_time_rules.enqueue()
    assert tags(ticket) == []
    with time_machine.travel(T0 + timedelta(days=5, minutes=1), tick=False):
        tasks.run_time_rules.enqueue()
        tasks.run_time_rules.enqueue()  # once per stay in the status
    assert (tags(ticket), tags(other)) == (["nudged"], [])
    assert OutboundMessage.objects.filter(kind="automation").count() == 1
    assert RuleRun.objects.filter(rule=rule).count() == 1
    event = TicketEvent.objects.get(ticket=ticket, field="tags")
    assert (event.actor, event.note) == (None, f"rule:{rule.pk}:{rule.name}")
    # The requester answers, the agent asks again: a new wait, a new nudge after 5 days.
    with time_machine.travel(T0 + timedelta(days=6), tick=False):
        ticket_services.add_comment(actor=desk.alice, ticket=ticket, body="Here", channel="web")
        update(desk, ticket, status="pending")
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        tasks.run_time_rules.enqueue()
    assert RuleRun.objects.filter(rule=rule).count() == 1
    with time_machine.travel(T0 + timedelta(days=11, minutes=1), tick=False):
        tasks.run_time_rules.enqueue()
    assert RuleRun.objects.filter(rule=rule).count() == 2
    assert OutboundMessage.objects.filter(kind="automation").count() == 2


def test_days_since_update_and_created(desk, new_ticket, make_rule):
    make_rule(
        "Stale urgent",
        Trigger.TIME,
        conditions=[
            {"field": "days_since_update", "op": "at_least", "value": 1.5},
            {"field": "days_since_created", "op": "less_than", "value": 30},
            {"field": "priority", "op": "is", "value": "urgent"},
        ],
        actions=[{"type": "add_tag", "value": "stale"}],
    )
    with time_machine.travel(T0, tick=False):
        urgent = new_ticket(priority="urgent")
        normal = new_ticket()
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        tasks.run_time_rules.enqueue()
    assert tags(urgent) == []
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        tasks.run_time_rules.enqueue()
    assert (tags(urgent), tags(normal)) == (["stale"], [])
    with time_machine.travel(T0 + timedelta(days=40), tick=False):
        old = new_ticket(priority="urgent")
    with time_machine.travel(T0 + timedelta(days=80), tick=False):
        tasks.run_time_rules.enqueue()
    assert tags(old) == []  # created more than 30 days ago


def test_time_rules_leave_closed_tickets_alone(desk, new_ticket, make_rule):
    make_rule(
        "Old",
        Trigger.TIME,
        conditions=[{"field": "days_since_created", "op": "at_least", "value": 1}],
        actions=[{"type": "add_tag", "value": "old"}],
    )
    with time_machine.travel(T0, tick=False):
        ticket = new_ticket()
        update(desk, ticket, status="resolved")
        update(desk, ticket, status="closed")
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        tasks.run_time_rules.enqueue()
    assert tags(ticket) == [] and not RuleRun.objects.exists()


# SLA triggers (the SLA app sends automation.signals.sla_event).


def test_sla_warning_and_breach_start_their_rules(desk, new_ticket, make_rule, automation):
    make_rule("Warned", Trigger.SLA_WARNING, actions=[{"type": "set_priority", "value": "high"}])
    make_rule(
        "Breached",
        Trigger.SLA_BREACH,
        actions=[{"type": "move_group", "value": desk.l2.pk, "text": "SLA breached"}],
    )
    ticket = new_ticket()
    with automation():
        sla_event.send(sender=None, ticket=ticket, kind="warning", target="resolution")
    ticket.refresh_from_db()
    assert (ticket.priority_key, ticket.group) == ("high", desk.l1)
    with automation():
        sla_event.send(sender=None, ticket=ticket, kind="breach")
        sla_event.send(sender=None, ticket=ticket, kind="nonsense")
    ticket.refresh_from_db()
    assert ticket.group == desk.l2


def test_an_sla_event_outside_a_transaction_runs_the_rules_at_once(
    desk, new_ticket, make_rule, automation
):
    make_rule("Warned", Trigger.SLA_WARNING, actions=[{"type": "add_tag", "value": "warned"}])
    ticket = new_ticket()
    engine.process([engine.Event(ticket.pk, Trigger.SLA_WARNING)])
    assert tags(ticket) == ["warned"]


# What a rule may say.


@pytest.mark.parametrize(
    ("trigger", "conditions", "actions", "key"),
    [
        ("created", [{"field": "nope", "op": "is", "value": 1}], [{"type": "close"}], "conditions"),
        (
            "created",
            [{"field": "status", "op": "at_least", "value": "new"}],
            [{"type": "close"}],
            "conditions",
        ),
        (
            "created",
            [{"field": "status", "op": "is", "value": "bogus"}],
            [{"type": "close"}],
            "conditions",
        ),
        (
            "created",
            [{"field": "group", "op": "is", "value": 999999}],
            [{"type": "close"}],
            "conditions",
        ),
        (
            "created",
            [{"field": "days_in_status", "op": "at_least", "value": -1}],
            [{"type": "close"}],
            "conditions",
        ),
        (
            "created",
            [{"field": "changed", "op": "includes", "value": "status"}],
            [{"type": "close"}],
            "conditions",
        ),
        (
            "time",
            [{"field": "status", "op": "is", "value": "open"}],
            [{"type": "close"}],
            "conditions",
        ),
        ("created", [], [], "actions"),
        ("created", [], [{"type": "explode"}], "actions"),
        ("created", [], [{"type": "set_status", "value": "closed"}], "actions"),
        ("created", [], [{"type": "assign", "value": 999999}], "actions"),
        ("created", [], [{"type": "add_note", "text": "{{ requester.password }}"}], "actions"),
        (
            "created",
            [],
            [{"type": "send_email", "to": "requester", "subject": "x", "text": ""}],
            "actions",
        ),
        (
            "created",
            [],
            [{"type": "send_email", "to": "everyone", "subject": "x", "text": "y"}],
            "actions",
        ),
        ("nope", [], [{"type": "close"}], "trigger"),
    ],
)
def test_invalid_rules_are_refused(desk, trigger, conditions, actions, key):
    with pytest.raises(InvalidInput) as refused:
        services.create_rule(
            actor=desk.supervisor,
            name="Bad",
            trigger=trigger,
            conditions=conditions,
            actions=actions,
        )
    assert key in refused.value.errors


def test_only_supervisors_and_admins_change_rules(desk, make_rule):
    with pytest.raises(NotAllowed):
        services.create_rule(
            actor=desk.l1_agent,
            name="x",
            trigger="created",
            conditions=[],
            actions=[{"type": "close"}],
        )
    rule = make_rule(actions=[{"type": "close"}])
    for call in (
        lambda: services.set_rule_active(actor=desk.alice, rule=rule, active=False),
        lambda: services.delete_rule(actor=desk.l1_agent, rule=rule),
        lambda: services.move_rule(actor=desk.l1_agent, rule=rule, up=True),
    ):
        with pytest.raises(NotAllowed):
            call()


def test_on_a_closed_ticket_rules_only_write_notes_and_e_mails(
    desk, new_ticket, make_rule, automation
):
    rule = make_rule(
        "After closing",
        conditions=[{"field": "status", "op": "is", "value": "closed"}],
        actions=[
            {"type": "add_tag", "value": "late"},
            {"type": "send_email", "to": "requester", "subject": "Closed", "text": "Bye"},
        ],
    )
    ticket = new_ticket()
    update(desk, ticket, status="resolved")
    with automation():
        update(desk, ticket, status="closed")
    assert tags(ticket) == []
    assert OutboundMessage.objects.filter(kind="automation", subject="Closed").exists()
    assert RuleRun.objects.get(rule=rule).error == ""
