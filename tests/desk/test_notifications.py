"""In-app notifications: what an SLA sweep leaves for agents, the unread badge, marking read."""

import pytest
from django.urls import reverse

from firstline.channels import notices
from firstline.desk import services
from firstline.desk.models import Notification
from firstline.tickets import services as ticket_services

pytestmark = pytest.mark.django_db


def notice(ticket, people, kind="sla_breach"):
    return notices.Notice(
        kind=kind,
        ticket=ticket,
        people=people,
        context=lambda language: {},
        data={"target": "resolution", "due": "2026-03-02T10:00:00+00:00", "time_zone": "UTC"},
    )


def test_a_few_tickets_one_notice_each_many_tickets_one_digest(desk, new_ticket):
    tickets = [new_ticket(subject=f"Laptop {n} is slow") for n in range(5)]
    plan = notices.plan(
        [notice(t, [desk.l1_agent, desk.supervisor]) for t in tickets]
        + [notice(tickets[0], [desk.l2_agent])]
    )
    services.notify_in_app(plan=plan)

    single = Notification.objects.get(recipient=desk.l2_agent)
    assert (single.ticket, single.count) == (tickets[0], 1)
    digest = Notification.objects.get(recipient=desk.l1_agent)
    assert digest.ticket is None and digest.count == 5
    assert digest.data["tickets"] == [t.pk for t in tickets]
    assert not Notification.objects.filter(recipient=desk.alice).exists()


def test_the_page_lists_notices_and_the_badge_counts_unread(client, desk, new_ticket):
    ticket = new_ticket(subject="VPN drops every hour")
    services.notify_in_app(plan=notices.plan([notice(ticket, [desk.l1_agent])]))
    client.force_login(desk.l1_agent)

    badge = client.get(reverse("desk:notification_badge")).content.decode()
    assert ">1<" in badge
    page = client.get(reverse("desk:notifications")).content.decode()
    assert "SLA breached" in page and "VPN drops every hour" in page

    client.post(reverse("desk:notifications_read"))
    assert ">0<" in client.get(reverse("desk:notification_badge")).content.decode()


def test_a_digest_lists_only_tickets_the_reader_may_still_see(client, desk, new_ticket):
    mine, moved = new_ticket(subject="Mine"), new_ticket(subject="Moved away")
    plan = notices.plan([notice(t, [desk.l1_agent]) for t in (mine, moved)] * 2)
    services.notify_in_app(plan=plan)
    ticket_services.escalate_ticket(actor=desk.l1_agent, ticket=moved, reason="x", channel="web")
    client.force_login(desk.l1_agent)
    page = client.get(reverse("desk:notifications")).content.decode()
    assert f"#{mine.pk}<" in page and f"#{moved.pk}<" not in page


def test_requesters_have_no_notifications_page(client, desk):
    client.force_login(desk.alice)
    assert client.get(reverse("desk:notifications")).status_code in (302, 403)


def test_the_page_costs_the_same_queries_for_many_notices(
    client, desk, new_ticket, django_assert_max_num_queries
):
    tickets = [new_ticket(subject=f"Disk {n} full") for n in range(12)]
    services.notify_in_app(plan=notices.plan([notice(t, [desk.l1_agent]) for t in tickets[:3]]))
    client.force_login(desk.l1_agent)
    client.get(reverse("desk:notifications"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("desk:notifications"))
    for t in tickets[3:]:
        services.notify_in_app(plan=notices.plan([notice(t, [desk.l1_agent])]))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("desk:notifications"))
