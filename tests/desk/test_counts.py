from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from firstline.accounts.models import Organization
from firstline.core import clock
from firstline.desk import selectors
from firstline.tickets import services
from firstline.tickets.models import Status

from ..factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def _open(desk, group, *, status=None, days_ago=0):
    with time_machine.travel(clock.now() - timedelta(days=days_ago, hours=1)):
        ticket = services.create_ticket(
            actor=desk.supervisor, requester=desk.alice, subject=f"In {group.slug}", group=group
        )
        if status:
            services.update_ticket(
                actor=desk.supervisor, ticket=ticket, channel="web", status=status
            )
    return ticket


def test_counts_by_group_status_and_age(desk):
    _open(desk, desk.l1)
    _open(desk, desk.l1, status=Status.PENDING, days_ago=2)
    _open(desk, desk.l2, status=Status.OPEN, days_ago=40)
    solved = _open(desk, desk.l2)
    services.update_ticket(
        actor=desk.supervisor, ticket=solved, channel="web", status=Status.RESOLVED
    )
    rows = {r.group: r for r in selectors.ticket_counts(desk.supervisor, clock.now())}
    assert rows[desk.l1].statuses == {"new": 1, "open": 0, "pending": 1, "on_hold": 0}
    assert rows[desk.l1].ages == {"day": 1, "days3": 1, "week": 0, "month": 0, "older": 0}
    assert (rows[desk.l2].total, rows[desk.l2].ages["older"]) == (1, 1)
    assert selectors.counts_total(list(rows.values())).total == 3


def test_every_age_bucket_counts_its_own_tickets(desk):
    for days in (0, 2, 5, 10, 45, 400):
        _open(desk, desk.l1, status=Status.OPEN, days_ago=days)
    rows = {r.group: r for r in selectors.ticket_counts(desk.supervisor, clock.now())}
    assert rows[desk.l1].ages == {"day": 1, "days3": 1, "week": 1, "month": 1, "older": 2}


def test_a_ticket_dated_in_the_future_counts_as_under_a_day_old(desk):
    """Mail from a sender whose clock runs fast: the buckets still add up to the total."""
    _open(desk, desk.l1, status=Status.OPEN, days_ago=-1)
    _open(desk, desk.l1, status=Status.OPEN, days_ago=31)
    rows = {r.group: r for r in selectors.ticket_counts(desk.supervisor, clock.now())}
    assert rows[desk.l1].ages == {"day": 1, "days3": 0, "week": 0, "month": 0, "older": 1}
    assert sum(rows[desk.l1].ages.values()) == rows[desk.l1].total == 2


def test_agents_count_only_the_tickets_they_can_see(desk, client):
    _open(desk, desk.l1)
    _open(desk, desk.l2)
    client.force_login(desk.l1_agent)
    response = client.get(reverse("desk:counts"))
    assert response.status_code == 200
    assert [r.group for r in response.context["rows"]] == [desk.l1]
    assert "Desktop Support" not in response.content.decode().split('id="counts"')[1]


def test_requesters_cannot_open_the_counts(desk, client):
    client.force_login(desk.alice)
    assert client.get(reverse("desk:counts")).status_code == 403


def test_queue_page_takes_at_most_eight_queries(
    desk, new_ticket, client, django_assert_max_num_queries
):
    for _ in range(3):
        new_ticket()
    client.force_login(desk.l1_agent)
    url = reverse("desk:queue", args=["unassigned"]) + "?sort=due"
    client.get(url)  # fills the cached option lists
    with django_assert_max_num_queries(8):
        response = client.get(url)
    assert response.context["page"].paginator.count == 3


def test_queue_lists_a_new_organization_at_once(desk, client):
    client.force_login(desk.l1_agent)
    url = reverse("desk:queue", args=["mine"])
    client.get(url)
    OrganizationFactory(slug="initech", name="Initech Ltd")
    page = client.get(url).content.decode()
    assert '<option value="initech">Initech Ltd</option>' in page
    Organization.objects.filter(slug="initech").delete()
    assert "Initech Ltd" not in client.get(url).content.decode()


def test_filter_choices_stay_selected_and_pages_hold_the_right_rows(desk, new_ticket, client):
    for i in range(53):
        new_ticket(subject=f"Ticket {i}")
    client.force_login(desk.supervisor)
    url = reverse("desk:queue", args=["all"])
    second = client.get(url, {"organization": "acme", "sort": "number", "page": 2})
    numbers = [t.pk for t in second.context["page"].object_list]
    assert len(numbers) == 3
    assert numbers == sorted(numbers)
    assert second.context["page"].paginator.count == 53
    assert '<option value="acme" selected>Acme</option>' in second.content.decode()


def test_counts_page_sidebar_shows_the_same_numbers_from_one_count(
    desk, client, django_assert_max_num_queries
):
    _open(desk, desk.l1)
    mine = _open(desk, desk.l1, status=Status.OPEN)
    services.update_ticket(
        actor=desk.supervisor, ticket=mine, channel="web", assignee=desk.l1_agent
    )
    _open(desk, desk.l2)
    client.force_login(desk.l1_agent)
    expected = selectors.queue_counts(desk.l1_agent, selectors.user_groups(desk.l1_agent))
    client.get(reverse("desk:counts"))
    with django_assert_max_num_queries(7):
        response = client.get(reverse("desk:counts"))
    assert response.context["counts"] == expected
    assert (expected["mine"], expected["unassigned"], expected["group-l1"]) == (1, 1, 2)
