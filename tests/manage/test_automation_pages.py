"""The automation pages: rules, macros, assignment and skills, for supervisors and admins."""

import pytest
from django.urls import reverse

from firstline.automation import services
from firstline.automation.models import AgentAvailability, GroupRouting, Macro, Rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(desk):
    return services.create_rule(
        actor=None,
        name="VPN is urgent",
        trigger="created",
        conditions=[{"field": "group", "op": "is", "value": desk.l1.pk}],
        actions=[{"type": "assign", "value": desk.l1_agent.pk}],
    )


@pytest.fixture
def macro(db):
    return services.create_macro(actor=None, name="Thanks", body="Thank you!", changes={})


def pages(rule, macro):
    return [
        reverse("manage:rules"),
        reverse("manage:rule_create"),
        reverse("manage:rule_edit", args=[rule.pk]),
        reverse("manage:macros"),
        reverse("manage:macro_create"),
        reverse("manage:macro_edit", args=[macro.pk]),
        reverse("manage:routing"),
        reverse("manage:routing_edit", args=["l1"]),
        reverse("manage:agent_skills"),
        reverse("manage:agent_edit", args=["l1agent"]),
    ]


def actions(rule, macro):
    return [
        reverse("manage:rule_move", args=[rule.pk, "up"]),
        reverse("manage:rule_toggle", args=[rule.pk]),
        reverse("manage:rule_delete", args=[rule.pk]),
        reverse("manage:macro_delete", args=[macro.pk]),
    ]


@pytest.mark.parametrize("who", ["alice", "l1_agent", "acme_manager"])
def test_requesters_and_agents_get_403(client, desk, rule, macro, who):
    client.force_login(getattr(desk, who))
    for url in pages(rule, macro) + actions(rule, macro):
        assert client.get(url).status_code == 403, url
        response = client.post(url, {"name": "Hacked", "trigger": "created", "method": "manual"})
        assert response.status_code == 403, url
    rule.refresh_from_db()
    assert (rule.name, rule.is_active) == ("VPN is urgent", True)
    assert Macro.objects.filter(pk=macro.pk).exists() and not GroupRouting.objects.exists()


def test_anonymous_people_are_sent_to_log_in(client, rule, macro):
    for url in pages(rule, macro):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_supervisors_and_admins_see_every_page(client, desk, admin, rule, macro, who):
    client.force_login(admin if who == "admin" else desk.supervisor)
    for url in pages(rule, macro):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'aria-current="' in response.content.decode()


def test_actions_only_take_posts(as_supervisor, rule, macro):
    for url in actions(rule, macro):
        assert as_supervisor.get(url).status_code == 405


def test_missing_objects_are_404(as_supervisor):
    for url in (
        "/manage/automation/rules/999999/edit/",
        "/manage/automation/macros/999999/edit/",
        "/manage/automation/assignment/nope/",
        "/manage/automation/agents/alice/",  # a requester is no agent
    ):
        assert as_supervisor.get(url).status_code == 404, url


def rule_post(**overrides):
    data = {
        "name": "Printers to L2",
        "trigger": "created",
        "match": "all",
        "is_active": "on",
        "conditions-TOTAL_FORMS": "3",
        "conditions-INITIAL_FORMS": "0",
        "conditions-0-field": "text",
        "conditions-0-op": "contains",
        "conditions-0-value": "printer",
        "conditions-1-field": "priority",
        "conditions-1-op": "at_least",
        "conditions-1-value": "High",
        "conditions-2-field": "",
        "actions-TOTAL_FORMS": "3",
        "actions-INITIAL_FORMS": "0",
        "actions-0-type": "move_group",
        "actions-0-value": "l2",
        "actions-0-text": "Printers are L2's",
        "actions-1-type": "send_email",
        "actions-1-to": "requester",
        "actions-1-subject": "About #{{ ticket.number }}",
        "actions-1-text": "Hello {{ requester.first_name }}",
        "actions-2-type": "",
    }
    return {**data, **overrides}


def test_a_rule_is_built_from_rows_of_conditions_and_actions(as_supervisor, desk):
    response = as_supervisor.post(reverse("manage:rule_create"), rule_post())
    assert response.status_code == 302
    rule = Rule.objects.get(name="Printers to L2")
    assert rule.conditions == [
        {"field": "text", "op": "contains", "value": "printer"},
        {"field": "priority", "op": "at_least", "value": "high"},
    ]
    assert rule.actions == [
        {"type": "move_group", "value": desk.l2.pk, "text": "Printers are L2's"},
        {
            "type": "send_email",
            "to": "requester",
            "subject": "About #{{ ticket.number }}",
            "text": "Hello {{ requester.first_name }}",
        },
    ]
    assert rule.created_by == desk.supervisor
    # The edit page shows the rows as they were typed: short names, not ids.
    page = as_supervisor.get(reverse("manage:rule_edit", args=[rule.pk])).content.decode()
    assert 'name="actions-0-value" value="l2"' in page
    assert 'name="conditions-1-value" value="high"' in page


def test_a_wrong_row_is_shown_and_nothing_is_saved(as_supervisor):
    response = as_supervisor.post(
        reverse("manage:rule_create"), rule_post(**{"actions-0-value": "no-such-group"})
    )
    assert response.status_code == 200
    assert "“no-such-group” is not known here." in response.content.decode()
    response = as_supervisor.post(
        reverse("manage:rule_create"), rule_post(**{"conditions-0-op": "at_least"})
    )
    assert "Choose one of" in response.content.decode()
    response = as_supervisor.post(
        reverse("manage:rule_create"),
        rule_post(**{"actions-1-text": "{{ requester.password }}"}),
    )
    assert "Action 2: unknown placeholder requester.password." in response.content.decode()
    assert not Rule.objects.exists()


def test_a_rule_is_edited(as_supervisor, rule, desk):
    data = rule_post(
        name="Renamed",
        trigger="updated",
        **{"conditions-0-field": "changed", "conditions-0-op": "includes"},
        **{"conditions-0-value": "status", "conditions-1-field": ""},
    )
    data.pop("is_active")
    response = as_supervisor.post(reverse("manage:rule_edit", args=[rule.pk]), data)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.trigger, rule.is_active) == ("Renamed", "updated", False)
    assert rule.conditions == [{"field": "changed", "op": "includes", "value": "status"}]


def test_rules_are_ordered_turned_on_and_off_and_deleted(as_supervisor, rule):
    other = services.create_rule(
        actor=None, name="Second", trigger="created", conditions=[], actions=[{"type": "close"}]
    )
    as_supervisor.post(reverse("manage:rule_move", args=[other.pk, "up"]))
    assert list(Rule.objects.values_list("name", flat=True)) == ["Second", "VPN is urgent"]
    page = as_supervisor.get(reverse("manage:rules")).content.decode()
    assert page.index("Second") < page.index("VPN is urgent")
    as_supervisor.post(reverse("manage:rule_toggle", args=[rule.pk]))
    rule.refresh_from_db()
    assert not rule.is_active
    as_supervisor.post(reverse("manage:rule_toggle", args=[rule.pk]))
    rule.refresh_from_db()
    assert rule.is_active
    as_supervisor.post(reverse("manage:rule_delete", args=[rule.pk]))
    assert list(Rule.objects.values_list("name", flat=True)) == ["Second"]


def test_macros_are_created_and_edited(as_supervisor):
    data = {
        "name": "Need details",
        "body": "Hello {{ requester.first_name }}, which model?",
        "status": "pending",
        "priority": "",
        "add_tags": "needs-info, Printer",
        "assign_to_me": "on",
        "is_active": "on",
    }
    assert as_supervisor.post(reverse("manage:macro_create"), data).status_code == 302
    macro = Macro.objects.get(name="Need details")
    assert macro.changes == {
        "status": "pending",
        "add_tags": ["needs-info", "printer"],
        "assign_to_me": True,
    }
    page = as_supervisor.get(reverse("manage:macros")).content.decode()
    assert "status: Pending" in page
    bad = as_supervisor.post(
        reverse("manage:macro_edit", args=[macro.pk]), {**data, "body": "{{ ticket.secret }}"}
    )
    assert "Unknown placeholder ticket.secret." in bad.content.decode()
    duplicate = as_supervisor.post(reverse("manage:macro_create"), data)
    assert "already exists" in duplicate.content.decode()
    as_supervisor.post(reverse("manage:macro_delete", args=[macro.pk]))
    assert not Macro.objects.exists()


def test_a_groups_assignment_is_set(as_supervisor, desk):
    url = reverse("manage:routing_edit", args=["l1"])
    response = as_supervisor.post(url, {"method": "least_loaded", "use_skills": "on"})
    assert response.status_code == 302
    routing = GroupRouting.objects.get(group=desk.l1)
    assert (routing.method, routing.use_skills) == ("least_loaded", True)
    assert "Least-loaded" in as_supervisor.get(reverse("manage:routing")).content.decode()
    assert as_supervisor.post(url, {"method": "bogus"}).status_code == 200
    routing.refresh_from_db()
    assert routing.method == "least_loaded"


def test_an_agents_skills_and_availability_are_set(as_supervisor, desk, hardware):
    url = reverse("manage:agent_edit", args=["l1agent"])
    response = as_supervisor.post(
        url, {"is_away": "on", "categories": [hardware.pk], "languages": ["zh-hans"]}
    )
    assert response.status_code == 302
    row = AgentAvailability.objects.get(user=desk.l1_agent)
    assert (row.is_away, list(row.categories.all()), row.languages) == (
        True,
        [hardware],
        ["zh-hans"],
    )
    page = as_supervisor.get(reverse("manage:agent_skills")).content.decode()
    assert "Away" in page and "Hardware" in page and "简体中文" in page


def test_the_navigation_links_to_the_automation_pages(as_supervisor):
    page = as_supervisor.get(reverse("manage:home")).content.decode()
    for name in ("rules", "macros", "routing", "agent_skills"):
        assert f'href="{reverse("manage:" + name)}"' in page


def test_the_rules_list_does_not_grow_in_queries_with_rules(
    as_supervisor, desk, django_assert_max_num_queries
):
    def add(n):
        for i in range(n):
            services.create_rule(
                actor=None,
                name=f"R{i}",
                trigger="created",
                conditions=[],
                actions=[{"type": "close"}],
            )

    add(2)
    with django_assert_max_num_queries(20) as few:
        as_supervisor.get(reverse("manage:rules"))
    add(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        as_supervisor.get(reverse("manage:rules"))
