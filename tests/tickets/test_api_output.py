"""Ticket answers are built as they are sent (tickets/api.py `_ticket_out`), without
django-ninja validating them against their schemas: each must be exactly what its documented
schema gives, field for field, in the schema's order, with nothing more."""

import json

import pytest
from ninja.responses import NinjaJSONEncoder

from firstline.tickets.api import TicketDetailOut, TicketOut

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("whole_milliseconds")]


def assert_as_documented(schema, body: dict) -> None:
    """`body` is what `schema` makes of it: same keys in the same order, same values and
    types (the schema would turn "3" into 3, or drop an extra key), rendered alike."""
    validated = schema.model_validate(body, by_name=True).model_dump()
    assert list(body) == list(schema.model_fields)
    assert json.dumps(body, cls=NinjaJSONEncoder) == json.dumps(validated, cls=NinjaJSONEncoder)


def a_full_ticket(desk, api) -> int:
    """A ticket with every field of the answer filled: category under a parent, group,
    assignee, tags, a link, resolved."""
    boss = api(desk.supervisor)
    parent = boss.post("categories", {"name": "Hardware"}).json()["id"]
    category = boss.post("categories", {"name": "Printer", "parent": parent}).json()["id"]
    body = {
        "subject": "Printer jams",
        "description": "Floor 3",
        "priority": "high",
        "category": category,
        "requester": "alice",
        "assignee": "l1agent",
        "tags": ["printer", "floor-3"],
    }
    response = boss.post("tickets", body)
    assert response.status_code == 201, response.json()
    assert_as_documented(TicketDetailOut, response.json())
    number = response.json()["number"]
    other = boss.post("tickets", {"subject": "Toner", "requester": "alice"}).json()["number"]
    assert boss.post(f"tickets/{number}/links", {"number": other}).status_code == 200
    resolved = boss.patch(f"tickets/{number}", {"status": "resolved"})
    assert resolved.status_code == 200, resolved.json()
    return number


def test_an_agent_gets_every_field_as_documented(desk, api):
    number = a_full_ticket(desk, api)
    body = api(desk.supervisor).get(f"tickets/{number}").json()
    assert body["category"]["parent"] is not None and body["group"]["slug"] == "l1"
    assert body["assignee"]["username"] == "l1agent" and body["links"]
    assert sorted(body["tags"]) == ["floor-3", "printer"] and body["resolved_at"]
    assert_as_documented(TicketDetailOut, body)
    listed = api(desk.supervisor).get("tickets", status="resolved").json()
    assert list(listed) == ["items", "next_cursor"]
    assert [t["number"] for t in listed["items"]] == [number]
    assert_as_documented(TicketOut, listed["items"][0])


def test_a_requester_gets_the_same_shape_without_internal_routing(desk, api):
    number = a_full_ticket(desk, api)
    body = api(desk.alice).get(f"tickets/{number}").json()
    assert (body["group"], body["tags"], body["links"]) == (None, [], [])
    assert body["requester"] == {"username": "alice", "name": desk.alice.display_name}
    assert_as_documented(TicketDetailOut, body)
    new = api(desk.alice).post("tickets", {"subject": "VPN"})
    assert new.status_code == 201
    assert (new.json()["category"], new.json()["assignee"]) == (None, None)
    assert_as_documented(TicketDetailOut, new.json())
