"""Each ticket's SLA clock, kept from the ticket signals: due times across weekends, lunch
breaks, holidays and DST, pauses, re-targeting, and which policy applies."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import translation

from firstline.core.errors import Conflict, InvalidInput, NotAllowed
from firstline.sla import selectors, services
from firstline.sla.models import CalendarDay, Policy
from firstline.sla.services import TargetMinutes
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel, Priority

from ..factories import CategoryFactory
from .conftest import BERLIN, STANDARD, has_sla, sh, sla_of


def agent_reply(desk, ticket, body="Looking into it."):
    return ticket_services.add_comment(
        actor=desk.l1_agent, ticket=ticket, body=body, channel=Channel.WEB
    )


def requester_reply(ticket, body="Here is the log."):
    return ticket_services.add_comment(
        actor=ticket.requester, ticket=ticket, body=body, channel=Channel.EMAIL
    )


def set_status(desk, ticket, status):
    return ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel=Channel.WEB, status=status
    )


# --- Due times ------------------------------------------------------------------------------


def test_due_times_skip_the_weekend_and_the_lunch_break(standard, new_ticket, clock):
    clock.to(sh(2026, 3, 6, 17, 30))  # Friday 17:30 in Shanghai
    ticket = new_ticket()
    sla = sla_of(ticket)
    assert sla.policy == standard
    # 60 min: 30 on Friday, 30 on Monday morning.
    assert sla.first_response_due_at == sh(2026, 3, 9, 9, 30)
    assert sla.first_response_warn_at == sh(2026, 3, 9, 9, 15)  # 75 % of 60 min
    # 480 min: 0.5 h Friday, 09-12 and 13:00-17:30 Monday (the lunch hour does not count).
    assert sla.resolution_due_at == sh(2026, 3, 9, 17, 30)
    assert sla.next_response_due_at is None  # no requester reply yet
    assert sla.next_due_at == sla.first_response_due_at
    assert sla.next_check_at == sla.first_response_warn_at
    assert sla.first_response_due_at.tzinfo is not None


def test_the_explanation_says_why_the_due_time_is_what_it_is(standard, new_ticket, clock):
    clock.to(sh(2026, 3, 6, 17, 30))
    ticket = new_ticket()
    timeline = selectors.timeline_for(ticket)
    first, resolution = timeline.targets
    assert first.target == "first_response" and first.state == "running"
    assert first.explanation == (
        "due Mon 9 Mar 09:30 (Asia/Shanghai): calendar Shanghai office, 1 business hour, "
        "2 non-working days skipped"
    )
    assert resolution.due_at == sla_of(ticket).resolution_due_at
    clock.to(sh(2026, 3, 9, 11, 0))  # Monday 11:00: 0.5 h + 2 h of business time used
    timeline = selectors.timeline_for(ticket)
    resolution = timeline.targets[1]
    assert resolution.spent == timedelta(hours=2.5)
    assert resolution.remaining == timedelta(hours=5.5)
    assert timeline.targets[0].state == "breached"  # first response was due at 09:30


def test_the_explanation_speaks_the_readers_language(standard, new_ticket, clock):
    clock.to(sh(2026, 3, 6, 17, 30))
    ticket = new_ticket()
    with translation.override("zh-hans"):
        first = selectors.timeline_for(ticket).targets[0]
    assert first.explanation.startswith("截止")
    assert "日历 Shanghai office" in first.explanation
    assert "1 个工作小时" in first.explanation
    assert "跳过 2 个非工作日" in first.explanation


def test_a_one_off_closure_and_imported_holidays_push_the_due_time(
    office, standard, new_ticket, clock
):
    services.add_calendar_day(actor=None, calendar=office, day=date(2026, 3, 9), name="Office move")
    clock.to(sh(2026, 3, 6, 17, 30))
    ticket = new_ticket()
    assert sla_of(ticket).first_response_due_at == sh(2026, 3, 10, 9, 30)
    sentence = selectors.timeline_for(ticket).targets[0].explanation
    assert "9 Mar (Office move) skipped" in sentence

    closed, opened = services.import_holidays(
        actor=None, calendar=office, country="cn", first_year=2026, last_year=2026
    )
    assert closed > 20 and opened == 6  # the 2026 make-up working days (调休)
    assert CalendarDay.objects.get(calendar=office, date=date(2026, 10, 10)).kind == "open"
    clock.to(sh(2026, 9, 30, 17, 0))  # the day before the National Day week
    ticket = new_ticket()
    # 1 h on 30 Sep, then nothing until Thursday 8 Oct (1-7 Oct are holidays).
    assert sla_of(ticket).resolution_due_at == sh(2026, 10, 8, 17, 0)
    assert (
        "5 closed days skipped (1 Oct to 7 Oct), 2 non-working days skipped"
        in selectors.timeline_for(ticket).targets[1].explanation
    )


def test_a_make_up_working_day_counts(office, standard, new_ticket, clock):
    services.import_holidays(
        actor=None, calendar=office, country="CN", first_year=2026, last_year=2026
    )
    clock.to(sh(2026, 10, 9, 17, 30))  # Friday; Saturday 10 Oct is worked in China
    ticket = new_ticket()
    assert sla_of(ticket).first_response_due_at == sh(2026, 10, 10, 9, 30)


def test_due_times_across_a_daylight_saving_change(db, clock, new_ticket):
    berlin = services.create_calendar(
        actor=None,
        name="Berlin",
        time_zone="Europe/Berlin",
        hours=dict.fromkeys(range(5), "09:00-17:00"),
    )
    round_the_clock = services.create_calendar(
        actor=None, name="Berlin 24/7", time_zone="Europe/Berlin", always_open=True
    )
    office = services.create_policy(
        actor=None,
        name="Office",
        calendar=berlin,
        targets={Priority.NORMAL: TargetMinutes(120, 120, 480)},
        channels=["web"],
    )
    services.create_policy(
        actor=None,
        name="Always",
        calendar=round_the_clock,
        targets={Priority.NORMAL: TargetMinutes(60, 60, 24 * 60)},
    )
    # Friday 27 March 16:00 CET; clocks go forward on Sunday 29 March.
    clock.to(datetime(2026, 3, 27, 16, 0, tzinfo=BERLIN))
    by_office = new_ticket()
    assert sla_of(by_office).policy == office
    # 1 h on Friday, 1 h on Monday: 10:00 CEST, 08:00 UTC (it was 15:00 UTC on Friday).
    assert sla_of(by_office).first_response_due_at == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    # 8 h: 1 h Friday + Monday 09:00-16:00 CEST.
    assert sla_of(by_office).resolution_due_at == datetime(2026, 3, 30, 16, 0, tzinfo=BERLIN)

    clock.to(datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN))  # Saturday noon CET
    by_phone = new_ticket(channel=Channel.PHONE)
    # 24 real hours on the 24/7 calendar: Sunday 13:00 CEST, since Sunday has 23 hours.
    due = sla_of(by_phone).resolution_due_at
    assert due == datetime(2026, 3, 29, 13, 0, tzinfo=BERLIN)
    assert due - datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN) == timedelta(hours=24)


# --- Which policy ---------------------------------------------------------------------------


def test_no_policy_means_no_sla_and_nothing_breaks(desk, db, new_ticket, clock):
    ticket = new_ticket()
    assert not has_sla(ticket)
    agent_reply(desk, ticket)
    set_status(desk, ticket, "pending")
    requester_reply(ticket)
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel=Channel.WEB, priority="urgent"
    )
    assert not has_sla(ticket)
    assert selectors.timeline_for(ticket) is None
    assert services.sweep().checked == 0


def test_policies_are_tried_in_order_and_the_first_match_applies(
    desk, office, standard, new_ticket, clock
):
    hardware = CategoryFactory(name="Hardware")
    printers = CategoryFactory(name="Printer", parent=hardware, full_name="Hardware > Printer")
    vip = services.create_policy(
        actor=None,
        name="Acme hardware",
        calendar=office,
        targets={Priority.NORMAL: TargetMinutes(10, 20, 30)},
        organizations=[desk.acme],
        categories=[hardware],
    )
    assert list(Policy.objects.values_list("name", flat=True)) == ["Standard", "Acme hardware"]
    acme_printer = new_ticket(requester=desk.alice, category=printers)
    assert sla_of(acme_printer).policy == standard  # Standard matches everything, and is first

    services.move_policy(actor=None, policy=vip, up=True)
    acme_printer = new_ticket(requester=desk.alice, category=printers)
    globex_printer = new_ticket(requester=desk.carol, category=printers)
    acme_other = new_ticket(requester=desk.alice)
    assert sla_of(acme_printer).policy == vip  # a subcategory of the condition's category
    assert sla_of(acme_printer).first_response_minutes == 10
    assert sla_of(globex_printer).policy == standard
    assert sla_of(acme_other).policy == standard


@pytest.mark.parametrize(
    ("condition", "matching", "other"),
    [
        ("priorities", {"priority": "high"}, {"priority": "normal"}),
        ("channels", {"channel": Channel.EMAIL}, {"channel": Channel.WEB}),
    ],
)
def test_priority_and_channel_conditions(
    desk, office, new_ticket, clock, condition, matching, other
):
    values = [Priority.HIGH] if condition == "priorities" else ["email"]
    services.create_policy(
        actor=None, name="Only some", calendar=office, targets=STANDARD, **{condition: values}
    )
    assert has_sla(new_ticket(**matching))
    assert not has_sla(new_ticket(**other))


def test_a_group_condition_follows_the_ticket_to_another_group(desk, office, new_ticket, clock):
    services.create_policy(
        actor=None, name="Second line", calendar=office, targets=STANDARD, groups=[desk.l2]
    )
    ticket = new_ticket()
    assert ticket.group == desk.l1 and not has_sla(ticket)
    ticket_services.escalate_ticket(
        actor=desk.l1_agent, ticket=ticket, reason="Needs L2", channel=Channel.WEB
    )
    assert sla_of(ticket).policy.name == "Second line"
    assert sla_of(ticket).started_at == ticket.created_at  # the clock counts from creation


def test_an_inactive_policy_is_skipped(desk, office, standard, new_ticket, clock):
    services.update_policy(actor=None, policy=standard, is_active=False)
    assert not has_sla(new_ticket())


def test_a_contract_names_the_policy_and_the_calendar(desk, office, standard, new_ticket, clock):
    always = services.create_calendar(
        actor=None, name="Round the clock", time_zone="Asia/Shanghai", always_open=True
    )
    gold = services.create_policy(
        actor=None,
        name="Gold",
        calendar=office,
        targets={Priority.NORMAL: TargetMinutes(30, 60, 240)},
        is_active=True,
        channels=["chat"],  # the general rules would never pick it for a web ticket
    )
    services.save_contract(actor=None, organization=desk.globex, policy=gold, calendar=always)
    clock.to(sh(2026, 3, 7, 10, 0))  # Saturday
    globex = new_ticket(requester=desk.carol)
    acme = new_ticket(requester=desk.alice)
    assert (sla_of(globex).policy, sla_of(globex).calendar) == (gold, always)
    assert sla_of(globex).first_response_due_at == sh(2026, 3, 7, 10, 30)  # weekends count
    assert (sla_of(acme).policy, sla_of(acme).calendar.name) == (standard, "Shanghai office")


def test_a_contract_out_of_force_is_ignored(desk, office, standard, new_ticket, clock):
    gold = services.create_policy(actor=None, name="Gold", calendar=office, targets=STANDARD)
    services.save_contract(
        actor=None, organization=desk.acme, policy=gold, ends_on=date(2026, 2, 28)
    )
    assert sla_of(new_ticket()).policy == standard


# --- Pauses, replies, re-targeting ----------------------------------------------------------


def test_pending_pauses_the_clock_and_the_requester_reply_resumes_it(
    desk, standard, new_ticket, clock
):
    clock.to(sh(2026, 3, 2, 9, 0))  # Monday 09:00
    ticket = new_ticket()
    assert sla_of(ticket).resolution_due_at == sh(2026, 3, 2, 18, 0)
    clock.to(sh(2026, 3, 2, 9, 20))
    agent_reply(desk, ticket, "Which printer?")
    assert sla_of(ticket).first_response_met_at == sh(2026, 3, 2, 9, 20)
    clock.to(sh(2026, 3, 2, 10, 0))  # 1 h used
    set_status(desk, ticket, "pending")
    sla = sla_of(ticket)
    assert sla.paused_since == sh(2026, 3, 2, 10, 0)
    assert sla.resolution_due_at is None and sla.next_check_at is None  # no breach while paused
    timeline = selectors.timeline_for(ticket)
    assert timeline.state == "paused"
    assert "not due while paused since Mon 2 Mar 10:00" in timeline.targets[-1].explanation

    clock.to(sh(2026, 3, 3, 16, 0))  # Tuesday 16:00: the requester answers
    requester_reply(ticket)
    ticket.refresh_from_db()
    assert ticket.status == "open"
    sla = sla_of(ticket)
    assert sla.paused_since is None
    assert sla.pauses == [["2026-03-02T02:00:00+00:00", "2026-03-03T08:00:00+00:00", "pending"]]
    # 7 h left from Tuesday 16:00: 2 h Tuesday, then Wednesday 09-12, 13-15.
    assert sla.resolution_due_at == sh(2026, 3, 4, 15, 0)
    # The reply starts the next-response clock: 120 min from Tuesday 16:00.
    assert sla.next_response_cycle == 1
    assert sla.next_response_started_at == sh(2026, 3, 3, 16, 0)
    assert sla.next_response_due_at == sh(2026, 3, 3, 18, 0)
    explanation = selectors.timeline_for(ticket).targets[-1].explanation
    assert "paused 30 h waiting on the requester" in explanation

    clock.to(sh(2026, 3, 3, 17, 0))
    agent_reply(desk, ticket)
    assert sla_of(ticket).next_response_met_at == sh(2026, 3, 3, 17, 0)
    states = {line.target: line.state for line in selectors.timeline_for(ticket).targets}
    assert states == {"first_response": "met", "next_response": "met", "resolution": "running"}


def test_on_hold_pauses_only_when_the_policy_says_so(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    set_status(desk, ticket, "on_hold")
    assert sla_of(ticket).resolution_due_at is None
    services.update_policy(actor=None, policy=standard, pause_when_on_hold=False)
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel=Channel.WEB, priority="high"
    )
    # Re-targeted under the changed policy: on hold no longer stops the clock.
    assert sla_of(ticket).resolution_due_at == sh(2026, 3, 2, 14, 0)  # 240 min, lunch skipped
    assert selectors.timeline_for(ticket).pauses == []


def test_a_requester_reply_before_the_first_response_starts_no_next_response(
    standard, new_ticket, clock
):
    ticket = new_ticket()
    requester_reply(ticket, "Any news?")
    sla = sla_of(ticket)
    assert sla.next_response_cycle == 0 and sla.next_response_due_at is None


def test_a_second_requester_reply_does_not_restart_a_running_next_response(
    desk, standard, new_ticket, clock
):
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    agent_reply(desk, ticket)
    clock.to(sh(2026, 3, 2, 10, 0))
    requester_reply(ticket)
    clock.to(sh(2026, 3, 2, 10, 30))
    requester_reply(ticket, "Also: it smokes.")
    sla = sla_of(ticket)
    assert sla.next_response_cycle == 1
    assert sla.next_response_due_at == sh(2026, 3, 2, 12, 0)  # from the first reply, 10:00


def test_changing_the_priority_re_targets_the_ticket(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    assert sla_of(ticket).resolution_due_at == sh(2026, 3, 2, 18, 0)
    clock.to(sh(2026, 3, 2, 10, 0))
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel=Channel.WEB, priority="urgent"
    )
    sla = sla_of(ticket)
    assert sla.priority == Priority.URGENT
    # Still counted from creation: 120 min from 09:00.
    assert (sla.first_response_minutes, sla.resolution_minutes) == (15, 120)
    assert sla.resolution_due_at == sh(2026, 3, 2, 11, 0)
    assert sla.first_response_due_at == sh(2026, 3, 2, 9, 15)


def test_a_ticket_that_stops_matching_loses_its_sla(desk, office, new_ticket, clock):
    services.create_policy(
        actor=None,
        name="Urgent only",
        calendar=office,
        targets=STANDARD,
        priorities=[Priority.URGENT],
    )
    ticket = new_ticket(priority="urgent")
    assert has_sla(ticket)
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel=Channel.WEB, priority="low"
    )
    assert not has_sla(ticket)


def test_a_ticket_gaining_an_sla_late_keeps_its_earlier_pauses(desk, office, new_ticket, clock):
    hardware = CategoryFactory(name="Hardware")
    services.create_policy(
        actor=None, name="Hardware", calendar=office, targets=STANDARD, categories=[hardware]
    )
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    assert not has_sla(ticket)
    clock.to(sh(2026, 3, 2, 10, 0))
    set_status(desk, ticket, "pending")
    clock.to(sh(2026, 3, 2, 14, 0))
    set_status(desk, ticket, "open")
    clock.to(sh(2026, 3, 2, 15, 0))
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel=Channel.WEB, category=hardware
    )
    sla = sla_of(ticket)
    assert sla.started_at == sh(2026, 3, 2, 9, 0)
    assert [p[2] for p in sla.pauses] == ["pending"]
    # 8 h from 09:00, minus the pending 10:00-14:00 (3 business hours): Tuesday 12:00.
    assert sla.resolution_due_at == sh(2026, 3, 3, 12, 0)


def test_resolving_meets_the_resolution_and_reopening_resumes_it(desk, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    agent_reply(desk, ticket)
    clock.to(sh(2026, 3, 2, 11, 0))
    set_status(desk, ticket, "resolved")
    sla = sla_of(ticket)
    assert sla.resolution_met_at == sh(2026, 3, 2, 11, 0)
    assert sla.next_check_at is None
    assert selectors.timeline_for(ticket).state == "met"

    clock.to(sh(2026, 3, 3, 9, 0))  # the requester says it is not fixed
    requester_reply(ticket, "Still broken.")
    sla = sla_of(ticket)
    assert sla.resolution_met_at is None
    # 2 h were used; the resolved night does not count: 6 h from Tuesday 09:00.
    assert sla.resolution_due_at == sh(2026, 3, 3, 16, 0)


def test_a_configuration_change_re_targets_open_tickets(desk, office, standard, new_ticket, clock):
    clock.to(sh(2026, 3, 2, 9, 0))
    ticket = new_ticket()
    closed = new_ticket()
    set_status(desk, closed, "resolved")
    set_status(desk, closed, "closed")
    before = sla_of(closed).resolution_due_at
    services.update_calendar(
        actor=None,
        calendar=office,
        name=office.name,
        time_zone=office.time_zone,
        always_open=False,
        hours=dict.fromkeys(range(5), "09:00-13:00"),
    )
    assert services.retarget_open_tickets() == 1  # closed tickets keep their record
    assert sla_of(ticket).resolution_due_at == sh(2026, 3, 3, 13, 0)
    assert sla_of(closed).resolution_due_at == before

    services.update_policy(actor=None, policy=standard, priorities=[Priority.URGENT])
    services.retarget_open_tickets()
    assert not has_sla(ticket)


def test_configuration_changes_enqueue_the_re_targeting(office, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.create_policy(actor=None, name="P", calendar=office, targets=STANDARD)
    assert len(callbacks) == 1


# --- Configuration checks -------------------------------------------------------------------


def test_only_supervisors_and_admins_change_the_configuration(desk, office):
    with pytest.raises(NotAllowed):
        services.create_calendar(
            actor=desk.l1_agent, name="X", time_zone="UTC", hours={0: "09:00-17:00"}
        )
    with pytest.raises(NotAllowed):
        services.update_policy(actor=desk.l1_agent, policy=Policy(), name="X")


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        ({0: "9 to 5"}, "mon"),
        ({2: "09:00-12:00, 11:00-13:00"}, "wed"),
        ({}, "mon"),  # no working hours at all
    ],
)
def test_bad_working_hours_are_refused(db, hours, field):
    with pytest.raises(InvalidInput) as refused:
        services.create_calendar(actor=None, name="Bad", time_zone="UTC", hours=hours)
    assert field in refused.value.errors


def test_calendar_names_time_zones_and_duplicate_dates(office):
    with pytest.raises(Conflict):
        services.create_calendar(
            actor=None, name="shanghai OFFICE", time_zone="UTC", always_open=True
        )
    with pytest.raises(InvalidInput) as refused:
        services.create_calendar(
            actor=None, name="Mars", time_zone="Mars/Olympus", always_open=True
        )
    assert "time_zone" in refused.value.errors
    services.add_calendar_day(actor=None, calendar=office, day=date(2026, 5, 4), name="Bridge")
    with pytest.raises(Conflict):
        services.add_calendar_day(actor=None, calendar=office, day=date(2026, 5, 4))
    with pytest.raises(InvalidInput):
        services.import_holidays(
            actor=None, calendar=office, country="XX", first_year=2026, last_year=2026
        )
    with pytest.raises(InvalidInput):
        services.import_holidays(
            actor=None, calendar=office, country="CN", first_year=2026, last_year=2040
        )
