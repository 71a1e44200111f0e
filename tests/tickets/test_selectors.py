import pytest

from firstline.core.errors import NotFound
from firstline.tickets import selectors, services

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
