"""The ticket list (GET /api/v1/tickets) reads the columns it shows, not model instances
(tickets/api.py `_listed_out`): each item must be exactly the ticket's own answer
(GET /api/v1/tickets/<n>, which builds it from the model) without its links."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.tickets import services
from firstline.tickets.api import TicketOut
from firstline.tickets.models import Channel, Ticket

from ..factories import AgentFactory, CategoryFactory, RequesterFactory
from .test_api_output import assert_as_documented

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("whole_milliseconds")]


@pytest.fixture
def varied(desk, api):
    """Tickets that fill and leave empty every part of an answer: a category under a parent
    or none, people with a full name, one name or none, an organization or none, a group or
    none, tags, a merged ticket, a resolved and a closed one."""
    boss = desk.supervisor
    parent = CategoryFactory(name="Hardware", full_name="Hardware")
    printer = CategoryFactory(name="Printer", full_name="Hardware > Printer", parent=parent)
    nameless = AgentFactory(username="nameless", first_name="", last_name="")
    first_only = AgentFactory(username="firstonly", first_name="Ann", last_name="")
    desk.l1.members.add(nameless, first_only)
    last_only = RequesterFactory(username="lastonly", first_name="", last_name="Li")
    no_org = RequesterFactory(username="noorg", organization=None)

    def create(**fields):
        fields.setdefault("requester", desk.alice)
        fields.setdefault("subject", "Printer jams")
        return services.create_ticket(actor=boss, channel=Channel.PHONE, **fields)

    full = create(category=printer, assignee=desk.l1_agent, tags=["zeta", "alpha", "mid"])
    create(requester=last_only, assignee=nameless, priority="urgent", description="Line 1\n2")
    create(requester=no_org, category=parent, assignee=first_only, tags=["alpha"])
    moved = create(group=desk.l2, priority="low")
    services.update_ticket(actor=boss, ticket=moved, channel=Channel.WEB, status="resolved")
    closed = create(assignee=desk.l1_agent)
    for status in ("resolved", "closed"):
        closed = services.update_ticket(
            actor=boss, ticket=closed, channel=Channel.WEB, status=status
        )
    merged = create(subject="Same printer")
    assert api(boss).post(f"tickets/{merged.pk}/merge", {"into": full.pk}).status_code == 200
    unrouted = create(subject="Unrouted")  # routing gives every new ticket a group
    Ticket.objects.filter(pk=unrouted.pk).update(group=None, assignee=None)
    return desk


@pytest.mark.parametrize("who", ["supervisor", "l1_agent", "l2_agent", "alice", "acme_manager"])
def test_each_listed_ticket_is_its_own_answer_without_links(varied, api, who):
    client = api(getattr(varied, who))

    items = client.get("tickets", limit=200).json()["items"]

    assert items, "each of these users sees some of the tickets"
    for item in items:
        alone = client.get(f"tickets/{item['number']}").json()
        assert alone.pop("links") is not None
        assert list(item) == list(alone)
        assert item == alone
        assert_as_documented(TicketOut, item)


def test_the_list_shows_every_kind_of_value(varied, api):
    """The cases above are really there (else the comparison proves little)."""
    items = api(varied.supervisor).get("tickets", limit=200).json()["items"]

    names = {t["assignee"]["username"]: t["assignee"]["name"] for t in items if t["assignee"]}
    assert names["nameless"] == "nameless" and names["firstonly"] == "Ann"
    assert {"username": "lastonly", "name": "Li"} in [t["requester"] for t in items]
    assert {t["category"]["parent"] is None for t in items if t["category"]} == {True, False}
    assert None in [t["organization"] for t in items]
    assert None in [t["group"] for t in items] and "l2" in [
        t["group"]["slug"] for t in items if t["group"]
    ]
    assert any(t["merged_into"] for t in items)
    assert {t["priority"] for t in items} >= {"low", "normal", "urgent"}
    assert any(t["resolved_at"] for t in items) and any(t["closed_at"] for t in items)


def test_staff_get_each_ticket_s_tags_in_name_order_and_requesters_none(varied, api):
    staff = api(varied.supervisor).get("tickets", limit=200).json()["items"]
    tags = [t["tags"] for t in staff]
    assert ["alpha", "mid", "zeta"] in tags and ["alpha"] in tags and [] in tags

    mine = api(varied.alice).get("tickets", limit=200).json()["items"]
    assert mine and all(t["tags"] == [] and t["group"] is None for t in mine)


def test_a_requester_s_list_does_not_read_tags(varied, api):
    alice = api(varied.alice)
    alice.get("tickets")  # the token's first use is recorded once

    with CaptureQueriesContext(connection) as queries:
        assert alice.get("tickets").status_code == 200

    assert not [q for q in queries if "tickets_tag" in q["sql"]]


def test_an_agent_s_list_reads_the_page_and_its_tags_in_two_queries(varied, api):
    agent = api(varied.l1_agent)
    agent.get("tickets")

    with CaptureQueriesContext(connection) as queries:
        assert len(agent.get("tickets").json()["items"]) > 1

    tickets = [q for q in queries if "tickets_ticket" in q["sql"]]
    assert len(tickets) == 2
