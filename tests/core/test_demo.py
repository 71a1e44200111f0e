"""The demo data that `make run` loads: a believable help desk, written through the services."""

import io
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management.base import OutputWrapper
from django.db import transaction
from django.db.models import Count, F
from django.test import override_settings
from django.utils import timezone

from firstline.accounts.models import Group, Organization, Role, User
from firstline.core.demo import DEMO_PASSWORD, load_demo_data, ticket_specs
from firstline.tickets.models import (
    Category,
    Channel,
    Comment,
    EventKind,
    Priority,
    Status,
    Tag,
    Ticket,
    TicketEvent,
)

pytestmark = pytest.mark.django_db

CHINESE = re.compile(r"[\u4e00-\u9fff]")
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load() -> tuple[list[tuple[str, str]], str]:
    out = io.StringIO()
    logins = load_demo_data(stdout=OutputWrapper(out))
    return logins, out.getvalue()


def counts() -> dict[str, int]:
    models = (Organization, User, Group, Category, Tag, Ticket, Comment, TicketEvent)
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """Loading takes seconds, so the read-only tests share one load, rolled back after them."""
    unblocked = django_db_blocker.unblock()
    with unblocked, override_settings(PASSWORD_HASHERS=FAST_HASHER), transaction.atomic():
        logins, output = load()
        yield SimpleNamespace(logins=logins, output=output, loaded_at=timezone.now())
        transaction.set_rollback(True)


class TestTheLoadedDemo:
    def test_three_client_organizations_with_about_200_tickets(self, demo):
        slugs = set(Organization.objects.values_list("slug", flat=True))
        assert slugs == {"acme", "globex", "huaxun"}
        assert 180 <= Ticket.objects.count() <= 220
        assert "Loaded" in demo.output

    def test_tickets_come_from_every_organization_channel_and_priority(self, demo):
        organizations = set(Ticket.objects.values_list("organization__slug", flat=True))
        assert organizations == {"acme", "globex", "huaxun"}
        assert set(Ticket.objects.values_list("channel", flat=True)) == set(Channel.values)
        assert set(Ticket.objects.values_list("priority", flat=True)) == set(Priority.values)

    def test_every_status_is_there_and_most_tickets_are_done(self, demo):
        by_status = dict(Ticket.objects.values_list("status").annotate(n=Count("id")))
        assert set(by_status) == set(Status.values)
        done = by_status[Status.RESOLVED] + by_status[Status.CLOSED]
        assert done > sum(by_status.values()) / 2
        assert by_status[Status.ON_HOLD] < by_status[Status.CLOSED] / 5

    def test_about_a_fifth_of_the_tickets_are_in_chinese(self, demo):
        subjects = dict(Ticket.objects.values_list("subject", "organization__slug"))
        chinese = {s: org for s, org in subjects.items() if CHINESE.search(s)}
        assert 0.12 <= len(chinese) / len(subjects) <= 0.3
        assert set(chinese.values()) == {"huaxun"}

    def test_the_desk_has_tiered_groups_a_category_tree_and_people_in_every_role(self, demo):
        assert set(Group.objects.values_list("tier", flat=True)) == {1, 2, 3}
        assert Group.objects.filter(organizations__slug="huaxun").exists()
        assert not User.objects.filter(role=Role.AGENT, support_groups=None).exists()
        assert Category.objects.filter(full_name="Hardware > Printer").exists()
        assert Category.objects.filter(full_name="Network > VPN").exists()
        assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
        assert User.objects.filter(is_org_manager=True).count() == 3

    def test_the_history_was_written_by_the_services(self, demo):
        created = TicketEvent.objects.filter(kind=EventKind.CREATED)
        assert created.count() == Ticket.objects.count()
        kinds = set(TicketEvent.objects.values_list("kind", flat=True))
        assert {
            EventKind.CHANGED,
            EventKind.COMMENTED,
            EventKind.NOTE_ADDED,
            EventKind.ESCALATED,
            EventKind.MERGED_INTO,
            EventKind.LINKED,
        } <= kinds
        assert not created.filter(channel=Channel.PHONE, actor__role=Role.REQUESTER).exists()
        assert not created.filter(channel=Channel.WEB).exclude(actor=F("ticket__requester"))
        assert not Ticket.objects.filter(status=Status.CLOSED, closed_at=None).exists()
        assert not Ticket.objects.filter(status=Status.RESOLVED, resolved_at=None).exists()

    def test_nothing_is_dated_in_the_future_or_before_its_ticket(self, demo):
        later = {"gt": demo.loaded_at}
        for field in ("created_at", "updated_at", "first_responded_at", "resolved_at"):
            assert not Ticket.objects.filter(**{f"{field}__{k}": v for k, v in later.items()})
        assert not Ticket.objects.filter(closed_at__gt=demo.loaded_at).exists()
        assert not Comment.objects.filter(created_at__gt=demo.loaded_at).exists()
        assert not TicketEvent.objects.filter(created_at__gt=demo.loaded_at).exists()
        assert not TicketEvent.objects.filter(created_at__lt=F("ticket__created_at")).exists()
        assert not User.objects.filter(date_joined__gt=Ticket.objects.order_by("id")[0].created_at)

    def test_loading_again_changes_nothing(self, demo):
        before = counts()
        logins, output = load()
        assert counts() == before
        assert logins == demo.logins
        assert "already there" in output

    def test_every_login_signs_in_with_the_demo_password(self, demo):
        roles = set()
        for username, description in demo.logins:
            user = authenticate(username=username, password=DEMO_PASSWORD)
            assert user is not None, username
            assert description
            roles.add(user.role)
        assert roles == set(Role.values)


def test_loads_on_a_weekend_night_as_summer_time_ends(settings):
    """Times are relative to now: nights, weekends and clock changes must not trip it."""
    settings.PASSWORD_HASHERS = FAST_HASHER
    moment = datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        load()
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert statuses == set(Status.values)
    assert not TicketEvent.objects.filter(created_at__gt=moment).exists()


def test_the_same_moment_gives_the_same_tickets():
    now = datetime(2025, 3, 5, 10, 30, tzinfo=UTC)

    def plan():
        return [
            (s.created, s.subject, s.requester.username, s.channel, s.fate)
            for s in ticket_specs(now)
        ]

    assert plan() == plan()
