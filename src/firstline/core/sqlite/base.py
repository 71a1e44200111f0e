"""SQLite with the writing transactions of every process queued on a file lock.

SQLite lets one transaction write at a time; ours take its write lock as they begin (BEGIN
IMMEDIATE, settings.py). A connection that finds it taken polls: sqlite3's busy handler sleeps
1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms between tries, so under load waiting
requests sleep on while the database is free, and the slowest wait hundreds of milliseconds.
Here each transaction first takes an exclusive lock on a file beside the database (flock), and
the kernel wakes the next writer as soon as the previous one has committed or rolled back.

It only orders the writers: SQLite's own lock still guards the data, and writes outside a
transaction (autocommit) still poll. A database in memory (the tests') has no file to lock.
"""

import fcntl
import os

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    _turn: int | None = None  # the lock file, open while this connection holds the lock

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
