from datetime import UTC, datetime

import pytest
import time_machine
from django.core.files.base import ContentFile

from firstline.core.errors import Conflict, InvalidInput, NotAllowed
from firstline.tickets import services
from firstline.tickets.models import Channel, Comment, EventKind, Status, TicketEvent
from firstline.tickets.services import StaleVersion

from ..factories import AgentFactory, CategoryFactory, GroupFactory, RequesterFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def events(ticket, **filters):
    return list(TicketEvent.objects.filter(ticket=ticket, **filters).order_by("id"))


def update(ticket, actor, **changes):
    return services.update_ticket(actor=actor, ticket=ticket, channel=Channel.WEB, **changes)


class TestCreate:
    def test_requester_ticket_lands_in_the_lowest_tier_serving_group(self, desk, new_ticket):
        ticket = new_ticket()
        assert ticket.group == desk.l1
        assert ticket.organization == desk.acme
        assert ticket.status == Status.NEW
        assert [e.kind for e in events(ticket)] == [EventKind.CREATED]

    def test_group_limited_to_other_organizations_is_skipped(self, desk, new_ticket):
        desk.l1.organizations.set([desk.globex])
        assert new_ticket(requester=desk.alice).group == desk.l2
        assert new_ticket(requester=desk.carol).group == desk.l1

    def test_agent_logs_a_phone_call_for_a_requester(self, desk):
        ticket = services.create_ticket(
            actor=desk.l1_agent,
            requester=desk.carol,
            subject="Screen flickers",
            channel=Channel.PHONE,
        )
        assert ticket.requester == desk.carol
        assert ticket.organization == desk.globex
        created = events(ticket)[0]
        assert (created.actor, created.channel) == (desk.l1_agent, "phone")

    def test_assigned_on_creation_starts_open(self, desk):
        ticket = services.create_ticket(
            actor=desk.l1_agent, requester=desk.alice, subject="x", assignee=desk.l1_agent
        )
        assert ticket.status == Status.OPEN

    def test_requester_cannot_route_or_assign(self, desk, new_ticket):
        with pytest.raises(NotAllowed) as exc:
            new_ticket(group=desk.l2, assignee=desk.l2_agent)
        assert set(exc.value.errors) == {"group", "assignee"}

    def test_organization_must_match_the_requester(self, desk):
        with pytest.raises(InvalidInput) as exc:
            services.create_ticket(
                actor=desk.l1_agent, requester=desk.alice, organization=desk.globex, subject="x"
            )
        assert "organization" in exc.value.errors

    def test_blank_subject_is_refused(self, new_ticket):
        with pytest.raises(InvalidInput) as exc:
            new_ticket(subject="   ")
        assert "subject" in exc.value.errors

    def test_numbers_are_never_reused(self, desk, new_ticket):
        first = new_ticket()
        number = first.pk
        first.delete()
        assert new_ticket().pk > number

    def test_tags_are_normalised(self, desk):
        ticket = services.create_ticket(
            actor=desk.l1_agent, requester=desk.alice, subject="x", tags=["VPN", " vpn", "Remote"]
        )
        assert sorted(t.name for t in ticket.tags.all()) == ["remote", "vpn"]


class TestUpdate:
    def test_every_field_change_is_recorded_with_old_and_new_values(self, desk, new_ticket):
        printers = CategoryFactory(name="Printer")
        ticket = new_ticket()
        update(
            ticket,
            desk.l1_agent,
            subject="Printer jams",
            priority="high",
            category=printers,
            assignee=desk.l1_agent,
            tags=["paper"],
        )
        changed = {e.field: (e.old_value, e.new_value) for e in events(ticket, kind="changed")}
        assert changed == {
            "subject": ("Printer on floor 3 jams", "Printer jams"),
            "priority": ("normal", "high"),
            "category": ("", "Printer"),
            "assignee": ("", "l1agent"),
            "status": ("new", "open"),
            "tags": ("", "paper"),
        }
        assert all(e.actor == desk.l1_agent for e in events(ticket, kind="changed"))

    def test_version_increments_and_a_stale_version_is_refused(self, desk, new_ticket):
        ticket = new_ticket()
        update(ticket, desk.l1_agent, priority="high", expected_version=1)
        with pytest.raises(StaleVersion) as exc:
            update(ticket, desk.l2_agent, priority="low", expected_version=1)
        assert exc.value.current_version == 2
        ticket.refresh_from_db()
        assert ticket.priority_key == "high"
        assert len(events(ticket, field="priority")) == 1

    def test_no_change_writes_nothing(self, desk, new_ticket):
        ticket = new_ticket()
        update(ticket, desk.l1_agent, priority="normal")
        ticket.refresh_from_db()
        assert ticket.version == 1
        assert len(events(ticket)) == 1

    def test_status_timestamps_follow_the_lifecycle(self, desk, new_ticket):
        with time_machine.travel(T0, tick=False):
            ticket = new_ticket()
        with time_machine.travel(datetime(2026, 3, 3, tzinfo=UTC), tick=False):
            ticket = update(ticket, desk.l1_agent, status="resolved")
        assert ticket.resolved_at == datetime(2026, 3, 3, tzinfo=UTC)
        ticket = update(ticket, desk.l1_agent, status="open")
        assert ticket.resolved_at is None
        update(ticket, desk.l1_agent, status="resolved")
        ticket = update(ticket, desk.l1_agent, status="closed")
        assert ticket.closed_at is not None

    def test_closed_ticket_cannot_change(self, desk, new_ticket):
        ticket = update(new_ticket(), desk.l1_agent, status="resolved")
        update(ticket, desk.l1_agent, status="closed")
        with pytest.raises(Conflict):
            update(ticket, desk.l1_agent, priority="high")

    def test_moving_group_keeps_tier_and_drops_a_non_member_assignee(self, desk, new_ticket):
        other_l1 = GroupFactory(slug="l1-b", name="Walk-in Desk", tier=1)
        ticket = update(new_ticket(), desk.l1_agent, assignee=desk.l1_agent)
        ticket = update(ticket, desk.l1_agent, group=other_l1)
        assert ticket.assignee is None
        assert {e.field for e in events(ticket, kind="changed")} >= {"group", "assignee"}

    def test_moving_to_another_tier_needs_an_escalation(self, desk, new_ticket):
        with pytest.raises(InvalidInput, match="escalation"):
            update(new_ticket(), desk.l1_agent, group=desk.l2)

    def test_assignee_must_work_in_the_group(self, desk, new_ticket):
        with pytest.raises(InvalidInput) as exc:
            update(new_ticket(), desk.l1_agent, assignee=desk.l2_agent)
        assert "assignee" in exc.value.errors

    def test_requester_can_only_mark_solved_or_reopen(self, desk, new_ticket):
        ticket = new_ticket()
        with pytest.raises(NotAllowed):
            update(ticket, desk.alice, priority="urgent")
        with pytest.raises(InvalidInput):
            update(ticket, desk.alice, status="pending")
        ticket = update(ticket, desk.alice, status="resolved")
        assert update(ticket, desk.alice, status="open").status == Status.OPEN


class TestConversation:
    def test_agent_reply_opens_a_new_ticket_and_sets_first_response(self, desk, new_ticket):
        ticket = new_ticket()
        with time_machine.travel(T0, tick=False):
            services.add_comment(
                actor=desk.l1_agent, ticket=ticket, body="On my way", channel=Channel.WEB
            )
        ticket.refresh_from_db()
        assert ticket.status == Status.OPEN
        assert ticket.first_responded_at == T0

    def test_internal_note_changes_no_status_and_is_not_public_history(self, desk, new_ticket):
        ticket = new_ticket()
        services.add_comment(
            actor=desk.l1_agent,
            ticket=ticket,
            body="Known issue",
            public=False,
            channel=Channel.WEB,
        )
        ticket.refresh_from_db()
        assert ticket.status == Status.NEW
        assert ticket.first_responded_at is None
        note = events(ticket, kind=EventKind.NOTE_ADDED)[0]
        assert note.is_public is False

    def test_requester_cannot_write_internal_notes(self, desk, new_ticket):
        with pytest.raises(NotAllowed):
            services.add_comment(
                actor=desk.alice, ticket=new_ticket(), body="x", public=False, channel="web"
            )

    @pytest.mark.parametrize("waiting", ["pending", "resolved"])
    def test_requester_reply_reopens(self, desk, new_ticket, waiting):
        ticket = update(new_ticket(), desk.l1_agent, status=waiting)
        services.add_comment(actor=desk.alice, ticket=ticket, body="Still broken", channel="email")
        ticket.refresh_from_db()
        assert ticket.status == Status.OPEN
        reopened = events(ticket, field="status")[-1]
        assert (reopened.old_value, reopened.new_value, reopened.actor) == (
            waiting,
            "open",
            desk.alice,
        )

    def test_reply_to_a_closed_ticket_is_refused(self, desk, new_ticket):
        ticket = update(new_ticket(), desk.l1_agent, status="resolved")
        ticket = update(ticket, desk.l1_agent, status="closed")
        with pytest.raises(Conflict):
            services.add_comment(actor=desk.alice, ticket=ticket, body="hello", channel="web")

    def test_attachment_gets_a_generated_name_and_a_safe_display_name(self, desk, new_ticket):
        ticket = new_ticket()
        attachment = services.add_attachment(
            actor=desk.alice,
            ticket=ticket,
            file=ContentFile(b"%PDF-1.4", name="x"),
            filename="../../etc/\u202egnp.exe",
            channel="web",
        )
        assert "/" not in attachment.filename and "\u202e" not in attachment.filename
        assert attachment.file.name.startswith("attachments/")
        assert "gnp" not in attachment.file.name
        assert events(ticket, kind=EventKind.ATTACHED)[0].new_value == attachment.filename

    @pytest.mark.parametrize(
        ("name", "shown"),
        [
            (".htaccess", "htaccess"),
            ("a\x00b.txt", "ab.txt"),
            ("", "attachment"),
            ("C:\\Users\\me\\report.docx", "report.docx"),
            ("打印机.png", "打印机.png"),
        ],
    )
    def test_clean_filename(self, name, shown):
        assert services.clean_filename(name) == shown

    def test_oversize_attachment_is_refused_and_nothing_stored(self, desk, new_ticket, settings):
        settings.MAX_ATTACHMENT_SIZE = 4
        ticket = new_ticket()
        with pytest.raises(services.PayloadTooLarge):
            services.add_attachment(
                actor=desk.alice,
                ticket=ticket,
                file=ContentFile(b"12345"),
                filename="a.txt",
                channel="web",
            )
        assert not ticket.attachments.exists()


class TestEscalation:
    def test_escalate_to_the_next_tier_with_a_reason(self, desk, new_ticket):
        ticket = update(new_ticket(), desk.l1_agent, assignee=desk.l1_agent)
        ticket = services.escalate_ticket(
            actor=desk.l1_agent,
            ticket=ticket,
            reason="Needs a technician on site",
            channel="web",
        )
        assert ticket.group == desk.l2
        assert ticket.assignee is None
        escalated = events(ticket, kind=EventKind.ESCALATED)[0]
        assert (escalated.old_value, escalated.new_value) == ("l1", "l2")
        assert escalated.note == "Needs a technician on site"
        assert escalated.is_public is False

    def test_reason_is_required(self, desk, new_ticket):
        with pytest.raises(InvalidInput) as exc:
            services.escalate_ticket(
                actor=desk.l1_agent, ticket=new_ticket(), reason=" ", channel="web"
            )
        assert "reason" in exc.value.errors

    def test_escalation_must_go_up_and_deescalation_down(self, desk, new_ticket):
        ticket = services.escalate_ticket(
            actor=desk.l1_agent, ticket=new_ticket(), reason="r", group=desk.l3, channel="web"
        )
        with pytest.raises(InvalidInput):
            services.escalate_ticket(
                actor=desk.supervisor, ticket=ticket, reason="r", group=desk.l2, channel="web"
            )
        ticket = services.escalate_ticket(
            actor=desk.supervisor,
            ticket=ticket,
            reason="Back to L1 for follow-up",
            upwards=False,
            group=desk.l1,
            channel="web",
        )
        assert ticket.group == desk.l1
        assert events(ticket, kind=EventKind.DEESCALATED)[0].note == "Back to L1 for follow-up"

    def test_no_higher_tier_left(self, desk, new_ticket):
        ticket = services.escalate_ticket(
            actor=desk.l1_agent, ticket=new_ticket(), reason="r", group=desk.l3, channel="web"
        )
        with pytest.raises(InvalidInput, match="higher tier"):
            services.escalate_ticket(
                actor=desk.supervisor, ticket=ticket, reason="r", channel="web"
            )

    def test_requesters_cannot_escalate(self, desk, new_ticket):
        with pytest.raises(NotAllowed):
            services.escalate_ticket(
                actor=desk.alice, ticket=new_ticket(), reason="r", channel="web"
            )

    def test_stale_escalation_is_refused(self, desk, new_ticket):
        ticket = new_ticket()
        update(ticket, desk.l1_agent, priority="high")
        with pytest.raises(StaleVersion):
            services.escalate_ticket(
                actor=desk.l1_agent, ticket=ticket, reason="r", channel="web", expected_version=1
            )


class TestMergeAndLinks:
    def test_merge_moves_the_conversation_and_closes_the_duplicate(self, desk, new_ticket):
        target = new_ticket(subject="VPN down")
        source = new_ticket(requester=desk.bob, subject="VPN not working", description="Err 809")
        services.add_comment(actor=desk.bob, ticket=source, body="Also from home", channel="web")
        services.merge_tickets(actor=desk.l1_agent, source=source, target=target, channel="web")
        source.refresh_from_db()
        assert source.status == Status.CLOSED and source.merged_into == target
        bodies = list(Comment.objects.filter(ticket=target).values_list("body", flat=True))
        assert any("Err 809" in b for b in bodies) and "Also from home" in bodies
        assert events(source, kind=EventKind.MERGED_INTO)[0].new_value == f"#{target.pk}"
        assert events(target, kind=EventKind.MERGED_FROM)[0].new_value == f"#{source.pk}"

    def test_merge_refuses_itself_closed_and_other_organizations(self, desk, new_ticket):
        ticket = new_ticket()
        with pytest.raises(InvalidInput):
            services.merge_tickets(actor=desk.l1_agent, source=ticket, target=ticket, channel="web")
        with pytest.raises(InvalidInput):
            services.merge_tickets(
                actor=desk.supervisor,
                source=ticket,
                target=new_ticket(requester=desk.carol),
                channel="web",
            )

    def test_links_are_mutual_and_recorded_once(self, desk, new_ticket):
        one, two = new_ticket(), new_ticket()
        for _ in range(2):
            services.link_tickets(actor=desk.l1_agent, ticket=one, other=two, channel="web")
        assert list(two.links.all()) == [one]
        assert len(events(one, kind=EventKind.LINKED)) == 1
        services.link_tickets(
            actor=desk.l1_agent, ticket=two, other=one, channel="web", linked=False
        )
        assert not one.links.exists()
        assert len(events(two, kind=EventKind.UNLINKED)) == 1


class TestHistoryIsAppendOnly:
    def test_entries_cannot_be_changed_or_deleted(self, new_ticket):
        entry = events(new_ticket())[0]
        entry.note = "rewritten"
        with pytest.raises(TypeError):
            entry.save()
        with pytest.raises(TypeError):
            entry.delete()
        with pytest.raises(TypeError):
            TicketEvent.objects.all().update(note="x")
        with pytest.raises(TypeError):
            TicketEvent.objects.all().delete()


def test_inactive_requester_cannot_open_tickets(desk):
    gone = RequesterFactory(is_active=False, organization=desk.acme)
    with pytest.raises(InvalidInput):
        services.create_ticket(actor=desk.l1_agent, requester=gone, subject="x")


def test_inactive_agent_cannot_be_assigned(desk, new_ticket):
    gone = AgentFactory(is_active=False)
    desk.l1.members.add(gone)
    with pytest.raises(InvalidInput):
        update(new_ticket(), desk.l1_agent, assignee=gone)


def test_failed_reply_leaves_no_files_behind(desk, new_ticket, settings, tmp_path):
    settings.MAX_ATTACHMENT_SIZE = 10
    ticket = new_ticket()
    uploads = [
        (ContentFile(b"small"), "a.txt", "text/plain"),
        (ContentFile(b"far too large for the limit"), "b.txt", "text/plain"),
    ]
    with pytest.raises(services.PayloadTooLarge):
        services.post_reply(
            actor=desk.alice, ticket=ticket, body="see files", channel="web", uploads=uploads
        )
    stored = (
        list((settings.MEDIA_ROOT / "attachments").rglob("*"))
        if (settings.MEDIA_ROOT / "attachments").exists()
        else []
    )
    assert [p for p in stored if p.is_file()] == []
    assert not ticket.attachments.exists() and not ticket.comments.exists()


def test_a_reply_refused_inside_a_callers_transaction_leaves_it_usable(desk, new_ticket, settings):
    from django.db import transaction

    # E-mail catches this refusal and opens a follow-up ticket in the same transaction.
    ticket = new_ticket()
    update(ticket, desk.l1_agent, status=Status.RESOLVED)
    update(ticket, desk.l1_agent, status=Status.CLOSED)
    upload = (ContentFile(b"log"), "log.txt", "text/plain")
    with transaction.atomic():
        with pytest.raises(Conflict):
            services.post_reply(
                actor=desk.alice, ticket=ticket, body="again", channel="email", uploads=[upload]
            )
        follow_up = services.create_ticket(actor=None, requester=desk.alice, subject="again")
    assert follow_up.pk and not ticket.comments.exists() and not ticket.attachments.exists()


def test_a_new_ticket_whose_file_is_refused_rolls_back_with_the_callers_block(desk, settings):
    from django.db import transaction

    from firstline.tickets.models import Ticket

    settings.MAX_ATTACHMENT_SIZE = 10
    uploads = [
        (ContentFile(b"small"), "a.txt", "text/plain"),
        (ContentFile(b"far too large for the limit"), "b.txt", "text/plain"),
    ]
    before = Ticket.objects.count()
    with pytest.raises(services.PayloadTooLarge), transaction.atomic():
        services.open_ticket_with_files(
            actor=None, requester=desk.alice, subject="files", channel="email", uploads=uploads
        )
    assert Ticket.objects.count() == before
    files = settings.MEDIA_ROOT / "attachments"
    assert not files.exists() or not [p for p in files.rglob("*") if p.is_file()]


def test_a_reply_with_files_records_each_file_then_the_reply(desk, new_ticket):
    from firstline.tickets.models import Ticket

    ticket = new_ticket()
    version = Ticket.objects.get(pk=ticket.pk).version
    seen = [event.pk for event in events(ticket)]
    uploads = [(ContentFile(b"one"), "a.txt", "text/plain"), (ContentFile(b"two"), "b.txt", "")]

    comment = services.post_reply(
        actor=desk.alice, ticket=ticket, body="see files", channel="email", uploads=uploads
    )

    kinds = [(e.kind, e.new_value) for e in events(ticket) if e.pk not in seen]
    assert kinds[:2] == [(EventKind.ATTACHED, "a.txt"), (EventKind.ATTACHED, "b.txt")]
    assert (EventKind.COMMENTED, "") in kinds
    assert Ticket.objects.get(pk=ticket.pk).version == version + 3  # each file, then the reply
    assert sorted(a.filename for a in comment.attachments.all()) == ["a.txt", "b.txt"]


def _savepoints(call) -> int:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        call()
    return sum(q["sql"].startswith("SAVEPOINT") for q in captured.captured_queries)


def test_a_reply_opens_no_savepoint_for_its_files_and_comment(desk, new_ticket):
    """post_reply is all or nothing in one savepoint: the comment and files it stores inside
    it add none of their own (two round trips each on PostgreSQL, for every e-mail)."""
    ticket = new_ticket()

    def reply(files: int):
        uploads = [(ContentFile(b"x"), f"{i}.txt", "text/plain") for i in range(files)]
        return lambda: services.post_reply(
            actor=desk.alice, ticket=ticket, body="hi", channel="email", uploads=uploads
        )

    alone = _savepoints(
        lambda: services.add_comment(actor=desk.alice, ticket=ticket, body="hi", channel="email")
    )
    assert _savepoints(reply(0)) == alone  # post_reply's own, where add_comment had its own
    assert _savepoints(reply(2)) == alone


def test_the_lock_reads_the_ticket_and_what_it_refers_to_in_one_query(
    desk, new_ticket, django_assert_num_queries
):
    """_lock runs a query compiled once: the row it gives is the ticket as the ORM reads it
    now (another copy's changes included), its group, assignee, organization and category
    loaded with it."""
    from django.db import transaction

    from firstline.tickets.models import Ticket

    category = CategoryFactory(name="Printers")
    ticket = services.create_ticket(
        actor=desk.l1_agent, requester=desk.alice, subject="Jams", category=category
    )
    services.update_ticket(
        actor=desk.l1_agent, ticket=ticket, channel=Channel.WEB, assignee=desk.l1_agent
    )
    Ticket.objects.filter(pk=ticket.pk).update(subject="Changed elsewhere")
    fresh = Ticket.objects.select_related("group", "assignee", "organization", "category").get(
        pk=ticket.pk
    )
    for _ in range(2):  # the first call compiles, the second reuses
        with transaction.atomic(), django_assert_num_queries(1):
            locked = services._lock(ticket)
            related = (locked.group, locked.assignee, locked.organization, locked.category)
        assert related == (desk.l1, desk.l1_agent, desk.acme, category)
        assert (related[0].slug, related[1].username, related[3].name) == (
            "l1",
            "l1agent",
            "Printers",
        )
        assert [getattr(locked, f.attname) for f in Ticket._meta.concrete_fields] == [
            getattr(fresh, f.attname) for f in Ticket._meta.concrete_fields
        ]
        assert locked.subject == "Changed elsewhere"
        assert locked.created_at.tzinfo is not None
        assert not locked._state.adding and locked._state.db == "default"


def test_the_lock_refuses_a_stale_version_and_a_missing_ticket(desk, new_ticket):
    from django.db import transaction

    from firstline.tickets.models import Ticket

    ticket = new_ticket()
    with transaction.atomic():
        with pytest.raises(StaleVersion):
            services._lock(ticket, expected_version=ticket.version + 1)
        assert services._lock(ticket, expected_version=ticket.version).pk == ticket.pk
    gone = Ticket(pk=ticket.pk + 1000)
    with transaction.atomic(), pytest.raises(Ticket.DoesNotExist):
        services._lock(gone)


def test_the_lock_leaves_unset_references_empty(desk, new_ticket):
    from django.db import transaction

    ticket = new_ticket()
    with transaction.atomic():
        locked = services._lock(ticket)
    assert (locked.assignee, locked.category) == (None, None)
    assert locked.group == desk.l1


def test_participants_are_added_once_each_with_history_and_no_savepoint(desk, new_ticket):
    """add_participants runs inside the block of an inbound message, which a failure rolls
    back whole: a savepoint of its own would be two more round trips per copied message."""
    from firstline.tickets.models import TicketParticipant

    ticket = new_ticket()
    emails = [desk.bob.email.upper(), "New.Person@Example.net", desk.alice.email, "no-at-sign"]

    def add():
        return services.add_participants(actor=None, ticket=ticket, emails=emails)

    assert _savepoints(add) == 0
    added = TicketParticipant.objects.filter(ticket=ticket).order_by("email")
    assert [(p.email, p.user) for p in added] == sorted(
        [(desk.bob.email.lower(), desk.bob), ("new.person@example.net", None)]
    )
    assert all(p.created_at is not None for p in added)
    history = events(ticket, kind=EventKind.PARTICIPANT_ADDED)
    assert sorted(e.new_value for e in history) == sorted(p.email for p in added)
    assert add() == []  # already copied in: nothing added, nothing recorded
    assert len(events(ticket, kind=EventKind.PARTICIPANT_ADDED)) == 2


def test_a_participant_is_linked_to_the_user_of_that_address_in_any_case(desk, new_ticket):
    from firstline.accounts.models import User

    mixed = User.objects.create_user(username="mixed", email="Mia.Mixed@Example.COM")
    ticket = new_ticket()
    added = services.add_participants(
        actor=None, ticket=ticket, emails=["mia.mixed@example.com", "Other@Example.com"]
    )
    assert [(p.email, p.user) for p in added] == [
        ("mia.mixed@example.com", mixed),
        ("other@example.com", None),
    ]
