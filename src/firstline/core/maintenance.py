"""Keeps SQLite's planner statistics in step with a growing desk.

SQLite chooses indexes from what ANALYZE last counted (sqlite_stat1), and nothing counts
again by itself. A desk migrated while empty has no statistics for its tickets at all:
with SQLite's guesses instead, a group queue's rows query chose the wrong index and took
41 ms instead of 17 at 1M tickets. PostgreSQL's autovacuum analyses
again by itself, so there this does nothing; filled_tables names the tables worth analysing
after a bulk load there (an empty one analysed stays "empty" to its planner).
"""

import logging

from django.db import connection

log = logging.getLogger(__name__)

GROWTH = 1.25  # analyse a table again once it holds 25% more rows
MIN_ROWS = 1000  # smaller tables are read whole whatever the plan


def stale_tables() -> dict[str, tuple[int | None, int]]:
    """The tables that have grown well past their statistics: name -> (rows when last
    analysed or None, rows now). The largest rowid says cheaply which ones may have (no
    counting of millions of rows every time); those are then counted."""
    if connection.vendor != "sqlite":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND sql NOT LIKE '%WITHOUT ROWID%'"
        )
        tables = [name for (name,) in cursor.fetchall()]
        analysed = _analysed_rows(cursor)
        stale = {}
        for table in tables:
            cursor.execute(f'SELECT MAX(rowid) FROM "{table}"')
            at_most = cursor.fetchone()[0] or 0
            if not _grown(analysed.get(table), at_most):
                continue
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            (rows,) = cursor.fetchone()
            if _grown(analysed.get(table), rows):
                stale[table] = (analysed.get(table), rows)
    return stale


def _analysed_rows(cursor) -> dict[str, int]:
    """Rows per table when ANALYZE last ran: the first number of each sqlite_stat1 entry."""
    cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
    if cursor.fetchone() is None:
        return {}
    cursor.execute("SELECT tbl, stat FROM sqlite_stat1")
    rows: dict[str, int] = {}
    for table, stat in cursor.fetchall():
        first = (stat or "").split(" ", 1)[0]
        if first.isdigit():
            rows[table] = max(rows.get(table, 0), int(first))
    return rows


def _grown(before: int | None, rows: int) -> bool:
    return rows >= MIN_ROWS and rows > (before or 0) * GROWTH


def refresh_sqlite_statistics() -> list[str]:
    """Runs a full ANALYZE of every stale table and returns their names. Full, not sampled
    (analysis_limit): a sample misjudged how rare each ticket status is 100-fold and made
    the queues 10 times slower."""
    stale = stale_tables()
    if not stale:
        return []
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit = 0")
        for table, (before, rows) in stale.items():
            cursor.execute(f'ANALYZE "{table}"')
            log.info("Statistics of %s refreshed: %s -> %s rows", table, before, rows)
    return sorted(stale)


def filled_tables(cursor) -> list[str]:
    """The quoted names of the tables that hold at least one row (PostgreSQL; any DB-API
    cursor: the benchmarks call it without Django)."""
    cursor.execute(
        "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables ORDER BY 1"
    )
    filled = []
    for (table,) in cursor.fetchall():
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
        if cursor.fetchone()[0]:
            filled.append(table)
    return filled
