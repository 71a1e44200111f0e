"""GET /api/v1/tickets/{number}/sla, the ticket page's SLA panel and the queue's SLA column:
the same numbers everywhere, and only for those who may see the ticket."""

import re
from datetime import datetime

import pytest
from django.urls import reverse

from firstline.sla import services
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel

from ..factories import AgentFactory
from .conftest import sh, sla_of


@pytest.fixture
def waiting(desk, standard, new_ticket, clock):
    """Created Friday 17:30; first response given; pending for a while, then answered."""
    clock.to(sh(2026, 3, 6, 17, 30))
    ticket = new_ticket()
    clock.to(sh(2026, 3, 9, 9, 10))
    ticket_services.add_comment(actor=desk.l1_agent, ticket=ticket, body="Hi", channel="web")
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel=Channel.WEB, status="pending"
    )
    clock.to(sh(2026, 3, 9, 15, 0))
    ticket_services.add_comment(actor=desk.alice, ticket=ticket, body="Done", channel="web")
    clock.to(sh(2026, 3, 9, 16, 0))
    return ticket


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_agents_get_the_whole_timeline(desk, api, waiting):
    body = api(desk.l1_agent).get(f"tickets/{waiting.pk}/sla").json()
    assert body["has_sla"] is True
    assert (body["policy"], body["calendar"], body["time_zone"]) == (
        "Standard",
        "Shanghai office",
        "Asia/Shanghai",
    )
    assert body["state"] == "running"
    targets = {t["target"]: t for t in body["targets"]}
    assert set(targets) == {"first_response", "next_response", "resolution"}
    first = targets["first_response"]
    assert first["state"] == "met" and _dt(first["met_at"]) == sh(2026, 3, 9, 9, 10)
    assert _dt(first["due_at"]) == sh(2026, 3, 9, 9, 30)
    resolution = targets["resolution"]
    # 8 h: 0.5 h Friday, 09:00-09:10 Monday, then pending until 15:00; 7 h 20 min from then.
    assert _dt(resolution["due_at"]) == sh(2026, 3, 10, 14, 20)
    assert _dt(resolution["due_at"]) == sla_of(waiting).resolution_due_at
    assert resolution["business_seconds_spent"] == (30 + 10 + 60) * 60
    assert resolution["business_seconds_remaining"] == (480 - 100) * 60
    assert resolution["minutes"] == 480
    assert resolution["explanation"].startswith("due Tue 10 Mar 14:20 (Asia/Shanghai)")
    assert "paused 5 h 50 min waiting on the requester" in resolution["explanation"]
    assert targets["next_response"]["cycle"] == 1
    assert body["pauses"] == [
        {"start": "2026-03-09T01:10:00Z", "end": "2026-03-09T07:00:00Z", "reason": "pending"}
    ]


def test_requesters_see_due_times_but_nothing_internal(desk, api, waiting, clock):
    clock.to(sh(2026, 3, 9, 16, 40))  # past the next response warning (75 % of 2 h)
    agent = api(desk.l1_agent).get(f"tickets/{waiting.pk}/sla").json()
    body = api(desk.alice).get(f"tickets/{waiting.pk}/sla").json()
    assert agent["state"] == "warning" and body["state"] == "running"
    assert body["policy"] is None and body["calendar"] is None and body["pauses"] == []
    for theirs, ours in zip(body["targets"], agent["targets"], strict=True):
        assert theirs["due_at"] == ours["due_at"]
        assert theirs["met_at"] == ours["met_at"]
        for internal in ("minutes", "warning_at", "explanation", "business_seconds_spent"):
            assert theirs[internal] is None
    manager = api(desk.acme_manager).get(f"tickets/{waiting.pk}/sla")
    assert manager.status_code == 200


def test_tickets_the_caller_may_not_see_are_not_found(desk, api, waiting):
    for user in (desk.carol, desk.bob, AgentFactory()):
        response = api(user).get(f"tickets/{waiting.pk}/sla")
        assert response.status_code == 404, user
        assert response.json()["message"] == f"Ticket #{waiting.pk} not found."
    assert api(desk.l1_agent).get("tickets/999999/sla").status_code == 404
    assert api(desk.supervisor).get(f"tickets/{waiting.pk}/sla").status_code == 200


def test_a_ticket_without_sla_says_so(desk, api, new_ticket, db):
    ticket = new_ticket()
    body = api(desk.l1_agent).get(f"tickets/{ticket.pk}/sla").json()
    assert body == {
        "number": ticket.pk,
        "has_sla": False,
        "state": None,
        "paused_since": None,
        "policy": None,
        "calendar": None,
        "time_zone": None,
        "warning_percent": None,
        "targets": [],
        "pauses": [],
    }


def test_the_endpoint_is_described_in_the_openapi_document(desk, api, db):
    paths = api(desk.l1_agent).client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/tickets/{number}/sla" in paths


def test_the_ticket_page_and_the_api_show_the_same_due_times(client, desk, api, waiting):
    client.force_login(desk.l1_agent)
    page = client.get(reverse("desk:ticket", args=[waiting.pk])).content.decode()
    panel = page[page.index('id="sla"') :]
    panel = panel[: panel.index("</section>")]
    shown = [_dt(value) for value in re.findall(r'data-due="([^"]+)"', panel)]
    body = api(desk.l1_agent).get(f"tickets/{waiting.pk}/sla").json()
    assert shown == [_dt(t["due_at"]) for t in body["targets"]]
    assert "Standard" in panel and "Shanghai office" in panel
    for target in body["targets"]:
        assert target["explanation"] in panel
    assert "Pending" in panel  # the pause and its reason


def test_the_ticket_page_without_sla_has_no_panel(client, desk, new_ticket, db):
    client.force_login(desk.l1_agent)
    page = client.get(reverse("desk:ticket", args=[new_ticket().pk])).content.decode()
    assert 'id="sla"' not in page


def test_the_queue_shows_the_sla_and_sorts_by_next_due_time(
    client, desk, standard, new_ticket, clock
):
    clock.to(sh(2026, 3, 2, 9, 0))
    new_ticket(subject="Normal one")
    new_ticket(subject="Urgent one", priority="urgent")
    low = new_ticket(subject="Low one", priority="low")
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=low, channel=Channel.WEB, status="pending"
    )
    without = new_ticket(subject="No SLA")
    services.update_policy(actor=None, policy=standard, channels=["web"])
    ticket_services.update_ticket(
        actor=desk.l1_agent, ticket=without, channel=Channel.WEB, priority="high"
    )
    clock.to(sh(2026, 3, 2, 9, 20))  # urgent first response (15 min) is breached
    client.force_login(desk.supervisor)
    url = reverse("desk:queue", args=["all"])
    page = client.get(url, {"sort": "due"}).content.decode()
    order = [page.index(s) for s in ("Urgent one", "Normal one", "Low one")]
    assert order == sorted(order)
    assert "SLA due" in page
    assert "overdue" in page and "sla-breached" in page
    assert "sla-paused" in page  # the pending ticket
    descending = client.get(url, {"sort": "-due"}).content.decode()
    assert descending.index("Normal one") < descending.index("Urgent one")
    assert without.pk  # tickets without SLA still listed
    assert "No SLA" in descending


def test_queue_and_ticket_page_query_counts_stay_flat_with_sla(
    client, desk, standard, new_ticket, clock, django_assert_max_num_queries
):
    client.force_login(desk.supervisor)
    first = new_ticket()
    ticket_services.add_comment(actor=desk.l1_agent, ticket=first, body="x", channel="web")
    queue = reverse("desk:queue", args=["all"])
    page = reverse("desk:ticket", args=[first.pk])
    client.get(page)  # the compiled SLA configuration is cached from here on
    with django_assert_max_num_queries(40) as few_queue:
        client.get(queue, {"sort": "due"})
    with django_assert_max_num_queries(40) as few_page:
        client.get(page)
    for i in range(30):
        ticket = new_ticket(subject=f"T{i}")
        ticket_services.add_comment(actor=desk.l1_agent, ticket=ticket, body="x", channel="web")
        ticket_services.add_comment(actor=desk.alice, ticket=first, body=f"{i}", channel="web")
    with django_assert_max_num_queries(len(few_queue.captured_queries)):
        client.get(queue, {"sort": "due"})
    with django_assert_max_num_queries(len(few_page.captured_queries)):
        client.get(page)
