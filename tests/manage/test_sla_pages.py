"""The SLA administration pages: calendars, holidays and closures, policies, contracts."""

from datetime import date, time

import pytest
from django.urls import reverse

from firstline.sla import services
from firstline.sla.models import Calendar, CalendarDay, Contract, Policy, PolicyTarget
from firstline.sla.services import TargetMinutes
from firstline.tickets.models import Priority

OFFICE_HOURS = {day: "09:00-12:00, 13:00-18:00" for day in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def office(db):
    return services.create_calendar(
        actor=None,
        name="Shanghai office",
        time_zone="Asia/Shanghai",
        hours=dict.fromkeys(range(5), "09:00-12:00, 13:00-18:00"),
    )


@pytest.fixture
def policy(office):
    return services.create_policy(
        actor=None,
        name="Standard",
        calendar=office,
        targets={Priority.NORMAL: TargetMinutes(60, 120, 480)},
    )


def _policy_data(office, **changes):
    data = {
        "name": "Gold",
        "is_active": "on",
        "calendar": office.pk,
        "warning_percent": 80,
        "pause_when_pending": "on",
        "urgent_first_response": 15,
        "urgent_resolution": 120,
        "normal_first_response": 60,
        "normal_next_response": 120,
        "normal_resolution": 480,
        **changes,
    }
    return {k: v for k, v in data.items() if v not in (None, "")}


@pytest.mark.parametrize("name", ["sla", "sla_calendar_create", "sla_policy_create"])
def test_agents_and_requesters_are_refused(client, desk, name):
    for user in (desk.l1_agent, desk.alice):
        client.force_login(user)
        assert client.get(reverse(f"manage:{name}")).status_code == 403


def test_the_sla_page_lists_policies_calendars_and_contracts(as_supervisor, desk, policy):
    services.save_contract(actor=None, organization=desk.acme, policy=policy)
    page = as_supervisor.get(reverse("manage:sla")).content.decode()
    assert "Standard" in page and "Shanghai office" in page and "24/7" in page
    assert "Acme" in page
    assert 'href="/manage/sla/"' in page  # in the administration menu
    assert "Every ticket" in page  # a policy without conditions


def test_create_a_calendar_with_weekly_hours(as_supervisor):
    data = {"name": "Berlin", "time_zone": "Europe/Berlin", **OFFICE_HOURS}
    data["sat"] = "10:00-14:00"
    response = as_supervisor.post(reverse("manage:sla_calendar_create"), data)
    calendar = Calendar.objects.get(name="Berlin")
    assert response.status_code == 302
    assert response.url == reverse("manage:sla_calendar_edit", args=[calendar.pk])
    hours = list(calendar.hours.values_list("weekday", "start", "end"))
    assert (0, time(9), time(12)) in hours and (5, time(10), time(14)) in hours
    assert len(hours) == 11
    page = as_supervisor.get(response.url).content.decode()
    assert 'value="09:00-12:00, 13:00-18:00"' in page


def test_bad_hours_are_shown_next_to_their_day(as_supervisor):
    data = {"name": "Bad", "time_zone": "UTC", "mon": "9 to 5"}
    page = as_supervisor.post(reverse("manage:sla_calendar_create"), data).content.decode()
    assert "Nothing was saved" in page
    assert "Write working hours as 09:00-12:00" in page
    assert not Calendar.objects.filter(name="Bad").exists()


def test_edit_a_calendar_into_24_7(as_supervisor, office):
    url = reverse("manage:sla_calendar_edit", args=[office.pk])
    data = {"name": "Round the clock", "time_zone": "Asia/Shanghai", "always_open": "on"}
    assert as_supervisor.post(url, data).status_code == 302
    office.refresh_from_db()
    assert office.always_open and office.name == "Round the clock"


def test_import_holidays_and_remove_some(as_supervisor, office):
    url = reverse("manage:sla_calendar_holidays", args=[office.pk])
    data = {"holidays-country": "CN", "holidays-first_year": 2026, "holidays-last_year": 2026}
    response = as_supervisor.post(url, data, follow=True)
    page = response.content.decode()
    assert "make-up working days were added" in page
    assert "National Day" in page and "Make-up working day" in page
    national_day = CalendarDay.objects.get(calendar=office, date=date(2026, 10, 1))
    assert national_day.source == "holiday" and national_day.kind == "closed"
    remove = reverse("manage:sla_calendar_day_remove", args=[office.pk])
    as_supervisor.post(remove, {"day": [national_day.pk]})
    assert not CalendarDay.objects.filter(pk=national_day.pk).exists()


def test_unknown_country_is_explained(as_supervisor, office):
    url = reverse("manage:sla_calendar_holidays", args=[office.pk])
    data = {"holidays-country": "XX", "holidays-first_year": 2026, "holidays-last_year": 2026}
    response = as_supervisor.post(url, data)
    assert response.status_code == 400
    assert "No holidays are known for" in response.content.decode()


def test_add_a_one_off_closure_and_a_working_saturday(as_supervisor, office):
    url = reverse("manage:sla_calendar_day_add", args=[office.pk])
    closure = {"day-date": "2026-05-04", "day-kind": "closed", "day-name": "Office move"}
    assert as_supervisor.post(url, closure).status_code == 302
    saturday = {
        "day-date": "2026-05-09",
        "day-kind": "open",
        "day-name": "Stocktaking",
        "day-intervals": "10:00-14:00",
    }
    assert as_supervisor.post(url, saturday).status_code == 302
    days = list(CalendarDay.objects.filter(calendar=office).values_list("date", "kind", "source"))
    assert days == [(date(2026, 5, 4), "closed", "manual"), (date(2026, 5, 9), "open", "manual")]
    again = as_supervisor.post(url, closure)
    assert again.status_code == 400
    assert "is already in this calendar" in again.content.decode()


def test_create_a_policy_with_targets_and_conditions(as_supervisor, desk, office, hardware):
    data = _policy_data(
        office,
        organizations=[desk.acme.pk],
        categories=[hardware.pk],
        priorities=[Priority.URGENT, Priority.NORMAL],
        channels=["email"],
        groups=[desk.l1.pk],
        raise_priority="on",
        notify_user=desk.supervisor.pk,
    )
    response = as_supervisor.post(reverse("manage:sla_policy_create"), data)
    assert response.status_code == 302
    policy = Policy.objects.get(name="Gold")
    assert response.url == reverse("manage:sla_policy_edit", args=[policy.pk])
    assert (policy.warning_percent, policy.pause_when_pending, policy.pause_when_on_hold) == (
        80,
        True,
        False,
    )
    assert policy.priorities == [2, 4] and policy.channels == ["email"]
    assert list(policy.organizations.all()) == [desk.acme]
    assert list(policy.categories.all()) == [hardware]
    assert policy.raise_priority and policy.notify_user == desk.supervisor
    targets = {
        t.priority: (t.first_response_minutes, t.next_response_minutes, t.resolution_minutes)
        for t in PolicyTarget.objects.filter(policy=policy)
    }
    assert targets == {Priority.URGENT: (15, None, 120), Priority.NORMAL: (60, 120, 480)}
    page = as_supervisor.get(response.url).content.decode()
    assert 'name="urgent_first_response" id="id_urgent_first_response" value="15"' in page


def test_edit_a_policy_and_its_targets(as_supervisor, office, policy):
    url = reverse("manage:sla_policy_edit", args=[policy.pk])
    data = _policy_data(office, name="Standard", normal_resolution=960, warning_percent=50)
    assert as_supervisor.post(url, data).status_code == 302
    policy.refresh_from_db()
    assert policy.warning_percent == 50 and not policy.pause_when_on_hold
    target = policy.targets.get(priority=Priority.NORMAL)
    assert target.resolution_minutes == 960


def test_policy_form_errors(as_supervisor, office, policy):
    url = reverse("manage:sla_policy_create")
    page = as_supervisor.post(url, _policy_data(office, name="standard")).content.decode()
    assert "already taken" in page
    page = as_supervisor.post(url, _policy_data(office, normal_resolution=0)).content.decode()
    assert "Ensure this value is greater than or equal to 1." in page


def test_reorder_and_delete_policies(as_supervisor, office, policy):
    second = services.create_policy(
        actor=None, name="Second", calendar=office, targets={2: TargetMinutes(1, 1, 1)}
    )
    as_supervisor.post(reverse("manage:sla_policy_move", args=[second.pk, "up"]))
    assert list(Policy.objects.values_list("name", flat=True)) == ["Second", "Standard"]
    page = as_supervisor.get(reverse("manage:sla")).content.decode()
    assert page.index("Second") < page.index("Standard")
    as_supervisor.post(reverse("manage:sla_policy_delete", args=[second.pk]))
    assert list(Policy.objects.values_list("name", flat=True)) == ["Standard"]


def test_a_policy_a_contract_names_cannot_be_deleted(as_supervisor, desk, policy):
    services.save_contract(actor=None, organization=desk.acme, policy=policy)
    response = as_supervisor.post(
        reverse("manage:sla_policy_delete", args=[policy.pk]), follow=True
    )
    assert "A contract names this policy" in response.content.decode()
    assert Policy.objects.filter(pk=policy.pk).exists()


def test_contracts(as_supervisor, desk, office, policy):
    url = reverse("manage:sla_contract_create")
    data = {"organization": desk.globex.pk, "policy": policy.pk, "starts_on": "2026-01-01"}
    assert as_supervisor.post(url, data).status_code == 302
    contract = Contract.objects.get(organization=desk.globex)
    assert contract.policy == policy and contract.starts_on == date(2026, 1, 1)
    page = as_supervisor.post(url, data).content.decode()
    assert "Globex already has a contract." in page
    page = as_supervisor.post(url, {"organization": desk.acme.pk}).content.decode()
    assert "Name a policy, a calendar or both." in page
    edit = reverse("manage:sla_contract_edit", args=[contract.pk])
    change = {"organization": desk.globex.pk, "calendar": office.pk, "ends_on": "2026-12-31"}
    assert as_supervisor.post(edit, change).status_code == 302
    contract.refresh_from_db()
    assert contract.policy is None and contract.calendar == office
    as_supervisor.post(reverse("manage:sla_contract_delete", args=[contract.pk]))
    assert not Contract.objects.exists()


def test_admins_use_the_pages_too(as_admin, office):
    assert as_admin.get(reverse("manage:sla_calendar_edit", args=[office.pk])).status_code == 200
    assert as_admin.get(reverse("manage:sla_calendar_edit", args=[99999])).status_code == 404
