"""Auto-close: resolved tickets close after AUTO_CLOSE_DAYS without a reply."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils.module_loading import import_string

from firstline.automation import services, tasks
from firstline.core import scheduler
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Status, TicketEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 4, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
def resolved(desk, new_ticket):
    with time_machine.travel(T0, tick=False):
        ticket = new_ticket()
        ticket_services.add_comment(
            actor=desk.l1_agent, ticket=ticket, body="Fixed it.", channel="web"
        )
        ticket_services.update_ticket(
            actor=desk.l1_agent, ticket=ticket, channel="web", status="resolved"
        )
    return ticket


def run_at(moment):
    with time_machine.travel(moment, tick=False):
        return tasks.auto_close_resolved.enqueue().return_value


def status(ticket):
    ticket.refresh_from_db()
    return ticket.status


def test_resolved_tickets_close_after_seven_days_not_before(resolved):
    assert run_at(T0 + timedelta(days=6, hours=23)) == 0
    assert status(resolved) == Status.RESOLVED
    assert run_at(T0 + timedelta(days=7, minutes=1)) == 1
    assert status(resolved) == Status.CLOSED
    assert resolved.closed_at == T0 + timedelta(days=7, minutes=1)


def test_the_history_shows_it_was_automatic(client, desk, resolved):
    run_at(T0 + timedelta(days=8))
    event = TicketEvent.objects.get(ticket=resolved, field="status", new_value="closed")
    assert (event.actor, event.old_value, event.note, event.is_public) == (
        None,
        "resolved",
        "auto-close",
        True,
    )
    client.force_login(desk.l1_agent)
    page = client.get(reverse("desk:ticket", args=[resolved.pk]) + "?tab=history")
    assert "closed automatically" in page.content.decode()


def test_not_when_the_requester_replied_meanwhile(desk, resolved):
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        ticket_services.add_comment(
            actor=desk.alice, ticket=resolved, body="Still broken", channel="web"
        )
    assert status(resolved) == Status.OPEN
    run_at(T0 + timedelta(days=30))
    assert status(resolved) == Status.OPEN


def test_a_public_reply_after_resolution_starts_the_wait_again(desk, resolved):
    with time_machine.travel(T0 + timedelta(days=5), tick=False):
        ticket_services.add_comment(
            actor=desk.l1_agent, ticket=resolved, body="One more tip", channel="web"
        )
        ticket_services.add_comment(
            actor=desk.l1_agent, ticket=resolved, body="note", channel="web", public=False
        )
    assert status(resolved) == Status.RESOLVED
    run_at(T0 + timedelta(days=8))
    assert status(resolved) == Status.RESOLVED
    run_at(T0 + timedelta(days=12, minutes=1))
    assert status(resolved) == Status.CLOSED


def test_resolving_again_starts_the_wait_again(desk, resolved):
    with time_machine.travel(T0 + timedelta(days=6), tick=False):
        ticket_services.add_comment(actor=desk.alice, ticket=resolved, body="No", channel="web")
        ticket_services.update_ticket(
            actor=desk.l1_agent, ticket=resolved, channel="web", status="resolved"
        )
    run_at(T0 + timedelta(days=8))
    assert status(resolved) == Status.RESOLVED
    run_at(T0 + timedelta(days=13, minutes=1))
    assert status(resolved) == Status.CLOSED


def test_other_statuses_are_left_alone(desk, new_ticket):
    with time_machine.travel(T0, tick=False):
        waiting = new_ticket()
        ticket_services.update_ticket(
            actor=desk.l1_agent, ticket=waiting, channel="web", status="pending"
        )
        fresh = new_ticket()
    run_at(T0 + timedelta(days=60))
    assert (status(waiting), status(fresh)) == (Status.PENDING, Status.NEW)


def test_the_number_of_days_is_a_setting_and_zero_turns_it_off(settings, resolved):
    settings.AUTO_CLOSE_DAYS = 0
    assert run_at(T0 + timedelta(days=365)) == 0
    assert status(resolved) == Status.RESOLVED
    settings.AUTO_CLOSE_DAYS = 2
    assert run_at(T0 + timedelta(days=1)) == 0
    assert run_at(T0 + timedelta(days=2, minutes=1)) == 1
    assert status(resolved) == Status.CLOSED


def test_the_default_is_seven_days():
    from firstline import settings as project_settings

    assert project_settings.AUTO_CLOSE_DAYS == 7
    assert services.auto_close_days() == 7


def test_the_jobs_are_scheduled():
    jobs = {job.name: job for job in scheduler.JOBS}
    assert jobs["auto_close"].task == "firstline.automation.tasks.auto_close_resolved"
    assert jobs["time_rules"].task == "firstline.automation.tasks.run_time_rules"
    for job in (jobs["auto_close"], jobs["time_rules"]):
        assert import_string(job.task) is not None
