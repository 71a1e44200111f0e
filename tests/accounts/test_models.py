import pytest
from django.db import connection

from firstline.accounts.models import User
from firstline.accounts.services import _InsertRequester, insert_requester

pytestmark = pytest.mark.django_db


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of test rows: else a scan
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    "lookup, index",
    [
        ("username__iexact", "accounts_user_username_upper"),
        ("email__iexact", "accounts_user_email_upper"),
    ],
)
def test_is_a_name_or_address_taken_reads_an_index_not_every_user(lookup, index):
    User.objects.create_user(username="Ann", email="Ann@Example.com")
    query = User.objects.filter(**{lookup: "ANN@example.COM" if "email" in lookup else "ann"})
    assert query.exists()
    assert index in _plan(*query.values("pk").query.sql_with_params())


def test_a_new_sender_is_checked_against_the_indexes():
    assert insert_requester(username="bo", email="bo@example.com") is not None
    assert insert_requester(username="BO", email="other@example.com") is None
    assert insert_requester(username="other", email="BO@EXAMPLE.COM") is None
    taken = _InsertRequester.sql().split("WHERE NOT EXISTS")[1].removesuffix(" RETURNING id")
    taken = taken.strip().removeprefix("(").split(") ON CONFLICT")[0]
    plan = _plan(taken, ["x", "x@example.com"])
    assert "accounts_user_username_upper" in plan and "accounts_user_email_upper" in plan


@pytest.mark.parametrize("lookup", ["username__iexact", "email__iexact"])
def test_iexact_folds_ascii_case_and_nothing_else(lookup):
    """The same answers on both databases: ASCII letters fold, % and _ are plain characters
    (no LIKE wildcards), and a letter beyond ASCII matches itself."""
    ann = User.objects.create_user(username="Ann_1", email="Ann_1@Example.com")
    User.objects.create_user(username="Zoë", email="zoë@example.com")
    value = "ANN_1@example.COM" if "email" in lookup else "aNN_1"
    assert list(User.objects.filter(**{lookup: value})) == [ann]
    for other in (value.replace("_", "%"), value.replace("_", "x"), value[:-1]):
        assert not User.objects.filter(**{lookup: other}).exists()
    assert User.objects.filter(username__iexact="ZOë").exists()
    assert User.objects.filter(email__iexact="Zoë@EXAMPLE.com").exists()
