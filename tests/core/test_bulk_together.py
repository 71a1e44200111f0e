"""Writes sent together (core/bulk.py, `writes_together`): on PostgreSQL the writes nobody
reads an answer of travel as one statement, sent before anything else the connection runs
and when the block ends; an error drops them with its transaction. Elsewhere they run at once.
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from firstline.core import bulk
from firstline.tickets.models import Tag

pytestmark = pytest.mark.django_db

INSERT_TAG = "INSERT INTO tickets_tag (name) VALUES (%s)"
POSTGRESQL = connection.vendor == "postgresql"


def names() -> list[str]:
    return sorted(Tag.objects.values_list("name", flat=True))


def test_outside_a_block_a_write_runs_at_once():
    bulk.execute_later(INSERT_TAG, ["alone"])
    assert names() == ["alone"]


def test_the_writes_of_a_block_are_one_statement_sent_when_it_ends():
    with CaptureQueriesContext(connection) as queries, bulk.writes_together():
        bulk.execute_later(INSERT_TAG, ["first"])
        bulk.execute_later(INSERT_TAG, ["second, with \"quotes\" and 'more'"])
        bulk.execute_later(INSERT_TAG, ["third"])
        sent_in_the_block = len(queries)
    assert names() == ["first", "second, with \"quotes\" and 'more'", "third"]
    if POSTGRESQL:
        assert sent_in_the_block == 0
        assert len(queries) == 1
        assert queries[0]["sql"].startswith("WITH w0 AS (INSERT INTO tickets_tag")
    else:
        assert sent_in_the_block == 3


def test_a_statement_in_the_block_finds_the_writes_made_before_it():
    with CaptureQueriesContext(connection) as queries, bulk.writes_together():
        bulk.execute_later(INSERT_TAG, ["earlier"])
        assert names() == ["earlier"]
        bulk.execute_later(INSERT_TAG, ["later"])
    assert names() == ["earlier", "later"]
    if POSTGRESQL:  # the write, the read, the write: in the order they were made
        assert [q["sql"].split()[0] for q in queries.captured_queries] == [
            "INSERT",
            "SELECT",
            "INSERT",
        ]


def test_a_bulk_write_in_the_block_comes_after_the_writes_made_before_it():
    with bulk.writes_together():
        bulk.execute_later(INSERT_TAG, ["kept"])
        bulk.insert_rows(Tag, [Tag(name="kept")], ignore_conflicts=True)  # finds it: no row
        bulk.insert_rows(Tag, [Tag(name="new")])
    assert names() == ["kept", "new"]


def test_an_error_leaving_the_block_drops_its_writes():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Tag.objects.create(name="undone")
        with bulk.writes_together():
            bulk.execute_later(INSERT_TAG, ["never"])
            raise ZeroDivisionError
    assert names() == []
    with bulk.writes_together():  # the connection is left as it was
        bulk.execute_later(INSERT_TAG, ["after"])
    assert names() == ["after"]


def test_a_block_inside_another_sends_with_the_outer_one():
    with CaptureQueriesContext(connection) as queries, bulk.writes_together():
        bulk.execute_later(INSERT_TAG, ["outer"])
        with bulk.writes_together():
            bulk.execute_later(INSERT_TAG, ["inner"])
        inner_ended = len(queries)
    assert names() == ["inner", "outer"]
    assert inner_ended == (0 if POSTGRESQL else 2)
