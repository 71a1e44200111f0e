"""The SLA configuration's token lives among core's revisions: one query per request checks
it together with the rest of the configuration."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from firstline.core.models import Revision
from firstline.sla import config as sla_config
from firstline.sla import services
from firstline.tickets.models import Ticket

from .conftest import has_sla


def test_a_new_ticket_reads_all_configuration_tokens_with_one_query(desk, standard, api):
    client = api(desk.l1_agent)
    client.post("tickets", {"subject": "warm-up", "requester": "alice"})
    with CaptureQueriesContext(connection) as queries:
        response = client.post("tickets", {"subject": "VPN down", "requester": "alice"})
    assert response.status_code == 201
    assert has_sla(Ticket.objects.get(pk=response.json()["number"]))
    sqls = [q["sql"] for q in queries.captured_queries]
    assert sum("core_revision" in s for s in sqls) == 1
    assert not [s for s in sqls if "sla_configrevision" in s]


def test_a_configuration_change_is_seen_at_once(desk, standard):
    before = sla_config.current_token()
    services.update_policy(actor=None, policy=standard, name="Renamed")
    assert sla_config.current_token() not in (None, before)


def _upgrade(configured: bool) -> str | None:
    """Goes back to before 0006 (the token only in sla's own table), then forward again."""
    executor = MigrationExecutor(connection)
    before = [("sla", "0005_due_index")]
    executor.migrate(before)
    if configured:
        old = executor.loader.project_state(before).apps
        old.get_model("sla", "ConfigRevision").objects.create(pk=1)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    return Revision.objects.filter(name=sla_config.REVISION).first()


@pytest.mark.django_db(transaction=True)
def test_an_upgraded_desk_keeps_its_policies_and_an_unconfigured_one_stays_so():
    assert _upgrade(configured=True) is not None  # else its policies would look unconfigured
    Revision.objects.all().delete()
    assert _upgrade(configured=False) is None
