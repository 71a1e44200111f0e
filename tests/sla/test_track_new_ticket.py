"""Starting a new ticket's clock costs one INSERT, and never replaces a clock that a change
of the ticket, seen first, has already started."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.sla import services
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
