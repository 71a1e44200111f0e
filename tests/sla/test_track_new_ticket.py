"""Starting a new ticket's clock costs one INSERT, and never replaces a clock that a change
of the ticket, seen first, has already started."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.sla import services
from firstline.sla.models import TicketSla
from firstline.tickets import services as ticket_services
from firstline.tickets import signals
from firstline.tickets.models import Priority

from .conftest import sh, sla_of

pytestmark = pytest.mark.django_db


def test_the_clock_starts_with_one_insert(desk, new_ticket, standard, clock):
    clock.to(sh(2026, 3, 2, 10, 0))
    ticket = new_ticket()
    with CaptureQueriesContext(connection) as queries:
        services.track_new_ticket(ticket=ticket)  # again: the row exists
    assert [q["sql"].split()[0] for q in queries.captured_queries][-1] == "INSERT"
    assert not [q for q in queries.captured_queries if q["sql"].startswith('SELECT "sla_')]
    assert sla_of(ticket).first_response_due_at == sh(2026, 3, 2, 11, 0)


def test_a_clock_started_by_an_earlier_change_is_kept(desk, new_ticket, standard, clock):
    """A receiver of the creation that ran before the SLA's changed the ticket: the clock
    follows the changed ticket."""
    clock.to(sh(2026, 3, 2, 10, 0))

    def make_urgent(sender, ticket, **kwargs):
        ticket_services.update_ticket(
            actor=None, ticket=ticket, channel="web", priority=Priority.URGENT
        )

    signals.ticket_created.connect(make_urgent)
    # Run first, as a receiver connected before the SLA's would.
    signals.ticket_created.receivers.insert(0, signals.ticket_created.receivers.pop())
    signals.ticket_created.sender_receivers_cache.clear()
    try:
        ticket = new_ticket()
    finally:
        signals.ticket_created.disconnect(make_urgent)
    assert sla_of(ticket).priority == Priority.URGENT
    assert sla_of(ticket).first_response_due_at == sh(2026, 3, 2, 10, 15)


def _stored(ticket) -> tuple[dict, dict, list]:
    """The ticket's clock and search document as stored, tokens included."""
    from firstline.search.models import SearchDocument

    clock_row = TicketSla.objects.filter(ticket=ticket).values().get()
    document = SearchDocument.objects.filter(kind="ticket", object_id=ticket.pk)
    row = document.values().get()
    row.pop("id")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT vector::text FROM search_searchdocument WHERE kind = 'ticket'"
                " AND object_id = %s",
                [ticket.pk],
            )
        else:
            cursor.execute(
                "SELECT title, body, internal FROM search_ticket_fts WHERE rowid = %s",
                [ticket.pk],
            )
        tokens = cursor.fetchall()
    return clock_row, row, tokens


def test_a_new_tickets_clock_and_search_document_are_written_together(
    desk, new_ticket, standard, clock
):
    """On PostgreSQL in one statement (bulk.writes_together), the same rows as the receivers
    write one by one."""
    from firstline.search import services as search_services
    from firstline.search.models import SearchDocument

    clock.to(sh(2026, 3, 2, 10, 0))
    with CaptureQueriesContext(connection) as queries:
        ticket = new_ticket(subject="打印机无法连接 (#7)", description="Since this morning.")
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if "sla_ticketsla" in q["sql"] or "search_searchdocument" in q["sql"]
    ]
    if connection.vendor == "postgresql":
        assert len(writes) == 1
        assert "sla_ticketsla" in writes[0] and "search_searchdocument" in writes[0]
    together = _stored(ticket)
    TicketSla.objects.filter(ticket=ticket).delete()
    SearchDocument.objects.filter(kind="ticket", object_id=ticket.pk).delete()
    services.track_new_ticket(ticket=ticket)
    search_services.index_new_ticket(ticket=ticket)
    one_by_one = _stored(ticket)
    assert together == one_by_one
    assert together[0]["first_response_due_at"] == sh(2026, 3, 2, 11, 0)
    assert together[2] and together[2][0][0]
