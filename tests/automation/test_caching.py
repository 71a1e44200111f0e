"""Each process keeps the active rules and the routed groups; a rule or routing changed by
any process applies to the next ticket, and tickets no rule can touch cost no rule query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from firstline.automation import services
from firstline.automation.models import RoutingMethod, Rule, Trigger
from firstline.core import revisions

pytestmark = pytest.mark.django_db

URGENT = [{"type": "set_priority", "value": "urgent"}]


def created(new_ticket, automation, **fields):
    with automation():
        return new_ticket(**fields)


def test_a_rule_added_by_another_process_applies_to_the_next_ticket(
    desk, new_ticket, make_rule, automation, elsewhere
):
    assert created(new_ticket, automation).priority_key == "normal"
    with elsewhere():
        make_rule("All urgent", Trigger.CREATED, actions=URGENT)
    assert created(new_ticket, automation).priority_key == "urgent"


def test_a_rule_disabled_by_another_process_no_longer_applies(
    desk, new_ticket, make_rule, automation, elsewhere
):
    rule = make_rule("All urgent", Trigger.CREATED, actions=URGENT)
    assert created(new_ticket, automation).priority_key == "urgent"
    with elsewhere():
        services.set_rule_active(actor=None, rule=rule, active=False)
    assert created(new_ticket, automation).priority_key == "normal"


def test_rules_reordered_by_another_process_run_in_the_new_order(
    desk, new_ticket, make_rule, automation, elsewhere
):
    make_rule("Low", Trigger.CREATED, actions=[{"type": "set_priority", "value": "low"}])
    high = make_rule("High", Trigger.CREATED, actions=[{"type": "set_priority", "value": "high"}])
    assert created(new_ticket, automation).priority_key == "high"  # the last one wins
    with elsewhere():
        services.move_rule(actor=None, rule=high, up=True)
    assert created(new_ticket, automation).priority_key == "low"


def test_routing_turned_on_by_another_process_assigns_the_next_ticket(
    desk, l1_team, new_ticket, automation, elsewhere
):
    assert created(new_ticket, automation).assignee is None
    with elsewhere():
        services.update_routing(actor=None, group=desk.l1, method=RoutingMethod.ROUND_ROBIN)
    assert created(new_ticket, automation).assignee == l1_team[0]
    with elsewhere():
        services.update_routing(actor=None, group=desk.l1, method=RoutingMethod.MANUAL)
    assert created(new_ticket, automation).assignee is None


def test_round_robin_moving_on_is_not_a_configuration_change(desk, l1_team, new_ticket, automation):
    services.update_routing(actor=None, group=desk.l1, method=RoutingMethod.ROUND_ROBIN)
    before = revisions.tokens()[revisions.CONFIGURATION]
    assert [created(new_ticket, automation).assignee for _ in range(2)] == l1_team[:2]
    assert revisions.tokens()[revisions.CONFIGURATION] == before


def test_the_rules_are_kept_until_the_revision_changes(desk, new_ticket, make_rule, automation):
    rule = make_rule("All urgent", Trigger.CREATED, actions=URGENT)
    assert created(new_ticket, automation).priority_key == "urgent"
    Rule.objects.filter(pk=rule.pk).update(is_active=False)  # no signal: not seen
    assert created(new_ticket, automation).priority_key == "urgent"
    revisions.bump(revisions.CONFIGURATION)
    assert created(new_ticket, automation).priority_key == "normal"


def test_a_ticket_no_rule_or_routing_can_touch_costs_no_rule_query(
    desk, new_ticket, make_rule, automation
):
    make_rule("Updates only", Trigger.UPDATED, actions=URGENT)
    created(new_ticket, automation)  # this process reads the rules
    with CaptureQueriesContext(connection) as queries:
        ticket = created(new_ticket, automation)
    assert ticket.priority_key == "normal"
    assert not [q for q in queries.captured_queries if "automation_" in q["sql"]]
