import pytest
from django.core.management import call_command

from firstline.search import services
from firstline.tickets.selectors import TicketFilters, list_tickets

pytestmark = pytest.mark.django_db


def test_search_endpoint_answers_hits_with_snippets(api, desk, new_ticket):
    ticket = new_ticket(subject="打印机无法连接", description="<i>urgent</i> 打印机 offline")
    response = api(desk.supervisor).get("search", q="打印机", type="ticket")
    assert response.status_code == 200
    (hit,) = response.json()
    assert hit["type"] == "ticket" and hit["id"] == ticket.pk
    assert hit["snippet"] == "&lt;i&gt;urgent&lt;/i&gt; <mark>打印机</mark> offline"
    assert hit["url"] == f"/desk/tickets/{ticket.pk}/"


def test_search_endpoint_keeps_tenants_apart(api, desk, new_ticket):
    new_ticket(requester=desk.alice, subject="Scanner broken")
    assert api(desk.carol).get("search", q="scanner").json() == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "x" * 201},
        {"q": "。，！"},
        {"q": "vpn", "type": "user"},
        {"q": "vpn", "limit": 0},
        {"q": "vpn", "limit": "many"},
    ],
)
def test_search_endpoint_refuses_bad_queries_with_422(api, desk, params):
    response = api(desk.supervisor).get("search", **params)
    assert response.status_code == 422
    assert "message" in response.json()


def test_search_endpoint_requires_a_token(client, db):
    assert client.get("/api/v1/search", {"q": "vpn"}).status_code == 401


def test_ticket_list_text_filter_uses_the_index(api, desk, new_ticket):
    printer = new_ticket(subject="Printers jam", description="纸张卡住了")
    new_ticket(subject="Wi-Fi down")
    for q in ("printer", "卡住", f"#{printer.pk}"):
        filtered = list_tickets(desk.supervisor, TicketFilters(q=q))
        assert [t.pk for t in filtered] == [printer.pk]
    assert list(list_tickets(desk.supervisor, TicketFilters(q="?!"))) == []
    listed = api(desk.supervisor).get("tickets", q="wifi").json()
    assert [t["subject"] for t in listed["items"]] == ["Wi-Fi down"]


def test_reindex_command(desk, new_ticket, capsys):
    ticket = new_ticket(subject="Toner empty")
    services._clear("ticket")
    call_command("search_reindex")
    assert "Indexed 1 documents" in capsys.readouterr().out
    filtered = list_tickets(desk.supervisor, TicketFilters(q="toner"))
    assert [t.pk for t in filtered] == [ticket.pk]
