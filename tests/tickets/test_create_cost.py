"""What opening a ticket costs: the default group, the rules, routing and the API token are
kept per process, and every process sees a change of them on its next ticket."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.accounts.models import Group
from firstline.core import revisions
from firstline.tickets import services

from ..factories import GroupFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_creating_through_the_api_reads_no_configuration_twice(desk, api):
    client = api(desk.alice)
    assert client.post("tickets", {"subject": "The first one reads it"}).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        response = client.post("tickets", {"subject": "Printer jams", "priority": "high"})
    assert response.status_code == 201
    assert response.json()["number"] > 0
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if "accounts_group" in sql or "automation_" in sql]
    assert not [sql for sql in reads if "accounts_apitoken" in sql or "sla_ticketsla" in sql]
    # Tokens (1 for the revisions, 1 for SLAs), the acknowledgement check; ticket, history,
    # search document(s), in a savepoint here (the test's transaction).
    assert len(queries) <= 9


def test_a_new_ticket_lands_in_a_group_added_by_another_process(desk, new_ticket, elsewhere):
    assert new_ticket().group == desk.l1
    with elsewhere():
        first = GroupFactory(slug="first-line", name="A first line", tier=1)
    assert new_ticket().group == first


def test_a_deactivated_or_narrowed_group_no_longer_receives_new_tickets(
    desk, new_ticket, elsewhere
):
    front = GroupFactory(slug="front", name="A front desk", tier=1)
    assert new_ticket().group == front
    with elsewhere():
        front.organizations.set([desk.globex])
    assert new_ticket().group == desk.l1
    assert new_ticket(requester=desk.carol).group == front
    with elsewhere():
        front.is_active = False
        front.save(update_fields=["is_active"])
    assert new_ticket(requester=desk.carol).group == desk.l1


def test_the_default_group_is_kept_until_the_revision_changes(desk, new_ticket):
    assert new_ticket().group == desk.l1
    # A change that bypasses the models' signals is not seen...
    Group.objects.filter(pk=desk.l1.pk).update(is_active=False)
    assert new_ticket().group == desk.l1
    # ...until the configuration's revision changes.
    revisions.bump(revisions.CONFIGURATION)
    assert new_ticket().group == desk.l2


def test_each_organization_has_its_default_group(desk, new_ticket):
    other = OrganizationFactory(slug="initech")
    theirs = GroupFactory(slug="initech-desk", name="A team", tier=1, organizations=[other])
    assert services.default_group_for(other) == theirs
    assert services.default_group_for(desk.acme) == desk.l1
    assert services.default_group_for(None) == desk.l1
    # Each call gives its own instance: the process's copy is never handed out.
    assert services.default_group_for(other) is not services.default_group_for(other)
