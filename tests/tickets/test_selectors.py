import pytest

from firstline.core.errors import NotFound
from firstline.tickets import selectors, services
from firstline.tickets.models import Ticket

from ..factories import AgentFactory

pytestmark = pytest.mark.django_db


def numbers(user):
    return set(selectors.visible_tickets(user).values_list("pk", flat=True))


@pytest.fixture
def tickets(desk, new_ticket):
    alice = new_ticket(requester=desk.alice)
    bob = new_ticket(requester=desk.bob)
    carol = new_ticket(requester=desk.carol)
    in_l2 = services.escalate_ticket(
        actor=desk.supervisor, ticket=new_ticket(requester=desk.carol), reason="r", channel="web"
    )
    return alice, bob, carol, in_l2


def test_requester_sees_only_their_own(desk, tickets):
    alice, *_ = tickets
    assert numbers(desk.alice) == {alice.pk}


def test_org_manager_sees_the_whole_organization_only(desk, tickets):
    alice, bob, *_ = tickets
    assert numbers(desk.acme_manager) == {alice.pk, bob.pk}


def test_agent_sees_their_groups_and_what_is_assigned_to_them(desk, tickets):
    alice, bob, carol, in_l2 = tickets
    assert numbers(desk.l1_agent) == {alice.pk, bob.pk, carol.pk}
    assert numbers(desk.l2_agent) == {in_l2.pk}
    outsider = AgentFactory()
    assert numbers(outsider) == set()
    desk.l3.members.add(outsider)
    services.escalate_ticket(actor=desk.supervisor, ticket=in_l2, reason="r", channel="web")
    services.update_ticket(actor=desk.supervisor, ticket=in_l2, channel="web", assignee=outsider)
    assert numbers(desk.l2_agent) == set()
    desk.l3.members.remove(outsider)
    assert numbers(outsider) == {in_l2.pk}


def test_supervisor_sees_everything(desk, tickets):
    assert numbers(desk.supervisor) == {t.pk for t in tickets}


def test_invisible_and_missing_tickets_look_the_same(desk, tickets):
    _, _, carol, _ = tickets
    with pytest.raises(NotFound) as hidden:
        selectors.get_ticket(desk.alice, carol.pk)
    with pytest.raises(NotFound) as missing:
        selectors.get_ticket(desk.alice, 999999)
    assert hidden.value.message.replace(str(carol.pk), "N") == missing.value.message.replace(
        "999999", "N"
    )


def test_inactive_users_see_nothing(desk, tickets):
    desk.alice.is_active = False
    assert numbers(desk.alice) == set()


def _parts(user) -> list[set[int]]:
    return [set(p.values_list("pk", flat=True)) for p in selectors.visible_parts(user)]


def test_visible_parts_split_exactly_what_a_user_sees(desk, tickets, new_ticket):
    *_, in_l2 = tickets
    # An L2 agent who asked for help themselves and still holds a ticket that moved on to L3
    # (a group they have left): their group, their request and their assignment.
    own_request = new_ticket(requester=desk.l2_agent)
    desk.l3.members.add(desk.l2_agent)
    services.escalate_ticket(actor=desk.supervisor, ticket=in_l2, reason="r", channel="web")
    services.update_ticket(
        actor=desk.supervisor, ticket=in_l2, channel="web", assignee=desk.l2_agent
    )
    desk.l3.members.remove(desk.l2_agent)
    in_l2_again = new_ticket(requester=desk.carol)
    services.escalate_ticket(actor=desk.supervisor, ticket=in_l2_again, reason="r", channel="web")
    users = [desk.alice, desk.acme_manager, desk.l1_agent, desk.l2_agent, desk.supervisor]
    for user in users:
        parts = _parts(user)
        assert set().union(*parts) == numbers(user), user.username
        assert sum(len(p) for p in parts) == len(numbers(user)), "parts overlap"
    assert numbers(desk.l2_agent) == {own_request.pk, in_l2.pk, in_l2_again.pk}
    assert [len(p) for p in _parts(desk.l2_agent)] == [1, 2]


def test_tickets_in_groups_and_assigned_match_visible_tickets(desk, tickets):
    alice, bob, carol, in_l2 = tickets
    in_l1 = {alice.pk, bob.pk, carol.pk}
    ids = lambda qs: set(qs.values_list("pk", flat=True))  # noqa: E731
    assert ids(selectors.tickets_in_groups(desk.l1_agent, [desk.l1.pk])) == in_l1
    # a group the agent is not in: only what they would see anyway (nothing here)
    assert ids(selectors.tickets_in_groups(desk.l1_agent, [desk.l2.pk])) == set()
    assert ids(selectors.tickets_in_groups(desk.supervisor, [desk.l2.pk])) == {in_l2.pk}
    assert ids(selectors.tickets_in_groups(desk.alice, [desk.l1.pk])) == {alice.pk}
    services.update_ticket(
        actor=desk.supervisor, ticket=in_l2, channel="web", assignee=desk.l2_agent
    )
    assert ids(selectors.tickets_assigned_to(desk.l2_agent)) == {in_l2.pk}
    desk.l2_agent.is_active = False
    assert ids(selectors.tickets_assigned_to(desk.l2_agent)) == set()
    assert ids(selectors.tickets_in_groups(desk.l2_agent, [desk.l2.pk])) == set()


def test_ticket_values_are_list_tickets_read_as_columns(desk, tickets, new_ticket):
    """list_ticket_values scopes and filters as list_tickets does (newest first, cursor)."""
    services.create_ticket(
        actor=desk.supervisor, requester=desk.bob, subject="s", channel="web", tags=["vpn"]
    )
    new_ticket(requester=desk.carol, priority="high")
    users = [desk.alice, desk.acme_manager, desk.carol, desk.l1_agent, desk.l2_agent]
    users += [desk.supervisor, AgentFactory(), AgentFactory(is_active=False)]
    filters = [
        selectors.TicketFilters(),
        selectors.TicketFilters(status=["new", "open"], priority=[3]),
        selectors.TicketFilters(tag="VPN ", unassigned=True),
        selectors.TicketFilters(organization_id=desk.acme.pk),
    ]
    for user in users:
        for f in filters:
            for before in (None, tickets[2].pk):
                expected = [
                    (t.pk, t.subject, t.requester.username)
                    for t in selectors.list_tickets(user, f, before_number=before)[:3]
                ]
                rows = selectors.list_ticket_values(
                    user, f, ("pk", "subject", "requester__username"), limit=3, before_number=before
                )
                assert [tuple(r.values()) for r in rows] == expected, (user.username, f, before)


def test_tag_names_are_each_ticket_s_in_name_order(desk, new_ticket):
    first = services.create_ticket(
        actor=desk.supervisor, requester=desk.bob, subject="s", channel="web", tags=["b", "a"]
    )
    second = services.create_ticket(
        actor=desk.supervisor, requester=desk.bob, subject="s", channel="web", tags=["c"]
    )
    untagged = new_ticket()
    found = selectors.tag_names([first.pk, second.pk, untagged.pk])
    assert found == {first.pk: ["a", "b"], second.pk: ["c"]}
    assert selectors.tag_names([]) == {}


def test_visible_tickets_narrows_the_tickets_it_is_given(desk, tickets):
    carols = Ticket.objects.filter(requester=desk.carol)
    for user in (desk.alice, desk.acme_manager, desk.l1_agent, desk.l2_agent, desk.supervisor):
        given = set(selectors.visible_tickets(user, carols).values_list("pk", flat=True))
        assert given == numbers(user) & set(carols.values_list("pk", flat=True)), user.username
