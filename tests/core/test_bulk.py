"""Set-based writes (core/bulk.py): every value comes back as it went in, on both databases.
On PostgreSQL each column travels as one array literal: quotes, backslashes, commas, braces,
NULL, the word "NULL", empty strings and unicode must all survive it."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, models
from django.db.models import Value

from firstline.channels.models import OutboundMessage
from firstline.core import bulk
from firstline.sla.models import SlaEvent, TicketSla
from firstline.tickets.models import Channel, EventKind, TicketEvent

pytestmark = pytest.mark.django_db

TEXTS = [
    "plain",
    "",
    "NULL",
    "null",
    " spaced ",
    "a,b",
    "{braces}",
    "{}",
    'say "hi"',
    "back\\slash",
    '\\"',
    "ünïcödé 中文 🎉",
    "tab\tand\nnewline",
    "\u3000wide space\u3000",
    "'single'",
    "x" * 300,
]
MOMENTS = [
    datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC),
    datetime(2026, 3, 2, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")),  # repeated hour
    datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    datetime(1890, 1, 1, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai")),  # +08:05:43 local mean time
]
JSONS = [
    {"quote": 'say "hi"', "slash": "a\\b", "braces": "{}", "comma": "a,b"},
    ["NULL", None, "", "中文 🎉", 1.5, True],
    "just text",
    [],
    {},
]


def _same(value):
    """Datetimes in UTC: Python never finds a repeated hour's second reading (fold=1) equal
    to an instant of another zone, even the same instant (PEP 495)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, list | tuple):
        return type(value)(_same(v) for v in value)
    return value


def _events(ticket, n):
    return [
        TicketEvent(
            ticket=ticket,
            actor=None,
            channel=Channel.WEB if i % 2 else "email",
            kind=EventKind.CHANGED if i % 3 else "note",  # an enum member or a plain str
            field=f"f{i}",
            old_value=TEXTS[(i + 1) % len(TEXTS)],
            new_value=TEXTS[(i + 2) % len(TEXTS)],
            note=f"{i}:{TEXTS[i % len(TEXTS)]}",
            is_public=bool(i % 2),
            created_at=MOMENTS[i % len(MOMENTS)],
        )
        for i in range(n)
    ]


def _stored(ticket):
    names = ["channel", "kind", "field", "old_value", "new_value", "note", "is_public"]
    return {
        e.note: ([getattr(e, n) for n in names], e.created_at, e.actor_id)
        for e in TicketEvent.objects.filter(ticket=ticket, field__startswith="f")
    }


def _expected(events):
    names = ["channel", "kind", "field", "old_value", "new_value", "note"]
    return {
        e.note: ([*(str(getattr(e, n)) for n in names), e.is_public], _same(e.created_at), None)
        for e in events
    }


def test_inserted_rows_come_back_as_they_went_in(new_ticket):
    ticket = new_ticket()
    events = _events(ticket, 40)
    bulk.insert_rows(TicketEvent, events, batch_size=7)  # several statements
    assert _stored(ticket) == _expected(events)


def test_rows_given_column_by_column_are_the_same_rows(new_ticket):
    ticket = new_ticket()
    events = _events(ticket, 25)
    fields = [f for f in TicketEvent._meta.concrete_fields if f.attname != "id"]
    columns = {f.attname: [getattr(e, f.attname) for e in events] for f in fields}
    bulk.insert_columns(TicketEvent, columns, batch_size=10)
    assert _stored(ticket) == _expected(events)


def test_columns_must_name_every_field_once_with_as_many_values(new_ticket):
    ticket = new_ticket()
    fields = [f.attname for f in TicketEvent._meta.concrete_fields if f.attname != "id"]
    full = {name: [getattr(_events(ticket, 1)[0], name)] for name in fields}
    with pytest.raises(ValueError, match="missing \\['note'\\]"):
        bulk.insert_columns(TicketEvent, {k: v for k, v in full.items() if k != "note"})
    with pytest.raises(ValueError, match="unknown \\['id'\\]"):
        bulk.insert_columns(TicketEvent, {**full, "id": [1]})
    with pytest.raises(ValueError, match="different lengths"):
        bulk.insert_columns(TicketEvent, {**full, "note": ["a", "b"]})
    bulk.insert_columns(TicketEvent, {name: [] for name in fields})  # nothing to do
    assert not TicketEvent.objects.filter(ticket=ticket, field__startswith="f").exists()


def test_json_uuid_and_integers_survive_an_insert(new_ticket):
    ticket = new_ticket()
    messages = [
        OutboundMessage(
            kind="sla_breach",
            ticket=ticket if i % 2 else None,
            recipients=[f"{i}@example.com", TEXTS[i]],
            cc=JSONS[i % len(JSONS)] if JSONS[i % len(JSONS)] is not None else [],
            subject=TEXTS[i],
            body=TEXTS[-1 - i],
            message_id=f"<{i}@example.com>",
            headers={"X-Test": TEXTS[i], "nested": JSONS[i % 3]},
            attempts=i,
            next_attempt_at=MOMENTS[i % len(MOMENTS)],
            sent_at=None if i % 2 else MOMENTS[0],
        )
        for i in range(len(TEXTS))
    ]
    bulk.insert_rows(OutboundMessage, messages)
    stored = {m.message_id: m for m in OutboundMessage.objects.filter(kind="sla_breach")}
    names = ["ticket_id", "recipients", "cc", "subject", "body", "headers", "attempts"]
    names += ["next_attempt_at", "sent_at"]
    for message in messages:
        got = stored[message.message_id]
        assert [getattr(got, n) for n in names] == _same([getattr(message, n) for n in names])
    claim = uuid.uuid4()
    bulk.insert_columns(
        SlaEvent,
        {
            "ticket_id": [ticket.pk] * 2,
            "target": ["resolution", "first_response"],
            "cycle": [0, 3],
            "kind": ["breach", "warning"],
            "due_at": MOMENTS[:2],
            "claim": [claim] * 2,
            "created_at": MOMENTS[2:4],
        },
    )
    rows = SlaEvent.objects.filter(claim=claim).order_by("cycle")
    assert [(e.target, e.cycle, e.due_at, e.created_at) for e in rows] == [
        ("resolution", 0, MOMENTS[0], MOMENTS[2]),
        ("first_response", 3, MOMENTS[1], _same(MOMENTS[3])),
    ]


def test_updated_rows_get_every_value_including_nulls(new_ticket):
    tickets = [new_ticket() for _ in range(4)]
    TicketSla.objects.filter(ticket__in=tickets).delete()  # whether or not a policy applies
    slas = [TicketSla(ticket=t, priority=t.priority, started_at=t.created_at) for t in tickets]
    TicketSla.objects.bulk_create(slas)
    for i, sla in enumerate(slas):
        sla.pauses = [[MOMENTS[i].isoformat(), None, TEXTS[i + 4]]]
        sla.paused_since = None if i % 2 else MOMENTS[i]
        sla.resolution_due_at = MOMENTS[-1 - i]
        sla.fired = 2**i
        sla.business_seconds_used = 10**9 + i
    columns = ["pauses", "paused_since", "resolution_due_at", "fired", "business_seconds_used"]
    bulk.update_rows(TicketSla, slas, columns, key="ticket")
    for sla in slas:
        stored = TicketSla.objects.get(ticket_id=sla.ticket_id)
        assert [getattr(stored, c) for c in columns] == _same([getattr(sla, c) for c in columns])


# The literals themselves, read back by PostgreSQL -------------------------------------------

pg_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="array literals are PostgreSQL's"
)

LITERAL_CASES = [
    (models.TextField(), [*TEXTS, None]),
    (models.IntegerField(), [0, -1, 2**31 - 1, None, 7]),
    (models.BigIntegerField(), [2**62, None, -(2**62)]),
    (models.BooleanField(), [True, False, None]),
    (models.DateTimeField(), [*MOMENTS, None]),  # compared in UTC (see `_same`)
    (models.DateTimeField(), [MOMENTS[0]] * 5 + MOMENTS[3:5] * 4),  # repeated moments
    (models.UUIDField(), [uuid.UUID(int=0), uuid.uuid4(), None]),
]


def _read_back(field, values):
    literal = bulk._array_literal(field, values)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT unnest(%s::{field.cast_db_type(connection)}[])", [literal])
        return literal, [row[0] for row in cursor.fetchall()]


@pg_only
@pytest.mark.parametrize(("field", "values"), LITERAL_CASES)
def test_each_type_is_sent_as_one_literal_and_read_back_unchanged(field, values):
    literal, back = _read_back(field, values)
    assert isinstance(literal, str)  # not left to psycopg
    assert back == _same(values)


@pg_only
def test_json_values_keep_sql_null_apart_from_json_null():
    field = models.JSONField()
    values = [field.get_db_prep_save(v, connection) for v in JSONS]
    values += [None, field.get_db_prep_save(Value(None, models.JSONField()), connection)]
    literal, back = _read_back(field, values)
    assert isinstance(literal, str)
    assert [None if b is None else json.loads(b) for b in back] == [*JSONS, None, None]
    with connection.cursor() as cursor:
        cursor.execute("SELECT v IS NULL FROM unnest(%s::jsonb[]) AS v", [literal])
        nulls = [row[0] for row in cursor.fetchall()]
    assert nulls == [False] * len(JSONS) + [True, False]  # SQL NULL, then JSON null


@pg_only
@pytest.mark.parametrize(
    ("field", "values"),
    [
        (models.IntegerField(), [1, Decimal(2), None]),
        (models.DateTimeField(), [MOMENTS[0], MOMENTS[0].date()]),
        (models.TextField(), ["a", 3]),
        (models.BooleanField(), [True, 1]),
    ],
)
def test_other_values_are_left_to_psycopg(field, values):
    assert bulk._array_literal(field, values) is values


def test_fast_timestamps_read_the_same_values_and_end_with_the_block(new_ticket):
    tickets = [new_ticket() for _ in range(3)]
    ids = [t.pk for t in tickets]

    def read():
        rows = TicketEvent.objects.filter(ticket_id__in=ids).order_by("pk")
        return [(e.created_at, e.created_at.tzinfo) for e in rows]

    before = read()
    loader = _loader()
    with bulk.fast_timestamps():
        inside = read()
    assert inside == before and all(zone is UTC for _at, zone in inside)
    assert _loader() is loader
    with pytest.raises(RuntimeError), bulk.fast_timestamps():
        raise RuntimeError
    assert _loader() is loader and read() == before


def _loader():
    if connection.vendor != "postgresql":
        return None
    from psycopg.pq import Format

    return connection.connection.adapters.get_loader(bulk._TIMESTAMPTZ, Format.TEXT)
