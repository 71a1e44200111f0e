"""`bulk.insert_one` stores exactly what `Model.save()` stores, byte for byte as the database
keeps it: moments in UTC and in other zones, microseconds, None, choices, text and JSON."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from firstline.core import bulk
from firstline.sla.models import TicketSla
from firstline.tickets.models import Priority, Status

pytestmark = pytest.mark.django_db

MOMENTS = [
    datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC),
    datetime(2026, 3, 2, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc),  # noqa: UP017 (the same object as UTC)
    None,
]


def _clock(ticket, moment) -> TicketSla:
    return TicketSla(
        ticket=ticket,
        priority=Priority.HIGH,  # an IntegerChoices member, not a plain int
        status=str(Status.OPEN),  # plain text
        started_at=moment or MOMENTS[0],
        pauses=[{"from": "2026-03-02T09:30:00+00:00", "note": 'say "hi", 中文'}],
        paused_since=moment,
        first_response_minutes=60,
        first_response_due_at=moment,
        next_response_cycle=2,
        resolution_warn_at=moment,
        next_check_at=moment,
    )


def _raw(ticket) -> tuple:
    """The row as the database keeps it (on SQLite, the text of each moment)."""
    columns = [f.column for f in TicketSla._meta.concrete_fields if f.column != "ticket_id"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM sla_ticketsla WHERE ticket_id = %s", [ticket.pk]
        )
        return cursor.fetchone()


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_row_inserted_in_one_statement_is_the_row_save_stores(new_ticket, moment):
    saved, inserted = new_ticket(), new_ticket()
    TicketSla.objects.filter(ticket__in=[saved, inserted]).delete()  # a policy may apply
    first, second = _clock(saved, moment), _clock(inserted, moment)
    for field in TicketSla._meta.concrete_fields[1:]:  # defaults such as now(): the same
        setattr(second, field.attname, getattr(first, field.attname))
    first.save(force_insert=True)
    bulk.insert_one(second, ignore_conflicts=True)
    assert _raw(inserted) == _raw(saved)
    read = TicketSla.objects.get(pk=inserted.pk).first_response_due_at
    assert read == (moment and moment.astimezone(UTC))  # compared in UTC: see PEP 495
