"""One-row inserts built once per model (core/bulk.py), the settings that prepare statements
on PostgreSQL, and the API requests that skip the pages' middleware."""

import os
import subprocess
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.core.bulk import insert_one
from firstline.sla.models import TicketSla
from firstline.tickets.models import EventKind, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _ticket(desk, **fields):
    return Ticket(subject="Printer jams", requester=desk.alice, organization=desk.acme, **fields)


def test_insert_one_writes_every_column_and_numbers_the_row(desk):
    ticket = _ticket(desk, description="Since Monday", priority=3)
    insert_one(ticket)
    assert ticket.pk is not None
    assert not ticket._state.adding
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.subject, stored.description, stored.priority) == (
        "Printer jams",
        "Since Monday",
        3,
    )
    assert (stored.requester, stored.organization, stored.status) == (desk.alice, desk.acme, "new")
    assert stored.created_at == ticket.created_at
    ticket.subject = "Printer jams again"
    ticket.save(update_fields=["subject"])  # an ordinary instance from here on
    assert Ticket.objects.get(pk=ticket.pk).subject == "Printer jams again"


def test_insert_one_with_a_first_entry_numbers_both(desk):
    ticket = _ticket(desk)
    entry = TicketEvent(ticket=ticket, actor=desk.alice, channel="web", kind=EventKind.CREATED)
    with CaptureQueriesContext(connection) as queries:
        insert_one(ticket, then=entry)
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    assert entry.pk is not None and entry.ticket_id == ticket.pk
    stored = TicketEvent.objects.get(pk=entry.pk)
    assert (stored.ticket, stored.actor, stored.kind) == (ticket, desk.alice, "created")
    assert Ticket.objects.get(pk=ticket.pk).subject == "Printer jams"


def test_insert_one_can_leave_an_existing_row_alone(desk, new_ticket):
    ticket = new_ticket()
    existing = TicketSla.objects.filter(ticket=ticket).first()
    row = TicketSla(ticket=ticket, priority=ticket.priority, started_at=ticket.created_at)
    row.pauses = [["2026-01-01T00:00:00+00:00", None, "pending"]]
    insert_one(row, ignore_conflicts=True)
    if existing is None:  # no policy applies in this desk: the row is new
        assert TicketSla.objects.get(ticket=ticket).pauses == row.pauses
    else:
        assert TicketSla.objects.get(ticket=ticket).pauses == existing.pauses
    insert_one(row, ignore_conflicts=True)  # and again: no error, still one row
    assert TicketSla.objects.filter(ticket=ticket).count() == 1


def test_api_requests_skip_the_pages_middleware(desk, api, client):
    response = api(desk.alice).post("tickets", {"subject": "Printer jams"})
    assert response.status_code == 201
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies
    assert response["X-Frame-Options"] == "DENY"  # kept for every answer
    assert response["X-Content-Type-Options"] == "nosniff"
    page = client.get("/login/")
    assert page.status_code == 200
    assert "csrftoken" in page.cookies  # the pages still have their CSRF cookie


def test_postgresql_prepares_frequent_statements_unless_told_not_to(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default'].get('OPTIONS'))"
    )
    base = {"DATABASE_URL": "postgres://u@127.0.0.1:5432/x", "DEBUG": "true"}

    def options(**env):
        environ = {**os.environ, **base, "FIRSTLINE_DATA_DIR": str(tmp_path), **env}
        done = subprocess.run(
            [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert "'server_side_binding': True" in options()
    assert "'prepare_threshold': 5" in options()
    assert "server_side_binding" not in options(DB_PREPARED_STATEMENTS="false")
    assert "max_parallel_workers_per_gather=0" in options()
    assert "max_parallel_workers_per_gather" not in options(DB_PARALLEL_QUERY="true")
