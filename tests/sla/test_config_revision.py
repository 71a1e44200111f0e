"""The SLA configuration's token lives among core's revisions: one query per request checks
it together with the rest of the configuration."""

import importlib

from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.core.models import Revision
from firstline.sla import config as sla_config
from firstline.sla import services
from firstline.sla.models import ConfigRevision
from firstline.tickets.models import Ticket

from .conftest import has_sla

carry_over = importlib.import_module("firstline.sla.migrations.0006_revision_in_core").carry_over


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


def test_an_upgraded_desk_keeps_its_policies(desk, standard):
    """Before migration 0006 the token was only in ConfigRevision."""
    Revision.objects.filter(name=sla_config.REVISION).delete()
    assert sla_config.current_token() is None  # would look never configured
    carry_over(apps, None)
    assert sla_config.current_token() is not None
    assert sla_config.current().rules


def test_a_desk_never_configured_stays_so(db):
    assert not ConfigRevision.objects.exists()
    carry_over(apps, None)
    assert sla_config.current_token() is None
