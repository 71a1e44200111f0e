"""The index follows ticket writes in their own transaction."""

import pytest
from django.db import connection, transaction

from firstline.core import maintenance
from firstline.search import services
from firstline.search.selectors import search
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel


def numbers(user, q, **options):
    return [hit.object_id for hit in search(user=user, q=q, kinds=("ticket",), **options)]


def test_a_new_ticket_is_found_at_once(desk, new_ticket):
    ticket = new_ticket(subject="Printers offline", description="打印机无法连接")
    assert numbers(desk.supervisor, "printer") == [ticket.pk]
    assert numbers(desk.supervisor, "打印机") == [ticket.pk]
    assert numbers(desk.supervisor, "连接") == [ticket.pk]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_ticket_is_not_indexed(desk):
    with pytest.raises(RuntimeError), transaction.atomic():
        ticket_services.create_ticket(actor=desk.alice, subject="Phantom scanner")
        raise RuntimeError
    assert numbers(desk.supervisor, "phantom") == []


def test_replies_and_edited_text_are_found(desk, new_ticket):
    ticket = new_ticket(subject="Laptop slow")
    ticket_services.add_comment(
        actor=desk.alice, ticket=ticket, body="The fan is loud too", channel=Channel.WEB
    )
    assert numbers(desk.supervisor, "fan loud") == [ticket.pk]
    ticket_services.update_ticket(
        actor=desk.supervisor, ticket=ticket, subject="Docking", channel=Channel.WEB
    )
    assert numbers(desk.supervisor, "docking") == [ticket.pk]
    assert numbers(desk.supervisor, "laptop") == []
    assert numbers(desk.supervisor, "fan") == [ticket.pk]


def test_internal_notes_are_found_by_agents_only(desk, new_ticket):
    ticket = new_ticket(subject="Mailbox full")
    ticket_services.add_comment(
        actor=desk.supervisor,
        ticket=ticket,
        body="Quota raised by the exchange team",
        channel=Channel.WEB,
        public=False,
    )
    ticket_services.add_system_note(ticket=ticket, body="Bounce from gateway", channel="email")
    assert numbers(desk.supervisor, "exchange quota") == [ticket.pk]
    assert numbers(desk.supervisor, "gateway") == [ticket.pk]
    assert numbers(desk.alice, "mailbox") == [ticket.pk]
    assert numbers(desk.alice, "exchange") == []
    assert numbers(desk.alice, "mailbox exchange") == []


def test_merge_moves_the_text_to_the_surviving_ticket(desk, new_ticket):
    source = new_ticket(subject="Keyboard sticky keys")
    target = new_ticket(subject="Desk equipment")
    ticket_services.merge_tickets(
        actor=desk.supervisor, source=source, target=target, channel=Channel.WEB
    )
    assert target.pk in numbers(desk.supervisor, "sticky")


def test_reindex_rebuilds_every_ticket(desk, new_ticket):
    ticket = new_ticket(subject="Projector bulb")
    ticket_services.add_comment(
        actor=desk.supervisor, ticket=ticket, body="ordered", channel=Channel.WEB, public=False
    )
    services._clear("ticket")
    assert numbers(desk.supervisor, "projector") == []
    assert services.reindex(kinds=("ticket",), batch_size=1) == 1
    assert numbers(desk.supervisor, "projector ordered") == [ticket.pk]
    assert numbers(desk.alice, "ordered") == []


def _analysed_rows(table: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        row = cursor.fetchone()
    return int(row[0].split()[0]) if row else None


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL analyses by itself")
def test_reindex_counts_the_index_again_for_sqlite_s_planner(desk, new_ticket, monkeypatch):
    """Statistics taken while the index was small (a migration's ANALYZE) would make SQLite
    read all of it each time FTS5 drops a merged segment, once it has grown."""
    monkeypatch.setattr(maintenance, "MIN_ROWS", 1)  # a test's index is tiny
    data = services.fts_table("ticket") + "_data"
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {services.fts_table('ticket')}")
        cursor.execute(f'ANALYZE "{data}"')
    before = _analysed_rows(data)
    for n in range(40):
        new_ticket(subject=f"Printer {n} jams", description=f"Paper tray {n} " * 20)
    assert services.reindex(kinds=("ticket",)) == 40
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {data}")
        (rows,) = cursor.fetchone()
    assert rows > (before or 0)
    assert _analysed_rows(data) == rows


def test_documents_of_other_kinds_are_indexed_and_removed(desk):
    services.index_document(kind="article", object_id=7, title="Reset", body="密码 reset")
    services.remove_document(kind="article", object_id=7)
    with pytest.raises(ValueError):
        services.index_document(kind="spaceship", object_id=1, title="x", body="y")
