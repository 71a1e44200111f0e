"""Token authentication keeps the tokens it has seen per process, yet a revoked token, a
deactivated user or a changed role counts from the next request in every process."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.accounts import services
from firstline.accounts.models import ApiToken, Role
from firstline.core import revisions

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_api(desk, api):
    client = api(desk.alice)
    assert client.get("tickets").status_code == 200  # this process now knows the token
    return client


def test_a_token_revoked_by_another_process_is_refused_at_once(desk, alice_api, elsewhere):
    with elsewhere():
        services.revoke_api_token(token=ApiToken.objects.get(user=desk.alice))
    assert alice_api.get("tickets").status_code == 401


def test_a_user_deactivated_by_another_process_is_refused_at_once(desk, alice_api, elsewhere):
    with elsewhere():
        desk.alice.is_active = False
        desk.alice.save(update_fields=["is_active"])
    assert alice_api.get("tickets").status_code == 401


def test_a_role_changed_by_another_process_counts_at_once(desk, alice_api, elsewhere):
    refused = alice_api.post("tickets", {"subject": "For L2", "group": "l2"})
    assert refused.status_code == 403
    with elsewhere():
        desk.alice.role = Role.AGENT
        desk.alice.save(update_fields=["role"])
    accepted = alice_api.post("tickets", {"subject": "For L2", "group": "l2"})
    assert accepted.status_code == 201
    assert accepted.json()["group"]["slug"] == "l2"


def test_a_known_token_is_checked_without_reading_it_again(desk, alice_api):
    with CaptureQueriesContext(connection) as queries:
        assert alice_api.get("tickets").status_code == 200
    assert not [q for q in queries.captured_queries if "accounts_apitoken" in q["sql"]]


def test_the_last_use_is_still_remembered_at_most_once_a_minute(desk, api):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        client = api(desk.alice)
        client.get("tickets")
    token = ApiToken.objects.get(user=desk.alice)
    assert token.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        client.get("tickets")
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        client.get("tickets")
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(minutes=2)


def test_each_request_gets_its_own_user(desk):
    _token, secret = services.create_api_token(user=desk.alice)
    first = services.authenticate_api_token(secret)
    first.first_name = "Changed in one request"
    second = services.authenticate_api_token(secret)
    assert second == desk.alice and second is not first
    assert second.first_name == desk.alice.first_name
    assert second.organization == desk.acme


def test_unknown_tokens_are_not_kept(desk):
    secret = services.TOKEN_PREFIX + "made-up"
    assert services.authenticate_api_token(secret) is None
    kept = revisions.memo(revisions.ACCOUNTS)
    assert ("api_token", services._token_digest(secret)) not in kept
