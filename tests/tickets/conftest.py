from datetime import UTC, datetime

import pytest
import time_machine


@pytest.fixture
def whole_milliseconds():
    """Answers write times to the millisecond: a time with microseconds below 1,000 is
    written ".000Z" and read back as a whole second, which the schema renders without a
    fraction. Tests that read an answer back through its schema (test_api_output's
    assert_as_documented) run at a time whose fraction survives, so they compare shape,
    not luck."""
    with time_machine.travel(datetime(2026, 3, 2, 9, 30, 15, 250000, tzinfo=UTC), tick=False):
        yield
