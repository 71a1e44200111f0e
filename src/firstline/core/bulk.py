"""Set-based writes Django has no fast form for.

`QuerySet.bulk_update` builds a CASE expression per row and column, and `bulk_create` a
placeholder per value, which for thousands of rows costs more to compile than to run.
These send each column as one array instead: on PostgreSQL one statement over `unnest(...)`
with the arrays bound in binary (Django's client-side binding would quote every element),
elsewhere one prepared statement run per row. Neither sends signals or sets primary keys on
the instances, which is all the sweep's bulk writes need.
"""

from collections.abc import Sequence

from django.db import connection, models


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
