"""SQLite with the writing transactions of every process queued on a file lock.

SQLite lets one transaction write at a time; ours take its write lock as they begin (BEGIN
IMMEDIATE, settings.py). A connection that finds it taken polls: sqlite3's busy handler sleeps
1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms between tries, so under load waiting
requests sleep on while the database is free, and the slowest wait hundreds of milliseconds.
Here each transaction first takes an exclusive lock on a file beside the database (flock), and
the kernel wakes the next writer as soon as the previous one has committed or rolled back.

It only orders the writers: SQLite's own lock still guards the data. A statement that writes
outside a transaction (autocommit: an INSERT, UPDATE or DELETE on its own) takes the same turn
while it runs: polling, it could lose every round to the queued transactions and fail once
`timeout` had passed ("database is locked"). A database in memory (the tests') has no file to
lock.

Also, `iexact` is written as PostgreSQL writes it (below).
"""

import fcntl
import os

from django.db.backends.sqlite3 import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    """`iexact` as UPPER(column) = UPPER(value), as on PostgreSQL, instead of Django's
    `column LIKE value ESCAPE '\\'`: the same case folding (SQLite's LIKE and UPPER both fold
    ASCII letters only), but an index on UPPER(column) serves it, where a LIKE with an ESCAPE
    clause reads every row ("is this name or address taken?" at each new sender of mail)."""

    def lookup_cast(self, lookup_type, internal_type=None):
        if lookup_type == "iexact":
            return "UPPER(%s)"
        return super().lookup_cast(lookup_type, internal_type)

    def prep_for_iexact_query(self, x):
        return x  # compared with =, not LIKE: % and _ are plain characters already


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class CursorWrapper(base.SQLiteCursorWrapper):
    """Takes the writers' turn around a statement that writes on its own (see above)."""

    wrapper: "DatabaseWrapper"  # set by DatabaseWrapper.create_cursor

    def execute(self, query, params=None):
        return self._run(super().execute, query, params)

    def executemany(self, query, param_list):
        return self._run(super().executemany, query, param_list)

    def _run(self, statement, query, arguments):
        writes_alone = (
            self.wrapper._turn is None
            and not self.connection.in_transaction
            and query.lstrip()[:7].upper().startswith(_WRITES)
        )
        if not writes_alone:
            return statement(query, arguments)
        self.wrapper._take_turn()
        try:
            return statement(query, arguments)
        finally:
            self.wrapper._end_turn()


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    operators = {**base.DatabaseWrapper.operators, "iexact": "= UPPER(%s)"}
    _turn: int | None = None  # the lock file, open while this connection holds the lock

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=CursorWrapper)
        cursor.wrapper = self
        return cursor

    def _start_transaction_under_autocommit(self):
        self._take_turn()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._end_turn()
            raise

    def _commit(self):
        try:
            super()._commit()
        finally:
            self._end_turn()

    def _rollback(self):
        try:
            super()._rollback()
        finally:
            self._end_turn()

    def _close(self):
        try:
            super()._close()
        finally:
            self._end_turn()

    def _take_turn(self) -> None:
        if self._turn is not None or self.is_in_memory_db():
            return
        fd = os.open(f"{self.settings_dict['NAME']}-writers", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits without holding the GIL
        except BaseException:
            os.close(fd)
            raise
        self._turn = fd

    def _end_turn(self) -> None:
        if self._turn is not None:
            fd, self._turn = self._turn, None
            os.close(fd)  # releases the lock
