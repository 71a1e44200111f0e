"""Automatic assignment: round-robin, least-loaded, availability and skills."""

import pytest
from django.urls import reverse

from firstline.automation import services
from firstline.automation.models import RoutingMethod
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel, EventKind, Status, TicketEvent

from ..factories import AgentFactory, CategoryFactory, RequesterFactory

pytestmark = pytest.mark.django_db


def route(group, method, use_skills=False):
    return services.update_routing(actor=None, group=group, method=method, use_skills=use_skills)


def open_tickets(new_ticket, automation, n, **fields):
    tickets = []
    for i in range(n):
        with automation():
            tickets.append(new_ticket(subject=f"Request {i}", **fields))
    return tickets


def test_round_robin_cycles_through_the_members(desk, l1_team, new_ticket, automation):
    route(desk.l1, RoutingMethod.ROUND_ROBIN)
    tickets = open_tickets(new_ticket, automation, 4)
    # The caller's ticket object shows the assignment: no reload needed.
    assert [t.assignee for t in tickets] == [*l1_team, l1_team[0]]
    assert all(t.status == Status.OPEN for t in tickets)


def test_round_robin_skips_agents_who_are_away(desk, l1_team, new_ticket, automation):
    route(desk.l1, RoutingMethod.ROUND_ROBIN)
    first, second, third = l1_team
    services.set_away(actor=second, user=second, away=True)
    tickets = open_tickets(new_ticket, automation, 4)
    assert [t.assignee for t in tickets] == [first, third, first, third]
    services.set_away(actor=second, user=second, away=False)
    assert [t.assignee for t in open_tickets(new_ticket, automation, 2)] == [first, second]


def test_round_robin_goes_on_after_the_last_agent_even_when_they_left(
    desk, l1_team, new_ticket, automation
):
    route(desk.l1, RoutingMethod.ROUND_ROBIN)
    first, second, third = l1_team
    open_tickets(new_ticket, automation, 2)  # first, second
    services.set_away(actor=None, user=second, away=True)
    assert [t.assignee for t in open_tickets(new_ticket, automation, 2)] == [third, first]


def busy(desk, agent, status=None):
    ticket = ticket_services.create_ticket(
        actor=desk.supervisor, requester=desk.alice, subject="busy", assignee=agent
    )
    if status:
        ticket_services.update_ticket(actor=agent, ticket=ticket, channel="web", status=status)


def test_least_loaded_picks_the_agent_with_the_fewest_open_tickets(
    desk, l1_team, new_ticket, automation
):
    first, second, third = l1_team
    for agent, count in ((first, 2), (second, 1), (third, 3)):
        for _ in range(count):
            busy(desk, agent)
    busy(desk, second, status="resolved")  # resolved work does not count
    busy(desk, second, status="resolved")
    route(desk.l1, RoutingMethod.LEAST_LOADED)
    tickets = open_tickets(new_ticket, automation, 3)
    # second has 1, first 2, third 3; then second and first have 2: the first in order wins.
    assert [t.assignee for t in tickets] == [second, first, second]


def test_least_loaded_skips_away_agents(desk, l1_team, new_ticket, automation):
    first, second, third = l1_team
    busy(desk, first)
    busy(desk, third)
    services.set_away(actor=second, user=second, away=True)
    route(desk.l1, RoutingMethod.LEAST_LOADED)
    assert [t.assignee for t in open_tickets(new_ticket, automation, 2)] == [first, third]


def test_skills_limit_the_candidates_by_category(desk, l1_team, new_ticket, automation):
    first, second, third = l1_team
    hardware = CategoryFactory(name="Hardware")
    printer = CategoryFactory(name="Printer", parent=hardware, full_name="Hardware > Printer")
    software = CategoryFactory(name="Software")
    services.update_skills(actor=None, user=first, categories=[software], languages=[])
    services.update_skills(actor=None, user=second, categories=[hardware], languages=[])
    services.update_skills(actor=None, user=third, categories=[software], languages=[])
    route(desk.l1, RoutingMethod.ROUND_ROBIN, use_skills=True)
    printers = open_tickets(new_ticket, automation, 2, category=printer)
    assert [t.assignee for t in printers] == [second, second]  # a category includes those below
    assert [t.assignee for t in open_tickets(new_ticket, automation, 2, category=software)] == [
        third,
        first,
    ]
    # Without a category, anyone.
    assert open_tickets(new_ticket, automation, 1)[0].assignee == second


def test_skills_limit_the_candidates_by_the_requesters_language(
    desk, l1_team, new_ticket, automation
):
    first, second, third = l1_team
    services.update_skills(actor=None, user=first, categories=[], languages=["en"])
    services.update_skills(actor=None, user=second, categories=[], languages=["zh-hans"])
    route(desk.l1, RoutingMethod.ROUND_ROBIN, use_skills=True)
    chinese = RequesterFactory(organization=desk.acme, language="zh-hans")
    tickets = [open_tickets(new_ticket, automation, 1, requester=chinese)[0] for _ in range(3)]
    assert [t.assignee for t in tickets] == [second, third, second]  # third: no languages set
    english = open_tickets(new_ticket, automation, 2)
    assert [t.assignee for t in english] == [third, first]


def test_skills_are_ignored_unless_the_group_uses_them(desk, l1_team, new_ticket, automation):
    first = l1_team[0]
    software = CategoryFactory(name="Software")
    services.update_skills(actor=None, user=first, categories=[software], languages=[])
    route(desk.l1, RoutingMethod.ROUND_ROBIN)
    hardware = CategoryFactory(name="Hardware")
    assert open_tickets(new_ticket, automation, 1, category=hardware)[0].assignee == first


def test_nobody_fitting_leaves_the_ticket_unassigned(desk, l1_team, new_ticket, automation):
    for agent in l1_team:
        services.set_away(actor=agent, user=agent, away=True)
    route(desk.l1, RoutingMethod.ROUND_ROBIN)
    ticket = open_tickets(new_ticket, automation, 1)[0]
    assert ticket.assignee is None and ticket.status == Status.NEW


def test_manual_groups_and_tickets_with_an_assignee_are_left_alone(
    desk, l1_team, new_ticket, automation
):
    assert open_tickets(new_ticket, automation, 1)[0].assignee is None  # no routing: manual
    route(desk.l1, RoutingMethod.MANUAL)
    assert open_tickets(new_ticket, automation, 1)[0].assignee is None
    route(desk.l1, RoutingMethod.ROUND_ROBIN)
    with automation():
        ticket = ticket_services.create_ticket(
            actor=desk.l1_agent, requester=desk.alice, subject="x", assignee=l1_team[2]
        )
    assert ticket.assignee == l1_team[2]


def test_escalation_to_a_routed_group_assigns_there(desk, new_ticket, automation):
    route(desk.l2, RoutingMethod.ROUND_ROBIN)
    ticket = new_ticket()
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel="web", assignee=desk.l1_agent
    )
    with automation():
        ticket = ticket_services.escalate_ticket(
            actor=desk.l1_agent, ticket=ticket, reason="Needs hardware", channel="web"
        )
    assert (ticket.group, ticket.assignee) == (desk.l2, desk.l2_agent)


def test_moving_to_a_group_of_the_same_tier_assigns_there(desk, new_ticket, automation):
    ticket = new_ticket()
    assert ticket.group == desk.l1
    other = AgentFactory(username="otheragent")
    desk.l3.tier = 1
    desk.l3.save()
    desk.l3.members.add(other)
    route(desk.l3, RoutingMethod.LEAST_LOADED)
    with automation():
        ticket = ticket_services.update_ticket(
            actor=desk.supervisor, ticket=ticket, channel="web", group=desk.l3
        )
    assert ticket.assignee == other


def test_the_history_says_the_assignment_was_automatic(
    client, desk, l1_team, new_ticket, automation
):
    route(desk.l1, RoutingMethod.ROUND_ROBIN)
    ticket = open_tickets(new_ticket, automation, 1)[0]
    event = TicketEvent.objects.get(ticket=ticket, field="assignee")
    assert (event.actor, event.kind, event.new_value, event.is_public) == (
        None,
        EventKind.CHANGED,
        desk.l1_agent.username,
        False,
    )
    assert event.note == "routing:round_robin"
    client.force_login(desk.supervisor)
    page = client.get(reverse("desk:ticket", args=[ticket.pk]) + "?tab=history")
    assert "automatic assignment (Round-robin)" in page.content.decode()


def test_the_assigned_agent_is_told_by_e_mail(desk, l1_team, new_ticket, automation):
    from firstline.channels.models import OutboundMessage

    route(desk.l1, RoutingMethod.ROUND_ROBIN)
    with automation():
        new_ticket(channel=Channel.PHONE)
    assert OutboundMessage.objects.filter(
        kind="assigned", recipients=[desk.l1_agent.email]
    ).exists()


def test_agents_set_themselves_away_from_the_desk_and_their_profile(client, desk):
    client.force_login(desk.l1_agent)
    page = client.get(reverse("desk:queue", args=["mine"])).content.decode()
    assert "Set me away" in page
    response = client.post(reverse("desk:availability"), {"away": "1", "next": reverse("profile")})
    assert response.status_code == 302 and response.url == reverse("profile")
    assert desk.l1_agent.availability.is_away
    assert "I am back" in client.get(reverse("profile")).content.decode()
    client.post(reverse("desk:availability"), {"away": "0", "next": "https://evil.example/"})
    desk.l1_agent.availability.refresh_from_db()
    assert not desk.l1_agent.availability.is_away


def test_requesters_have_no_away_switch(client, desk):
    client.force_login(desk.alice)
    assert client.post(reverse("desk:availability"), {"away": "1"}).status_code == 403
    assert "Set me away" not in client.get(reverse("profile")).content.decode()


def test_only_supervisors_set_others_away(desk):
    from firstline.core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        services.set_away(actor=desk.l1_agent, user=desk.l2_agent, away=True)
    services.set_away(actor=desk.supervisor, user=desk.l2_agent, away=True)
