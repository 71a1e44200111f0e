"""Set-based writes Django has no fast form for.

`QuerySet.bulk_update` builds a CASE expression per row and column, and `bulk_create` a
placeholder per value, which for thousands of rows costs more to compile than to run.
These send each column as one array instead: on PostgreSQL one statement over `unnest(...)`
with each array bound server-side as one array literal (Django's client-side binding would
quote every element, and psycopg adapts a list element by element in Python), elsewhere one
prepared statement run per row. Neither sends signals or sets primary keys on the instances,
which is all the sweep's bulk writes need. `fast_timestamps` speeds up reading many rows.
"""

import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from psycopg.adapt import Loader
from psycopg.types.json import Jsonb


def update_rows(
    model: type[models.Model], rows: Sequence[models.Model], fields: Sequence[str], *, key="pk"
) -> None:
    """Writes `fields` of `rows` (instances of `model`, matched on `key`)."""
    if not rows or not fields:
        return
    meta = model._meta
    key_field = meta.pk if key == "pk" else meta.get_field(key)
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table, where = quote(meta.db_table), quote(key_field.column)
    values = [_column(field, rows) for field in [key_field, *columns]]
    if connection.vendor == "postgresql":
        names = ", ".join(f"c{i}" for i in range(len(columns) + 1))
        assignments = ", ".join(f"{quote(f.column)} = v.c{i + 1}" for i, f in enumerate(columns))
        _execute_arrays(
            f"UPDATE {table} AS t SET {assignments} FROM unnest({_arrays([key_field, *columns])}) "
            f"AS v({names}) WHERE t.{where} = v.c0",
            [key_field, *columns],
            values,
        )
        return
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE {where} = %s",
            [(*(column[i] for column in values[1:]), values[0][i]) for i in range(len(rows))],
        )


def insert_rows(
    model: type[models.Model],
    rows: Sequence[models.Model],
    *,
    ignore_conflicts: bool = False,
    batch_size: int = 5000,
) -> None:
    """Inserts `rows` (unsaved instances of `model`; the database numbers them)."""
    columns = _inserted_fields(model)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        _insert(model, columns, [_column(f, chunk) for f in columns], ignore_conflicts)


def insert_columns(
    model: type[models.Model],
    columns: Mapping[str, Sequence],
    *,
    ignore_conflicts: bool = False,
    batch_size: int = 5000,
) -> None:
    """`insert_rows` for rows given column by column, each column's values under its field's
    attname (`ticket_id`), every column but the numbered key required: thousands of rows
    written without a model instance each, whose construction costs more than the insert."""
    fields = _inserted_fields(model)
    names = {f.attname for f in fields}
    if columns.keys() != names:
        missing, unknown = sorted(names - columns.keys()), sorted(columns.keys() - names)
        raise ValueError(f"{model.__name__} columns: missing {missing}, unknown {unknown}")
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"{model.__name__} columns of different lengths: {sorted(lengths)}")
    count = lengths.pop() if lengths else 0
    for start in range(0, count, batch_size):
        values = [_prepared(f, columns[f.attname][start : start + batch_size]) for f in fields]
        _insert(model, fields, values, ignore_conflicts)


def _inserted_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key or f.attname != "id"]


def _insert(model, fields: list[models.Field], values: list[list], ignore_conflicts: bool):
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    table = quote(model._meta.db_table)
    if connection.vendor == "postgresql":
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        _execute_arrays(
            f"INSERT INTO {table} ({names}) SELECT * FROM unnest({_arrays(fields)}){conflict}",
            fields,
            values,
        )
        return
    verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
    marks = ", ".join("%s" for _ in fields)
    with connection.cursor() as cursor:
        sql = f"{verb} INTO {table} ({names}) VALUES ({marks})"
        cursor.executemany(sql, list(zip(*values, strict=True)))


# What `insert_one` sends, per model (and vendor, conflict handling): built once per process.
_ONE_ROW: dict[tuple, tuple] = {}


def new_row_values(instance: models.Model) -> list:
    """What `save()` would write for the new `instance`, one value per concrete field in
    model order (without a numbered key), prepared as `insert_one` prepares them: for a
    statement of one's own that inserts it (an INSERT ... WHERE NOT EXISTS, say)."""
    db = connections[DEFAULT_DB_ALIAS]
    _sql, fields, plain, _numbered = _plan(db, type(instance), False)
    return _values(db, instance, fields, plain)


def insert_one(
    instance: models.Model, *, ignore_conflicts: bool = False, then: models.Model | None = None
) -> None:
    """Inserts one unsaved instance and sets its key, with a statement built once per model:
    `Model.save()` compiles the INSERT anew every time, which costs Python more than the
    database spends on the row. Like `bulk_create`, it sends no model signals.
    `then`: an unsaved row that refers to `instance` (a new ticket's first history entry),
    inserted with it; on PostgreSQL in the same statement. A row without a numbered key
    inserted inside `writes_together` is sent with the block's other writes."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of `connection` looks it up again
    if then is not None and db.vendor == "postgresql" and not ignore_conflicts:
        _insert_pair(db, instance, then)
        return
    sql, fields, plain, numbered = _plan(db, type(instance), ignore_conflicts)
    pending = getattr(db, _PENDING, None)
    if pending is not None and not numbered and then is None:  # nothing to read back
        pending.append((sql, _values(db, instance, fields, plain)))
        _saved(db, instance)
        return
    with db.cursor() as cursor:
        cursor.execute(sql, _values(db, instance, fields, plain))
        if numbered and db.vendor == "postgresql":
            instance.pk = cursor.fetchone()[0]
        elif numbered:
            instance.pk = cursor.lastrowid
    _saved(db, instance)
    if then is not None:
        setattr(then, _link(type(then), type(instance)).name, instance)
        insert_one(then)


# --- Writes sent together ------------------------------------------------------------------
# Each statement is a round trip to PostgreSQL, which a request under load pays in latency
# and in the CPU of switching between the server and the database. Writes whose answer
# nobody reads (a new ticket's SLA clock and search document) can travel as one statement.

_PENDING = "_firstline_pending_writes"  # the connection's list while `writes_together` runs


@contextlib.contextmanager
def writes_together() -> Iterator[None]:
    """Within the block, on PostgreSQL, `execute_later` statements and `insert_one` rows
    without a numbered key are kept, then sent as one statement (`WITH w0 AS (...), w1 AS
    (...) SELECT 1`): when the block ends, or first thing before any other statement the
    connection runs in the block, so the database sees them in the order they were made.
    An error leaving the block drops them (its transaction rolls back). Elsewhere (SQLite,
    whose statements cost no round trip), and nested in another block, it does nothing."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or getattr(db, _PENDING, None) is not None:
        yield
        return
    pending: list[tuple[str, list]] = []
    setattr(db, _PENDING, pending)
    try:
        with db.execute_wrapper(_sending_pending_first):
            yield
            _send_pending(db)
    finally:
        setattr(db, _PENDING, None)


def execute_later(sql: str, params: Sequence) -> None:
    """Runs a data-modifying statement (INSERT, UPDATE or DELETE) whose answer is not read:
    inside `writes_together`, with the block's others; otherwise now."""
    db = connections[DEFAULT_DB_ALIAS]
    pending = getattr(db, _PENDING, None)
    if pending is not None:
        pending.append((sql, list(params)))
        return
    with db.cursor() as cursor:
        cursor.execute(sql, params)


def _sending_pending_first(execute, sql, params, many, context):
    _send_pending(context["connection"])
    return execute(sql, params, many, context)


def _send_pending(db) -> None:
    pending = getattr(db, _PENDING, None)
    if not pending:
        return
    statements = pending[:]
    pending.clear()  # before executing: the wrapper sees nothing left to send
    if len(statements) == 1:
        sql, params = statements[0]
    else:
        parts = ", ".join(f"w{i} AS ({sql})" for i, (sql, _params) in enumerate(statements))
        sql = f"WITH {parts} SELECT 1"
        params = [value for _sql, values in statements for value in values]
    with db.cursor() as cursor:
        cursor.execute(sql, params)


def _insert_pair(db, parent: models.Model, child: models.Model) -> None:
    """`WITH p AS (INSERT parent RETURNING id) INSERT child (..., (SELECT id FROM p), ...)`."""
    key = (type(parent), type(child), "pair")
    plan = _ONE_ROW.get(key)
    if plan is None:
        parent_sql, parent_fields, parent_plain, _numbered = _plan(db, type(parent), False)
        child_sql, child_fields, child_plain, _numbered = _plan(db, type(child), False)
        link = _link(type(child), type(parent))
        at = child_fields.index(link)
        parent_key = db.ops.quote_name(parent._meta.pk.column)
        marks = ["%s"] * len(child_fields)
        marks[at] = f"(SELECT {parent_key} FROM parent)"
        child_sql = child_sql.replace(", ".join(["%s"] * len(child_fields)), ", ".join(marks))
        child_key = db.ops.quote_name(child._meta.pk.column)
        sql = f"WITH parent AS ({parent_sql}), child AS ({child_sql}) "
        sql += f"SELECT (SELECT {parent_key} FROM parent), (SELECT {child_key} FROM child)"
        fields = [*parent_fields, *child_fields[:at], *child_fields[at + 1 :]]
        plain = [*parent_plain, *child_plain[:at], *child_plain[at + 1 :]]
        plan = _ONE_ROW[key] = (sql, link, len(parent_fields), fields, plain)
    sql, link, split, fields, plain = plan
    values = _values(db, parent, fields[:split], plain[:split])
    values += _values(db, child, fields[split:], plain[split:])
    with db.cursor() as cursor:
        cursor.execute(sql, values)
        parent.pk, child.pk = cursor.fetchone()
    setattr(child, link.name, parent)
    _saved(db, parent)
    _saved(db, child)


def _link(child: type[models.Model], parent: type[models.Model]) -> models.ForeignKey:
    return next(
        f for f in child._meta.concrete_fields if f.is_relation and f.related_model is parent
    )


def _plan(db, model: type[models.Model], ignore_conflicts: bool):
    key = (model, db.vendor, ignore_conflicts)
    plan = _ONE_ROW.get(key)
    if plan is None:
        plan = _ONE_ROW[key] = _one_row_plan(model, db, ignore_conflicts)
    return plan


# How `_values` sends a field's values (a plan's `plain`): as they are (_AS_IS), as Django
# prepares them (_PREPARED), or, on SQLite, as they are when Django's preparation would leave
# them so (the types of _KEPT_ON_SQLITE) and moments as Django's SQLite backend writes them.
_AS_IS, _PREPARED, _SQLITE_INTEGER, _SQLITE_TEXT, _SQLITE_MOMENT = True, False, 2, 3, 4
_NONE = type(None)
_KEPT_ON_SQLITE = {_SQLITE_INTEGER: (int, _NONE), _SQLITE_TEXT: (str, _NONE)}


def _values(db, instance: models.Model, fields: list, plain: list) -> list:
    values = []
    for field, how in zip(fields, plain, strict=True):
        if how is _AS_IS:
            values.append(getattr(instance, field.attname))
            continue
        if how is not _PREPARED:
            value = getattr(instance, field.attname)
            if how == _SQLITE_MOMENT:
                if value is None:
                    values.append(None)
                    continue
                if type(value) is datetime and value.tzinfo is UTC:
                    # As adapt_datetimefield_value writes it: naive, in UTC (the connection's).
                    values.append(str(value.replace(tzinfo=None)))
                    continue
            elif type(value) in _KEPT_ON_SQLITE[how]:  # int(), str() would give the same
                values.append(value)
                continue
        values.append(field.get_db_prep_save(field.pre_save(instance, True), db))
    return values


def _saved(db, instance: models.Model) -> None:
    instance._state.adding = False
    instance._state.db = db.alias


def _one_row_plan(model: type[models.Model], db, ignore_conflicts: bool):
    meta = model._meta
    numbered = isinstance(meta.pk, models.AutoField | models.BigAutoField | models.SmallAutoField)
    if numbered and ignore_conflicts:
        raise ValueError("An ignored conflict leaves no key to set on the instance.")
    fields = [f for f in meta.concrete_fields if not (numbered and f.primary_key)]
    quote = db.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join("%s" for _ in fields)
    postgresql = db.vendor == "postgresql"
    verb = "INSERT OR IGNORE" if ignore_conflicts and not postgresql else "INSERT"
    sql = f"{verb} INTO {quote(meta.db_table)} ({names}) VALUES ({marks})"
    if postgresql:
        sql += " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        sql += f" RETURNING {quote(meta.pk.column)}" if numbered else ""
    plain = [_how(f, db) for f in fields]
    return sql, fields, plain, numbered


def _how(field: models.Field, db):
    """How `_values` sends `field`'s values on `db` (see `_AS_IS`...)."""
    kind = field.get_internal_type()
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return _PREPARED  # pre_save sets them
    if db.vendor == "postgresql":
        return _AS_IS if kind in _PLAIN_ON_POSTGRESQL else _PREPARED
    if db.vendor != "sqlite":
        return _PREPARED
    if kind == "DateTimeField" and db.timezone is UTC:
        return _SQLITE_MOMENT
    target = field
    while target.is_relation:  # a foreign key's values are its target's
        target = target.target_field
    target_kind = target.get_internal_type()
    if kind in _INTEGERS or (field.is_relation and target_kind in _INTEGERS):
        return _SQLITE_INTEGER
    if kind in ("CharField", "TextField"):
        return _SQLITE_TEXT
    return _PREPARED


_INTEGERS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallAutoField",
        "SmallIntegerField",
    }
)


def _arrays(fields: Sequence[models.Field]) -> str:
    return ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in fields)


def _execute_arrays(sql: str, fields: Sequence[models.Field], columns: list[list]) -> None:
    """Runs `sql` on Django's connection (same transaction) with server-side binding, each
    column as an array literal when its values allow (see `_array_literal`)."""
    params = [_array_literal(field, values) for field, values in zip(fields, columns, strict=True)]
    connection.ensure_connection()
    _send_pending(connection)  # this cursor is psycopg's own: no execute wrapper sees it
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)


# Values psycopg sends as they are: Django's preparation would only copy them.
_PLAIN_ON_POSTGRESQL = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateTimeField",
        "ForeignKey",
        "IntegerField",
        "OneToOneField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
        "UUIDField",
    }
)


def _column(field: models.Field, rows: Sequence[models.Model]) -> list:
    attname = field.attname
    return _prepared(field, [getattr(row, attname) for row in rows])


def _prepared(field: models.Field, values: Sequence) -> Sequence:
    if connection.vendor == "postgresql" and field.get_internal_type() in _PLAIN_ON_POSTGRESQL:
        return values
    return [field.get_db_prep_save(value, connection) for value in values]


# --- Array literals -------------------------------------------------------------------------
# psycopg adapts a list in Python, about 2 µs an element. The text of an array literal
# (https://www.postgresql.org/docs/current/arrays.html#ARRAYS-IO) costs a fraction of that
# for the types written here in bulk; the statement's `::type[]` cast parses it. Values of
# any other type (or mixed) are left to psycopg, as before.

_NONE = type(None)


def _array_literal(field: models.Field, values: Sequence) -> str | Sequence:
    """`values` as the text of a PostgreSQL array of `field`'s type, or as they are."""
    while field.is_relation:
        field = field.target_field
    encode = _LITERALS.get(field.get_internal_type())
    if encode is None or not values:
        return values
    literal = encode(values, set(map(type, values)))
    return values if literal is None else literal


def _ints(values: Sequence, types: set) -> str | None:
    if types == {int}:
        return "{" + ",".join(map(str, values)) + "}"
    if not all(t is _NONE or (issubclass(t, int) and t is not bool) for t in types):
        return None
    return "{" + ",".join("NULL" if v is None else int.__repr__(v) for v in values) + "}"


def _escaped(text: str) -> str:
    """Text inside the double quotes of an array element."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _texts(values: Sequence, types: set) -> str | None:
    if not all(t is _NONE or issubclass(t, str) for t in types):
        return None
    if _NONE not in types:
        joined = "\x00".join(values)  # no text in PostgreSQL holds NUL: a safe separator
        if joined.count("\x00") == len(values) - 1:
            return '{"' + _escaped(joined).replace("\x00", '","') + '"}'
    return "{" + ",".join("NULL" if v is None else f'"{_escaped(v)}"' for v in values) + "}"


def _utc_text(moment: datetime | None) -> str:
    """ISO 8601 in UTC; a naive moment as it is (the session's time zone, as psycopg does)."""
    if moment is None:
        return "NULL"
    zone = moment.tzinfo
    return (moment if zone is None or zone is UTC else moment.astimezone(UTC)).isoformat()


def _datetimes(values: Sequence, types: set) -> str | None:
    if not types <= {datetime, _NONE}:
        return None
    distinct = set(values)
    # Often one moment (now) for every row: each text written once. Not in other zones, where
    # a repeated hour's two readings are equal for Python (PEP 495) though not the same instant.
    if len(distinct) * 2 < len(values) and {m and m.tzinfo for m in distinct} <= {UTC, None}:
        texts = {moment: _utc_text(moment) for moment in distinct}
        return "{" + ",".join(map(texts.__getitem__, values)) + "}"
    return "{" + ",".join(map(_utc_text, values)) + "}"


def _booleans(values: Sequence, types: set) -> str | None:
    if not types <= {bool, _NONE}:
        return None
    return "{" + ",".join(_BOOLEAN_TEXT[v] for v in values) + "}"


_BOOLEAN_TEXT = {True: "t", False: "f", None: "NULL"}


def _uuids(values: Sequence, types: set) -> str | None:
    if not types <= {uuid.UUID, _NONE}:
        return None
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def _jsons(values: Sequence, types: set) -> str | None:
    """JSONField values as Django prepares them: `Jsonb` wrappers with their `dumps`."""
    if not types <= {Jsonb, _NONE} or any(v is not None and v.dumps is None for v in values):
        return None
    texts = [None if v is None else v.dumps(v.obj) for v in values]
    return _texts(texts, set(map(type, texts)))


_LITERALS = {
    **dict.fromkeys(
        (
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
            "BigIntegerField",
            "IntegerField",
            "PositiveBigIntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "SmallIntegerField",
        ),
        _ints,
    ),
    "CharField": _texts,
    "TextField": _texts,
    "SlugField": _texts,
    "DateTimeField": _datetimes,
    "BooleanField": _booleans,
    "UUIDField": _uuids,
    "JSONField": _jsons,
}


# --- Reading timestamps ---------------------------------------------------------------------

_TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid


@contextlib.contextmanager
def fast_timestamps() -> Iterator[None]:
    """Within the block, Django's PostgreSQL connection reads `timestamp with time zone` with
    psycopg's own loader (compiled) instead of the one Django registers (Python, about 2 µs
    a value: a sweep batch reads tens of thousands). The values are the same aware UTC
    datetimes, so it applies only when the session's time zone is UTC (USE_TZ)."""
    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor != "postgresql" or connection.timezone is not UTC:
        yield
        return
    if raw.info.timezone is not UTC:  # a session zone spelt otherwise ("Etc/UTC")
        yield
        return
    django_loader = raw.adapters.get_loader(_TIMESTAMPTZ, psycopg.pq.Format.TEXT)
    raw.adapters.register_loader(_TIMESTAMPTZ, _TimestamptzLoader)
    try:
        yield
    finally:
        raw.adapters.register_loader(_TIMESTAMPTZ, django_loader)


class _TimestamptzLoader(Loader):
    """psycopg's default text loader of timestamptz, with the `timezone` that Django's
    `create_cursor` compares with the connection's (equal: no per-cursor loader)."""

    timezone = UTC

    def __init__(self, oid: int, context=None):
        super().__init__(oid, context)
        default = psycopg.adapters.get_loader(oid, psycopg.pq.Format.TEXT)
        self.load = default(oid, context).load  # called directly: no Python frame per value

    def load(self, data):  # replaced in __init__; required by the abstract base class
        raise NotImplementedError
