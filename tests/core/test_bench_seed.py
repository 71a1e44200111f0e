import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from firstline.accounts.models import Group, Role, User
from firstline.core import benchseed, clock, maintenance
from firstline.core.errors import Conflict
from firstline.sla.models import TicketSla
from firstline.tickets import services as ticket_services
from firstline.tickets.lifecycle import ACTIVE_STATUSES
from firstline.tickets.models import Comment, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
OPTIONS = benchseed.SeedOptions(tickets=300, organizations=12, agents=25, seed=3)


@pytest.fixture
def seeded():
    return benchseed.seed(OPTIONS, progress=lambda line: None)


def test_seeds_the_asked_numbers_of_everything(seeded):
    assert Ticket.objects.count() == 300
    assert User.objects.filter(role=Role.AGENT).count() == 25
    assert seeded.counts["organizations"] == 12
    assert TicketSla.objects.count() == 300
    assert seeded.counts["comments"] == Comment.objects.count()


def test_about_a_fifth_of_the_tickets_are_in_chinese(seeded):
    chinese = [t for t in Ticket.objects.only("subject") if CJK.search(t.subject)]
    assert 0.1 <= len(chinese) / 300 <= 0.3
    for ticket in chinese[:20]:  # their conversation is in Chinese too
        assert all(CJK.search(c.body) for c in ticket.comments.all())
        assert ticket.requester.language == "zh-hans"


def test_about_a_tenth_is_unresolved_and_most_are_closed(seeded):
    statuses = dict(Ticket.objects.values_list("status").annotate(n=Count("pk")))
    unresolved = sum(statuses.get(s, 0) for s in ACTIVE_STATUSES)
    assert 0.05 <= unresolved / 300 <= 0.16
    assert statuses["closed"] / 300 >= 0.75
    assert statuses.get("open", 0) > 0


def test_each_ticket_has_one_to_six_entries_some_internal(seeded):
    per_ticket = Ticket.objects.annotate(n=Count("comments")).values_list("n", flat=True)
    assert set(per_ticket) <= set(range(1, 7))
    assert len(set(per_ticket)) >= 4
    internal = Comment.objects.filter(is_public=False).count()
    assert 0 < internal < Comment.objects.count() / 2


def test_history_records_creation_and_every_entry(seeded):
    assert TicketEvent.objects.filter(kind="created").count() == 300
    entries = TicketEvent.objects.filter(kind__in=["commented", "note_added"])
    assert entries.count() == Comment.objects.count()
    comment = Comment.objects.filter(is_public=False).first()
    event = TicketEvent.objects.get(note=f"comment:{comment.pk}")
    assert (event.kind, event.is_public, event.ticket_id) == (
        "note_added",
        False,
        comment.ticket_id,
    )


def test_tickets_spread_over_two_years_mostly_on_weekdays(seeded):
    now = clock.now()
    moments = list(Ticket.objects.values_list("created_at", flat=True))
    assert min(moments) >= now - timedelta(days=731)
    assert max(moments) <= now
    assert max(moments) - min(moments) > timedelta(days=300)
    weekend = [m for m in moments if m.weekday() >= 5]
    assert len(weekend) / len(moments) < 0.12


def test_people_groups_and_assignees_fit_together(seeded):
    assert set(Group.objects.values_list("tier", flat=True)) == {1, 2, 3}
    in_five = User.objects.annotate(n=Count("support_groups")).filter(role=Role.AGENT, n=5)
    assert in_five.exists()
    for ticket in Ticket.objects.select_related("requester", "group")[:100]:
        assert ticket.organization_id == ticket.requester.organization_id is not None
        if ticket.assignee_id is not None:
            assert ticket.group.members.filter(pk=ticket.assignee_id).exists()
    assert Ticket.objects.filter(status="new", assignee__isnull=False).count() == 0


def test_sla_due_times_follow_the_policy_and_nothing_old_is_left_to_sweep(seeded):
    now = clock.now()
    for sla in TicketSla.objects.select_related("ticket", "policy")[:150]:
        ticket = sla.ticket
        target = sla.policy.targets.get(priority=ticket.priority)
        expected = ticket.created_at + timedelta(minutes=target.first_response_minutes)
        if sla.first_response_due_at is not None:
            assert abs(sla.first_response_due_at - expected) < timedelta(seconds=1)
        assert sla.first_response_met_at == ticket.first_responded_at
        assert sla.resolution_met_at == ticket.resolved_at
        assert sla.next_check_at is None or sla.next_check_at > now
        if ticket.status in ("resolved", "closed"):
            assert sla.next_due_at is None
        assert ticket.sla_due_at == sla.next_due_at  # the copy the queues sort by
    assert Ticket.objects.filter(sla_due_at__isnull=False).count() == (
        TicketSla.objects.filter(next_due_at__isnull=False).count()
    )


def test_the_desk_and_the_api_list_the_seeded_tickets(seeded, client):
    agent = User.objects.annotate(n=Count("support_groups")).filter(role=Role.AGENT, n=5)[0]
    client.force_login(agent)
    for queue in ("mine", "unassigned"):
        response = client.get(f"/desk/queue/{queue}/?sort=due")
        assert response.status_code == 200
    supervisor = User.objects.filter(role=Role.SUPERVISOR).first()
    client.force_login(supervisor)
    response = client.get("/desk/queue/all/")
    assert response.status_code == 200
    assert b"tickets" in response.content


def test_new_tickets_and_replies_get_numbers_after_the_seeded_ones(seeded):
    requester = User.objects.filter(role=Role.REQUESTER).first()
    ticket = ticket_services.create_ticket(actor=requester, subject="After the seed")
    assert ticket.pk == 301
    last_seeded = Comment.objects.order_by("-pk").first().pk
    reply = ticket_services.add_comment(
        actor=requester, ticket=ticket, body="Any news?", channel="web"
    )
    assert reply.pk == last_seeded + 1


def test_refuses_a_database_with_tickets_unless_forced(seeded):
    with pytest.raises(Conflict):
        benchseed.seed(OPTIONS, progress=lambda line: None)
    benchseed.seed(
        benchseed.SeedOptions(tickets=20, organizations=2, agents=3, force=True),
        progress=lambda line: None,
    )
    assert Ticket.objects.count() == 320
    assert Ticket.objects.order_by("-pk").first().pk == 320


def test_command_prints_progress_and_refuses_without_force():
    out = StringIO()
    call_command(
        "bench_seed", "--tickets", "40", "--organizations", "3", "--agents", "4", stdout=out
    )
    printed = out.getvalue()
    assert "40 tickets" in printed
    assert "done in" in printed
    with pytest.raises(CommandError, match="--force"):
        call_command("bench_seed", "--tickets", "10", stdout=StringIO())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_postgresql_rows_go_in_with_copy(monkeypatch):
    copied = []
    original = benchseed._CopyWriter.write

    def spy(self, model, columns, rows):
        copied.append(model._meta.db_table)
        return original(self, model, columns, rows)

    monkeypatch.setattr(benchseed._CopyWriter, "write", spy)
    benchseed.seed(
        benchseed.SeedOptions(tickets=30, organizations=2, agents=3), progress=lambda line: None
    )
    assert {"tickets_ticket", "tickets_comment", "sla_ticketsla"} <= set(copied)
    assert Ticket.objects.count() == 30


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statistics")
def test_postgresql_statistics_are_taken_of_the_filled_tables_alone(seeded):
    """An empty table analysed would be "empty" to PostgreSQL's planner until autovacuum
    looks again, whatever is stored meanwhile; a new desk's are never analysed."""
    with CaptureQueriesContext(connection) as queries:
        benchseed._analyze()

    analysed = {
        q["sql"].removeprefix("ANALYZE ") for q in queries if q["sql"].startswith("ANALYZE")
    }
    assert {"public.tickets_ticket", "public.tickets_comment", "public.sla_ticketsla"} <= analysed
    assert "public.channels_inboundmessage" not in analysed  # the seed stores no e-mail
    with connection.cursor() as cursor:
        assert set(maintenance.filled_tables(cursor)) == analysed


def test_articles_are_published_with_their_first_revision():
    from firstline.kb.models import Article, Revision

    report = benchseed.seed(
        benchseed.SeedOptions(tickets=10, organizations=2, agents=3, articles=30),
        progress=lambda line: None,
    )
    assert report.counts["articles"] == Article.objects.filter(status="published").count() == 30
    assert Revision.objects.filter(number=1).count() == 30
    article = Article.objects.first()
    assert article.body_html.startswith("<h2>")
    assert set(Article.objects.values_list("language", flat=True)) == {"en", "zh-hans"}
