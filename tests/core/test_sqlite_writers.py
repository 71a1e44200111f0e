"""SQLite's writing transactions wait for each other on a file lock (core/sqlite/base.py),
held from BEGIN to COMMIT or ROLLBACK, instead of polling SQLite's own lock; so does a
statement that writes on its own (autocommit), while it runs."""

import fcntl
import os
import threading
import time

import pytest
from django.db.utils import ConnectionHandler, OperationalError


@pytest.fixture
def database(tmp_path, django_db_blocker):
    """Connections (one per thread) to a SQLite file that never polls: `timeout` 0 makes a
    transaction that finds the database locked fail at once."""
    path = tmp_path / "queued.sqlite3"
    options = {"transaction_mode": "IMMEDIATE", "timeout": 0}
    settings = {"ENGINE": "firstline.core.sqlite", "NAME": str(path), "OPTIONS": options}
    handler = ConnectionHandler({"default": settings})  # apart from the tests' own
    with django_db_blocker.unblock():
        with handler["default"].cursor() as cursor:
            cursor.execute("CREATE TABLE note (text TEXT)")
        yield handler, path
        handler.close_all()


def locked(path) -> bool:
    """Whether some transaction holds the writers' lock of the database at `path`."""
    fd = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def begin(connection) -> None:
    """What transaction.atomic does on SQLite."""
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def write(connection, text: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO note (text) VALUES (%s)", [text])


def test_a_transaction_holds_the_lock_until_it_commits_or_rolls_back(database):
    handler, path = database
    connection = handler["default"]
    for end in (connection.commit, connection.rollback):
        assert not locked(path)
        begin(connection)
        assert locked(path)
        write(connection, "kept" if end == connection.commit else "undone")
        end()
        connection.set_autocommit(True)
        assert not locked(path)
    with connection.cursor() as cursor:
        assert cursor.execute("SELECT text FROM note").fetchall() == [("kept",)]


def writing(database):
    """(connections, path, a connection in a transaction that has written "first")."""
    handler, path = database
    first = handler["default"]
    begin(first)
    write(first, "first")
    return handler, path, first


def in_thread(handler, work) -> tuple[threading.Thread, dict]:
    """Runs `work` on a thread's own connection; the outcome holds when its first write was
    done ("wrote") or how it failed ("error": "database is locked", it polled and gave up)."""
    outcome = {}

    def run():
        connection = handler["default"]  # this thread's own connection
        try:
            work(connection, outcome)
        except OperationalError as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def waits_for_first_to_commit(first, thread, outcome) -> None:
    time.sleep(0.2)
    assert not outcome  # still waiting its turn
    committed = time.monotonic()
    first.commit()
    first.set_autocommit(True)
    thread.join(timeout=10)
    assert "error" not in outcome
    assert outcome["wrote"] >= committed


def test_a_writer_waits_for_the_one_before_instead_of_failing(database):
    handler, _path, first = writing(database)

    def second_writer(connection, outcome):
        begin(connection)
        write(connection, "second")
        outcome["wrote"] = time.monotonic()
        connection.commit()
        connection.set_autocommit(True)

    waits_for_first_to_commit(first, *in_thread(handler, second_writer))
    with first.cursor() as cursor:
        assert cursor.execute("SELECT text FROM note").fetchall() == [("first",), ("second",)]


def test_closing_a_connection_in_a_transaction_releases_the_lock(database):
    handler, path = database
    connection = handler["default"]
    begin(connection)
    assert locked(path)
    connection.close()
    assert not locked(path)


def test_a_write_outside_a_transaction_waits_its_turn_instead_of_failing(database):
    handler, path, first = writing(database)

    def lone_writer(connection, outcome):  # in autocommit
        write(connection, "alone")
        outcome["wrote"] = time.monotonic()

    waits_for_first_to_commit(first, *in_thread(handler, lone_writer))
    assert not locked(path)  # the lone write gave the turn back
    with first.cursor() as cursor:
        rows = cursor.execute("SELECT text FROM note").fetchall()
        assert rows == [("first",), ("alone",)]
        cursor.execute("UPDATE note SET text = upper(text)")  # a lone write, here with no wait
    assert not locked(path)


def test_reading_outside_a_transaction_takes_no_turn(database):
    handler, path, first = writing(database)

    def reader(connection, outcome):
        with connection.cursor() as cursor:
            outcome["rows"] = cursor.execute("SELECT text FROM note").fetchall()

    thread, outcome = in_thread(handler, reader)
    thread.join(timeout=2)
    assert outcome["rows"] == []  # read at once, without what is not committed yet
    first.rollback()
    first.set_autocommit(True)
    assert not locked(path)
