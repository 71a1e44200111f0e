"""Markers shared by the test modules."""

import pytest
from django.db import connection


def needs_concurrent_writers(covered: str = "") -> pytest.MarkDecorator:
    """Skips on SQLite: its shared in-memory test database fails concurrent writers at once
    ("database table is locked") where a real SQLite file queues them (IMMEDIATE transactions,
    busy timeout) and PostgreSQL makes them wait. `covered` says what covers SQLite instead."""
    reason = "threads writing at once need PostgreSQL (SQLite's in-memory test database fails "
    reason += "lock waits)" + (f"; {covered}" if covered else "")
    return pytest.mark.skipif(connection.vendor == "sqlite", reason=reason)
