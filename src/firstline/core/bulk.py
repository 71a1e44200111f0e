"""Set-based writes Django has no fast form for.

`QuerySet.bulk_update` builds a CASE expression per row and column, and `bulk_create` a
placeholder per value, which for thousands of rows costs more to compile than to run.
These send each column as one array instead: on PostgreSQL one statement over `unnest(...)`
with the arrays bound in binary (Django's client-side binding would quote every element),
elsewhere one prepared statement run per row. Neither sends signals or sets primary keys on
the instances, which is all the sweep's bulk writes need.
"""

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connection, connections, models


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
    meta = model._meta
    columns = [f for f in meta.concrete_fields if not f.primary_key or f.attname != "id"]
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in columns)
    table = quote(meta.db_table)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        values = [_column(field, chunk) for field in columns]
        if connection.vendor == "postgresql":
            conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
            _execute_arrays(
                f"INSERT INTO {table} ({names}) SELECT * FROM unnest({_arrays(columns)}){conflict}",
                values,
            )
            continue
        verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
        marks = ", ".join("%s" for _ in columns)
        with connection.cursor() as cursor:
            sql = f"{verb} INTO {table} ({names}) VALUES ({marks})"
            cursor.executemany(sql, list(zip(*values, strict=True)))


# What `insert_one` sends, per model (and vendor, conflict handling): built once per process.
_ONE_ROW: dict[tuple, tuple] = {}


def insert_one(
    instance: models.Model, *, ignore_conflicts: bool = False, then: models.Model | None = None
) -> None:
    """Inserts one unsaved instance and sets its key, with a statement built once per model:
    `Model.save()` compiles the INSERT anew every time, which costs Python more than the
    database spends on the row. Like `bulk_create`, it sends no model signals.
    `then`: an unsaved row that refers to `instance` (a new ticket's first history entry),
    inserted with it; on PostgreSQL in the same statement."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of `connection` looks it up again
    if then is not None and db.vendor == "postgresql" and not ignore_conflicts:
        _insert_pair(db, instance, then)
        return
    sql, fields, plain, numbered = _plan(db, type(instance), ignore_conflicts)
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


def _values(db, instance: models.Model, fields: list, plain: list[bool]) -> list:
    return [
        getattr(instance, field.attname)
        if as_is
        else field.get_db_prep_save(field.pre_save(instance, True), db)
        for field, as_is in zip(fields, plain, strict=True)
    ]


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
    plain = [
        postgresql
        and f.get_internal_type() in _PLAIN_ON_POSTGRESQL
        and not getattr(f, "auto_now", False)
        and not getattr(f, "auto_now_add", False)
        for f in fields
    ]
    return sql, fields, plain, numbered


def _arrays(fields: Sequence[models.Field]) -> str:
    return ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in fields)


def _execute_arrays(sql: str, values: list[list]) -> None:
    """Runs `sql` on Django's connection (same transaction) with server-side binding."""
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, values, binary=True)


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
    if connection.vendor == "postgresql" and field.get_internal_type() in _PLAIN_ON_POSTGRESQL:
        return [getattr(row, attname) for row in rows]
    return [field.get_db_prep_save(getattr(row, attname), connection) for row in rows]
