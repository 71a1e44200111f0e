"""Per-process caches of configuration (core/revisions.py): kept while the revision holds,
dropped when any process changes what they were derived from."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.accounts.services import create_api_token
from firstline.core import clock, revisions
from firstline.core.models import Revision

from ..factories import GroupFactory, OrganizationFactory, RequesterFactory

pytestmark = pytest.mark.django_db


def test_a_memo_is_kept_while_the_revision_holds():
    kept = revisions.memo(revisions.CONFIGURATION)
    kept["answer"] = 42
    assert revisions.memo(revisions.CONFIGURATION)["answer"] == 42


def test_a_change_made_by_another_process_empties_the_memo():
    revisions.memo(revisions.CONFIGURATION)["answer"] = 42
    # Another process only leaves a new token in the database.
    Revision.objects.filter(name=revisions.CONFIGURATION).update(token="f" * 32)
    assert "answer" not in revisions.memo(revisions.CONFIGURATION)


def test_each_revision_changes_with_what_it_covers_only():
    before = revisions.tokens()
    GroupFactory()
    after_group = revisions.tokens()
    assert after_group[revisions.CONFIGURATION] != before[revisions.CONFIGURATION]
    assert after_group[revisions.ACCOUNTS] == before[revisions.ACCOUNTS]
    organization = OrganizationFactory()  # a new organization: nothing kept depends on it
    assert revisions.tokens() == after_group
    organization.name = "Renamed"
    organization.save()
    assert revisions.tokens()[revisions.ACCOUNTS] != after_group[revisions.ACCOUNTS]


def test_remembering_a_sign_in_or_a_token_use_changes_nothing_kept():
    user = RequesterFactory()
    before = revisions.tokens()
    user.last_login = clock.now()
    user.save(update_fields=["last_login"])
    token, _secret = create_api_token(user=user)
    token.last_used_at = clock.now()
    token.save(update_fields=["last_used_at"])
    assert revisions.tokens() == before
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    assert revisions.tokens()[revisions.ACCOUNTS] != before[revisions.ACCOUNTS]


def test_without_a_revision_nothing_is_kept():
    Revision.objects.filter(name=revisions.CONFIGURATION).delete()
    revisions.memo(revisions.CONFIGURATION)["answer"] = 42
    assert revisions.memo(revisions.CONFIGURATION) == {}


def test_a_request_reads_the_tokens_once():
    revisions._request_started(sender=None)
    try:
        with CaptureQueriesContext(connection) as queries:
            revisions.memo(revisions.CONFIGURATION)
            revisions.memo(revisions.ACCOUNTS)
        assert len(queries) == 1
        GroupFactory()  # its own change: read again from then on
        with CaptureQueriesContext(connection) as queries:
            revisions.memo(revisions.CONFIGURATION)
        assert len(queries) == 1
    finally:
        revisions._request_finished(sender=None)
    with CaptureQueriesContext(connection) as queries:
        revisions.memo(revisions.CONFIGURATION)
        revisions.memo(revisions.CONFIGURATION)
    assert len(queries) == 2  # outside a request, every check reads


def test_a_snapshot_reads_the_tokens_once_until_a_change_of_its_own():
    with revisions.snapshot():
        with CaptureQueriesContext(connection) as queries:
            revisions.memo(revisions.CONFIGURATION)
            revisions.memo(revisions.ACCOUNTS)
        assert len(queries) == 1
        GroupFactory()  # its own change, which may yet be rolled back: read again
        with CaptureQueriesContext(connection) as queries:
            revisions.memo(revisions.CONFIGURATION)
            revisions.memo(revisions.CONFIGURATION)
        assert len(queries) == 2
    with CaptureQueriesContext(connection) as queries:
        revisions.memo(revisions.CONFIGURATION)
        revisions.memo(revisions.CONFIGURATION)
    assert len(queries) == 2  # after the block, every check reads again


def test_a_snapshot_inside_a_request_keeps_the_requests_tokens():
    revisions._request_started(sender=None)
    try:
        revisions.memo(revisions.CONFIGURATION)
        with CaptureQueriesContext(connection) as queries, revisions.snapshot():
            revisions.memo(revisions.ACCOUNTS)
        assert len(queries) == 0
        with CaptureQueriesContext(connection) as queries:
            revisions.memo(revisions.ACCOUNTS)
        assert len(queries) == 0  # the request's snapshot outlives the inner block
    finally:
        revisions._request_finished(sender=None)


def test_another_process_s_change_is_seen_by_the_next_snapshot():
    with revisions.snapshot():
        revisions.memo(revisions.CONFIGURATION)["kept"] = True
    with revisions.snapshot():
        assert revisions.memo(revisions.CONFIGURATION) == {"kept": True}
    Revision.objects.filter(name=revisions.CONFIGURATION).update(token="from-elsewhere")
    with revisions.snapshot():
        assert revisions.memo(revisions.CONFIGURATION) == {}
