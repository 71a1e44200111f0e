"""Incoming mail: new tickets, who becomes the requester, and mail that must never be answered."""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection

from firstline.accounts.models import Role, User
from firstline.accounts.services import add_organization_domain
from firstline.channels import inbound, message_ids, services
from firstline.channels.models import InboundMessage, OutboundMessage
from firstline.core import clock
from firstline.core.bulk import new_row_values
from firstline.tickets.models import (
    Channel,
    Comment,
    EventKind,
    Ticket,
    TicketEvent,
    TicketParticipant,
)

from .. import markers
from ..factories import CategoryFactory, GroupFactory, RequesterFactory

pytestmark = pytest.mark.django_db

PROCESSED, IGNORED = InboundMessage.Status.PROCESSED, InboundMessage.Status.IGNORED
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def acks_to(address: str) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(kind="ack", primary_recipient=address))


# --- New tickets -------------------------------------------------------------------------------


def test_an_unknown_sender_becomes_a_requester_with_a_new_email_ticket(deliver, mail, desk):
    raw = mail(
        sender="Dana Scully <Dana.Scully@Unknown.example>",
        subject="VPN drops every hour",
        body="Since Monday the VPN disconnects every hour.\n",
    )

    message = deliver(raw)

    assert (message.status, message.result) == (PROCESSED, "created")
    ticket = message.ticket
    requester = ticket.requester
    assert requester.email == "dana.scully@unknown.example"
    assert (requester.first_name, requester.last_name) == ("Dana", "Scully")
    assert requester.role == Role.REQUESTER
    assert requester.organization is None
    assert not requester.has_usable_password()
    assert ticket.subject == "VPN drops every hour"
    assert "disconnects every hour" in ticket.description
    assert ticket.channel == Channel.EMAIL
    assert ticket.group == desk.l1
    created = TicketEvent.objects.get(ticket=ticket, kind=EventKind.CREATED)
    assert created.actor == requester
    assert created.channel == Channel.EMAIL
    assert acks_to("dana.scully@unknown.example")


def test_a_new_requester_joins_the_organization_that_owns_the_mail_domain(deliver, mail, desk):
    add_organization_domain(actor=None, organization=desk.globex, domain="globex.example")

    ticket = deliver(mail(sender="Fox Mulder <fox@globex.example>")).ticket

    assert ticket.requester.organization == desk.globex
    assert ticket.organization == desk.globex


def test_a_known_user_is_reused_whatever_the_case_of_the_address(deliver, mail, desk):
    users = User.objects.count()

    ticket = deliver(mail(sender="Alice <ALICE@Example.COM>")).ticket

    assert ticket.requester == desk.alice
    assert ticket.organization == desk.acme
    assert User.objects.count() == users


def test_cc_addresses_become_participants_but_not_the_mailbox_or_the_sender(
    deliver, mail, mailbox, desk
):
    raw = mail(
        sender="alice@example.com",
        cc=["Bob <Bob@Example.com>", "Team Lead <lead@acme.example>", mailbox.address.upper()],
    )

    ticket = deliver(raw).ticket

    participants = TicketParticipant.objects.filter(ticket=ticket)
    assert sorted(p.email for p in participants) == ["bob@example.com", "lead@acme.example"]
    assert participants.get(email="bob@example.com").user == desk.bob


def test_the_mailboxs_group_organization_and_category_are_applied(deliver, mail, desk):
    category = CategoryFactory(name="Printing")
    box, _ = services.create_mailbox(
        actor=None,
        address="printers@firstline.example",
        group=desk.l2,
        organization=desk.globex,
        category=category,
    )

    ticket = deliver(mail(to=box.address), to=box).ticket

    assert (ticket.group, ticket.organization, ticket.category) == (desk.l2, desk.globex, category)


def test_a_mailbox_group_that_does_not_serve_the_requesters_organization_is_not_forced(
    deliver, mail, desk
):
    globex_only = GroupFactory(slug="globex-desk", tier=1, organizations=[desk.globex])
    box, _ = services.create_mailbox(
        actor=None, address="globex@firstline.example", group=globex_only
    )

    ticket = deliver(mail(sender="alice@example.com", to=box.address), to=box).ticket

    assert ticket.organization == desk.acme
    assert ticket.group == desk.l1


def test_attachments_are_stored_with_safe_names(deliver, mail, settings):
    pdf = b"%PDF-1.4 a tiny report\n"
    raw = mail(
        attachments=[
            ("../../etc/passwd", b"root:x:0:0\n", "text/plain"),
            ("..\\..\\Windows\\evil.bat", b"@echo off\n", "application/octet-stream"),
            ("报告.pdf", pdf, "application/pdf"),
        ]
    )

    message = deliver(raw)

    assert (message.status, message.result) == (PROCESSED, "created"), message.error
    attachments = {a.filename: a for a in message.ticket.attachments.all()}
    assert set(attachments) == {"passwd", "evil.bat", "报告.pdf"}
    for attachment in attachments.values():
        assert ".." not in attachment.file.name
        assert attachment.is_public
    with attachments["报告.pdf"].file.open("rb") as stored:
        assert stored.read() == pdf
    assert attachments["报告.pdf"].content_type == "application/pdf"


def test_only_allowed_sender_domains_may_open_tickets(deliver, mail, mailbox, desk):
    mailbox.allowed_sender_domains = "Example.com, acme.example"
    mailbox.save()
    users = User.objects.count()

    refused = deliver(mail(sender="Eve <eve@evil.example>"))
    accepted = deliver(mail(sender="Alice <Alice@EXAMPLE.com>"))

    assert (refused.status, refused.result, refused.ticket) == (IGNORED, "sender_not_allowed", None)
    assert (accepted.status, accepted.result) == (PROCESSED, "created")
    assert Ticket.objects.count() == 1
    assert User.objects.count() == users
    assert not acks_to("eve@evil.example")


def test_a_message_without_a_usable_sender_is_quarantined_not_lost(deliver):
    raw = b"To: help@firstline.example\r\nSubject: Who am I?\r\nMessage-ID: <anon@x>\r\n\r\nHi\r\n"

    message = deliver(raw)

    assert message.status == InboundMessage.Status.QUARANTINED
    assert message.error
    assert bytes(message.raw) == raw
    assert not Ticket.objects.exists()
    assert not OutboundMessage.objects.exists()


# --- Mail that is never answered (RFC 3834) ------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "result"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_reply"),
        ({"Auto-Submitted": "auto-generated"}, "auto_generated"),
        ({"X-Autoreply": "yes"}, "auto_reply"),
        ({"Precedence": "bulk"}, "bulk"),
        ({"Precedence": "list"}, "list"),
        ({"List-Unsubscribe": "<mailto:leave@news.example>"}, "list"),
    ],
)
def test_automatic_mail_opens_no_ticket_and_is_not_answered(deliver, mail, headers, result):
    users = User.objects.count()

    message = deliver(mail(sender="robot@vendor.example", headers=headers))

    assert (message.status, message.result, message.ticket) == (IGNORED, result, None)
    assert not Ticket.objects.exists()
    assert not OutboundMessage.objects.exists()
    assert User.objects.count() == users


def test_mail_from_the_mailer_daemon_opens_no_ticket_and_is_not_answered(deliver, mail):
    raw = mail(
        sender="Mail Delivery System <MAILER-DAEMON@mx.unknown.example>",
        subject="Undelivered Mail Returned to Sender",
        body="I'm sorry to have to inform you that your message could not be delivered.\n",
    )

    message = deliver(raw)

    assert (message.status, message.result) == (IGNORED, "bounce")
    assert not Ticket.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_an_out_of_office_to_our_acknowledgement_is_kept_as_a_note_and_not_answered(deliver, mail):
    ticket = deliver(mail(sender="alice@example.com")).ticket
    ack = OutboundMessage.objects.get(kind="ack", ticket=ticket)
    raw = mail(
        sender="alice@example.com",
        subject=f"Automatic reply: {ack.subject}",
        body="I am out of the office until Monday.\n",
        in_reply_to=ack.message_id,
        references=ack.message_id,
        headers={"Auto-Submitted": "auto-replied"},
    )

    message = deliver(raw)

    assert (message.status, message.result, message.ticket) == (PROCESSED, "auto_reply", ticket)
    note = message.comment
    assert note.ticket == ticket and not note.is_public and note.author is None
    assert "out of the office until Monday" in note.body
    assert Ticket.objects.count() == 1
    assert OutboundMessage.objects.count() == 1  # the acknowledgement only
    ticket.refresh_from_db()
    assert ticket.status == "new"


def _dsn(bounced_message_id: str) -> bytes:
    return (
        b"Return-Path: <>\r\n"
        b"From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>\r\n"
        b"To: help@firstline.example\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <dsn-20260504@mx.example.com>\r\n"
        b"Date: Mon, 4 May 2026 09:05:00 +0000\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n'
        b"\r\n"
        b"--B1\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n"
        b"<alice@example.com>: host mx.example.com said: 550 5.1.1 Mailbox does not exist\r\n"
        b"\r\n"
        b"--B1\r\n"
        b"Content-Type: message/delivery-status\r\n"
        b"\r\n"
        b"Reporting-MTA: dns; mx.example.com\r\n"
        b"\r\n"
        b"Final-Recipient: rfc822; alice@example.com\r\n"
        b"Action: failed\r\n"
        b"Status: 5.1.1\r\n"
        b"\r\n"
        b"--B1\r\n"
        b"Content-Type: text/rfc822-headers\r\n"
        b"\r\n"
        b"From: help@firstline.example\r\n"
        b"To: alice@example.com\r\n"
        b"Subject: [#1] We received your request\r\n"
        b"Message-ID: <" + bounced_message_id.encode() + b">\r\n"
        b"\r\n"
        b"--B1--\r\n"
    )


def test_a_bounce_of_our_notification_is_a_note_on_its_ticket(deliver, mail):
    ticket = deliver(mail(sender="alice@example.com")).ticket
    ack = OutboundMessage.objects.get(kind="ack", ticket=ticket)

    message = deliver(_dsn(ack.message_id))

    assert (message.status, message.result, message.ticket) == (PROCESSED, "bounce", ticket)
    note = Comment.objects.get(pk=message.comment_id)
    assert not note.is_public and note.author is None
    assert "Mailbox does not exist" in note.body
    assert Ticket.objects.count() == 1
    assert OutboundMessage.objects.count() == 1


def test_a_bounce_naming_a_forged_id_is_ignored(deliver, mail):
    ticket = deliver(mail(sender="alice@example.com")).ticket

    message = deliver(_dsn(f"fl.{ticket.pk}.0000000000000000.00000000000000000000@localhost"))

    assert (message.status, message.result, message.ticket) == (IGNORED, "bounce", None)
    assert not Comment.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize("with_ticket", [True, False])
def test_our_own_mail_coming_back_is_ignored(deliver, mail, mailbox, new_ticket, with_ticket):
    ticket = new_ticket() if with_ticket else None
    outgoing = OutboundMessage.objects.count()
    raw = mail(
        sender=mailbox.address,
        subject="[#1] We received your request",
        message_id=message_ids.new_message_id(ticket.pk if ticket else None),
    )

    message = deliver(raw)

    assert (message.status, message.result, message.ticket) == (IGNORED, "own_mail", None)
    assert Ticket.objects.count() == (1 if with_ticket else 0)
    assert OutboundMessage.objects.count() == outgoing


def test_a_second_delivery_of_the_same_message_id_is_a_duplicate(deliver, mail):
    raw = mail(sender="alice@example.com", message_id="once@example.com")
    relayed = b"Received: from relay2.example.com by mx.firstline.example; 4 May 2026\r\n" + raw

    first, second = deliver(raw), deliver(relayed)

    assert first.pk != second.pk
    assert (first.status, first.result) == (PROCESSED, "created")
    assert (second.status, second.result, second.ticket) == (IGNORED, "duplicate", None)
    assert Ticket.objects.count() == 1
    assert len(acks_to("alice@example.com")) == 1


def test_a_new_sender_whose_address_is_someone_elses_username_gets_a_free_one(deliver, mail):
    from ..factories import RequesterFactory

    RequesterFactory(username="dana@unknown.example", email="someone.else@example.com")
    RequesterFactory(username="dana@unknown.example-2", email="")

    message = deliver(mail(sender="Dana <Dana@Unknown.example>"))

    assert message.result == "created"
    requester = message.ticket.requester
    assert requester.username == "dana@unknown.example-3"
    assert requester.email == "dana@unknown.example"


def test_a_new_sender_is_inserted_in_one_statement_as_create_user_would_make_them(
    deliver, mail, desk
):
    """No lookups or savepoints of create_user's; the model signals are still sent."""
    from django.db.models.signals import post_save
    from django.test.utils import CaptureQueriesContext

    add_organization_domain(actor=None, organization=desk.globex, domain="globex.example")
    saved = []

    def receiver(sender, instance, created, **kwargs):
        saved.append((instance.email, created, instance.pk is not None))

    post_save.connect(receiver, sender=User, weak=False, dispatch_uid="test-new-sender")
    try:
        with CaptureQueriesContext(connection) as captured:
            message = deliver(mail(sender="Fox William Mulder <Fox@Globex.example>"))
    finally:
        post_save.disconnect(dispatch_uid="test-new-sender", sender=User)

    user = message.ticket.requester
    expected = dict(username="fox@globex.example", email="fox@globex.example", role=Role.REQUESTER)
    expected |= dict(first_name="Fox", last_name="William Mulder", organization=desk.globex)
    expected |= dict(is_active=True, is_staff=False, is_superuser=False, is_org_manager=False)
    assert {k: getattr(user, k) for k in expected} == expected
    assert (user.last_login, user.language, user.time_zone) == (None, "", "")
    assert not user.has_usable_password() and user.date_joined is not None
    assert saved == [("fox@globex.example", True, True)]
    sql = [q["sql"] for q in captured.captured_queries]
    inserts = [q for q in sql if q.startswith('INSERT INTO "accounts_user"')]
    lookups = [q for q in sql if "accounts_user" in q and q.startswith("SELECT")]
    assert len(inserts) == 1
    assert len(lookups) == 1, lookups  # the batch's known senders, none about the new one


def test_one_acknowledgement_per_sender_every_ten_minutes(deliver, mail):
    with time_machine.travel(T0, tick=False) as traveller:
        first = deliver(mail(sender="dana@unknown.example", subject="Printer jams"))
        traveller.move_to(T0 + timedelta(minutes=4))
        second = deliver(mail(sender="dana@unknown.example", subject="Also: no toner"))
        other = deliver(mail(sender="fox@unknown.example", subject="Monitor flickers"))

        assert first.ticket != second.ticket
        assert len(acks_to("dana@unknown.example")) == 1
        assert len(acks_to("fox@unknown.example")) == 1

        traveller.move_to(T0 + timedelta(minutes=11))
        third = deliver(mail(sender="dana@unknown.example", subject="Keyboard missing keys"))

    assert other.result == third.result == "created"
    assert len(acks_to("dana@unknown.example")) == 2
    assert Ticket.objects.count() == 4


def test_the_message_id_is_known_on_arrival():
    from firstline.channels.inbound import header_message_id

    raw = b"From: a@b.example\r\nMessage-ID: <abc.123@b.example>\r\n\r\nbody\r\nMessage-ID: <no@x>"
    assert header_message_id(raw) == "abc.123@b.example"
    assert header_message_id(b"From: a@b.example\n\nno id") == ""


def test_messages_left_waiting_are_enqueued_again(mailbox, django_capture_on_commit_callbacks):
    from datetime import timedelta

    import time_machine

    from firstline.channels import inbound
    from firstline.channels.models import InboundMessage
    from firstline.core import clock

    raw = (
        b"From: late@acme.example\r\nSubject: stuck\r\nMessage-ID: <s1@acme.example>\r\n\r\nhi\r\n"
    )
    stored, _ = inbound.receive_message(mailbox=mailbox, raw=raw, source="http")  # never enqueued
    assert inbound.requeue_stale() == 0
    later = clock.now() + timedelta(minutes=11)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert inbound.requeue_stale() == 1
    stored.refresh_from_db()
    assert (stored.status, stored.result) == (InboundMessage.Status.PROCESSED, "created")


# --- Batches, several workers ------------------------------------------------------------------

needs_concurrent_writers = markers.needs_concurrent_writers()


@pytest.fixture
def deferring_tasks(settings, monkeypatch):
    """A task backend that keeps what is enqueued (with its run_after) instead of running it,
    as the database queue does; the enqueue window starts afresh."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    monkeypatch.setattr(inbound, "_window_ends", 0.0)
    from django_tasks import default_task_backend

    default_task_backend.clear()
    return default_task_backend


def store(mailbox, raw: bytes) -> InboundMessage:
    """Stored as the endpoint stores it, without running what its commit starts."""
    return inbound.receive_message(mailbox=mailbox, raw=raw, source="http")[0]


def test_messages_arriving_together_need_one_processing_task(
    mailbox, mail, deferring_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        store(mailbox, mail(sender="a@example.com"))
    with django_capture_on_commit_callbacks(execute=True):
        store(mailbox, mail(sender="b@example.com"))

    [task] = deferring_tasks.results
    assert task.task.name == "process_inbound_messages"
    assert task.task.run_after > clock.now()  # after the window, when both have committed


def test_a_batch_turns_every_waiting_message_into_its_own_outcome(mailbox, mail):
    original = mail(sender="dana@unknown.example", message_id="first@unknown.example")
    # The reply is stored first (relays reorder mail): it still joins the original's ticket.
    store(mailbox, mail(sender="dana@unknown.example", in_reply_to="first@unknown.example"))
    store(mailbox, original)
    store(mailbox, original)  # the same bytes again: stored once
    store(mailbox, b"Received: by relay2.example\r\n" + original)  # a copy: a duplicate
    store(mailbox, mail(sender="Fox <fox@unknown.example>", subject="Monitor flickers"))
    store(mailbox, mail(sender="", subject="no sender"))

    assert inbound.process_waiting() == 5

    outcomes = sorted(InboundMessage.objects.values_list("result", flat=True))
    assert outcomes == ["appended", "created", "created", "duplicate", "rejected"]
    assert Ticket.objects.count() == 2
    dana = Ticket.objects.get(requester__email="dana@unknown.example")
    assert dana.comments.count() == 1
    assert not InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVED).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_without_statistics_the_same_bytes_are_looked_for_by_their_hash(mailbox):
    """As on a new desk, or one analysed while no mail was stored: with other indexes
    leading with the mailbox, the plan PostgreSQL kept read every message of the mailbox."""
    lookup = inbound._SQL.same_bytes.replace("%s", "$1", 1).replace("%s", "$2", 1)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {inbound._SQL.table}")  # never analysed (undone after)
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")  # as when cached
        cursor.execute(f"PREPARE same_bytes (bigint, text) AS {lookup}")
        try:
            cursor.execute("EXPLAIN EXECUTE same_bytes (1, 'f00d')")
            plan = "\n".join(line for (line,) in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE same_bytes")

    assert "inbound_hash_idx" in plan
    assert "Index Cond: ((mailbox_id = $1) AND" in plan  # both columns, not a filter


def test_a_batch_that_queues_mail_in_several_transactions_asks_for_one_send(
    mailbox, mail, desk, deferring_tasks, django_capture_on_commit_callbacks
):
    people = [desk.alice.email, desk.bob.email, "new.one@unknown.example", "new.two@x.example"]
    for address in people:  # each new person ends a transaction: three of them here
        store(mailbox, mail(sender=address, subject=f"Printer of {address}"))

    with django_capture_on_commit_callbacks(execute=True):
        assert inbound.process_waiting() == 4

    assert [len(acks_to(address)) for address in people] == [1, 1, 1, 1]
    sends = [r for r in deferring_tasks.results if r.task.name == "send_outbox"]
    assert len(sends) == 1  # once the batch is done, not once per transaction or savepoint


def test_replies_in_a_batch_find_their_tickets_with_one_lookup(mailbox, mail, desk):
    from django.test.utils import CaptureQueriesContext

    for n in (1, 2):
        store(mailbox, mail(sender=f"p{n}@unknown.example", message_id=f"o{n}@unknown.example"))
    assert inbound.process_waiting() == 2
    replies = [
        store(mailbox, mail(sender="p1@unknown.example", in_reply_to="o1@unknown.example")),
        store(mailbox, mail(sender="p2@unknown.example", in_reply_to="o2@unknown.example")),
        store(mailbox, mail(sender="p1@unknown.example", references=["o1@unknown.example"])),
        # Someone else quoting the Message-ID is no participant: a ticket of their own.
        store(mailbox, mail(sender="eve@unknown.example", in_reply_to="o2@unknown.example")),
    ]

    with CaptureQueriesContext(connection) as queries:
        assert inbound.process_waiting() == 4

    lookups = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and "channels_messagereference" in q["sql"]
    ]
    assert len(lookups) == 2  # the batch's, and Eve's, whose match she may not write to
    tickets = {t.requester.email: t for t in Ticket.objects.select_related("requester")}
    for reply in replies:
        reply.refresh_from_db()
    assert [r.result for r in replies] == ["appended", "appended", "appended", "created"]
    assert [r.ticket for r in replies] == [
        tickets["p1@unknown.example"],
        tickets["p2@unknown.example"],
        tickets["p1@unknown.example"],
        tickets["eve@unknown.example"],
    ]


def test_a_message_that_fails_is_quarantined_and_the_batch_goes_on(mailbox, mail, monkeypatch):
    from firstline.channels import thread_matching

    find_ticket = thread_matching.find_ticket

    def failing(parsed, sender, known=None):
        if parsed.subject == "breaks":
            raise RuntimeError("matching broke")
        return find_ticket(parsed, sender, known)

    monkeypatch.setattr(thread_matching, "find_ticket", failing)
    broken = store(mailbox, mail(sender="new.person@unknown.example", subject="breaks"))
    fine = store(mailbox, mail(sender="new.person@unknown.example", subject="Printer"))

    inbound.process_waiting()

    broken.refresh_from_db()
    fine.refresh_from_db()
    assert (broken.status, broken.result) == (InboundMessage.Status.QUARANTINED, "error")
    assert "matching broke" in broken.error
    assert broken.sender == "new.person@unknown.example"  # what the admin sees in the list
    assert (fine.status, fine.result) == (PROCESSED, "created")
    # The user the failed message created was rolled back with it, and made again once.
    assert User.objects.filter(email="new.person@unknown.example").count() == 1


def _fail_on_subject(monkeypatch, subject: str) -> None:
    from firstline.channels import thread_matching

    find_ticket = thread_matching.find_ticket

    def failing(parsed, sender, known=None):
        if parsed.subject == subject:
            raise RuntimeError("matching broke")
        return find_ticket(parsed, sender, known)

    monkeypatch.setattr(thread_matching, "find_ticket", failing)


def test_a_failure_after_others_of_its_transaction_loses_none_of_them(
    mailbox, mail, monkeypatch, deferring_tasks, django_capture_on_commit_callbacks
):
    # Known senders: nothing ends the transaction early, so all five share one.
    people = [RequesterFactory(email=f"p{n}@unknown.example") for n in range(4)]
    messages = [store(mailbox, mail(sender=p.email, subject=f"Printer {p.pk}")) for p in people]
    messages.insert(3, store(mailbox, mail(sender=people[0].email, subject="breaks")))
    _fail_on_subject(monkeypatch, "breaks")

    with django_capture_on_commit_callbacks(execute=True):
        assert inbound.process_waiting() == 5

    for message in messages:
        message.refresh_from_db()
    broken = messages.pop(3)
    assert (broken.status, broken.result) == (InboundMessage.Status.QUARANTINED, "error")
    assert [(m.status, m.result) for m in messages] == [(PROCESSED, "created")] * 4
    assert [m.attempts for m in [*messages, broken]] == [1] * 5  # each taken once, as recorded
    assert Ticket.objects.count() == 4
    assert TicketEvent.objects.filter(kind=EventKind.CREATED).count() == 4
    assert [len(acks_to(p.email)) for p in people] == [1, 1, 1, 1]
    sends = [r for r in deferring_tasks.results if r.task.name == "send_outbox"]
    assert len(sends) == 1


def test_files_of_a_message_before_a_failure_are_stored_once(mailbox, mail, monkeypatch, settings):
    dana = RequesterFactory(email="dana@unknown.example")
    with_file = store(
        mailbox, mail(sender=dana.email, attachments=[("log.txt", b"disk full\n", "text/plain")])
    )
    broken = store(mailbox, mail(sender=dana.email, subject="breaks"))
    _fail_on_subject(monkeypatch, "breaks")

    assert inbound.process_waiting() == 2

    with_file.refresh_from_db()
    broken.refresh_from_db()
    assert (with_file.result, broken.result) == ("created", "error")
    [attachment] = with_file.ticket.attachments.all()
    with attachment.file.open("rb") as stored:
        assert stored.read() == b"disk full\n"
    files = [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]
    assert len(files) == 1  # none left behind by a rolled-back try


def test_a_claimed_message_is_left_to_its_worker_until_the_lease_ends(mailbox, mail):
    store(mailbox, mail(sender="a@example.com"))
    store(mailbox, mail(sender="b@example.com"))

    first = inbound._claim(1)
    second = inbound._claim(5)
    assert [row["pk"] for row in first] != [row["pk"] for row in second]
    assert inbound._claim(5) == []
    with time_machine.travel(clock.now() + inbound.CLAIM_LEASE + timedelta(seconds=1)):
        assert len(inbound._claim(5)) == 2  # the workers died: others take over


def test_a_reply_waits_while_another_worker_holds_its_original(mailbox, mail, deferring_tasks):
    original = store(mailbox, mail(sender="dana@unknown.example", message_id="q1@unknown.example"))
    inbound._claim(1)  # another worker has it, not committed yet
    reply = store(
        mailbox,
        mail(sender="dana@unknown.example", subject="Re: x", in_reply_to="q1@unknown.example"),
    )

    assert inbound.process_waiting() == 0
    reply.refresh_from_db()
    assert reply.status == InboundMessage.Status.RECEIVED
    assert Ticket.objects.count() == 0
    assert deferring_tasks.results[-1].task.run_after > clock.now()  # a retry is scheduled

    assert inbound.process(original.pk).result == "created"
    with time_machine.travel(clock.now() + inbound.RETRY_DELAY + timedelta(seconds=1)):
        assert inbound.process_waiting() == 1
    reply.refresh_from_db()
    assert (reply.result, reply.ticket) == ("appended", Ticket.objects.get())


def test_a_reply_stops_waiting_for_an_original_that_never_comes(mailbox, mail, deferring_tasks):
    with time_machine.travel(T0, tick=False):
        stuck = store(mailbox, mail(sender="dana@unknown.example", message_id="lost@x.example"))
        reply = store(mailbox, mail(sender="dana@unknown.example", in_reply_to="lost@x.example"))
        InboundMessage.objects.filter(pk=stuck.pk).update(claimed_until=T0 + timedelta(days=1))
        assert inbound.process_waiting() == 0
    with time_machine.travel(T0 + inbound.PARENT_WAIT + timedelta(minutes=1), tick=False):
        assert inbound.process_waiting() == 1
    reply.refresh_from_db()
    assert (reply.status, reply.result) == (PROCESSED, "created")


@needs_concurrent_writers
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_import_one_message_id_once(mailbox, mail, deferring_tasks):
    raw = mail(sender="alice@example.com", message_id="race@example.com")
    copies = [store(mailbox, raw), store(mailbox, b"Received: by relay2.example\r\n" + raw)]
    barrier, results, errors = threading.Barrier(2), [], []

    def worker(message):
        try:
            barrier.wait(timeout=10)
            results.append(inbound.process(message.pk).result)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(m,)) for m in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    assert sorted(results) == ["created", "duplicate"]
    assert Ticket.objects.count() == 1


@needs_concurrent_writers
@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_at_once_share_the_work(mailbox, mail, deferring_tasks):
    for n in range(40):
        store(mailbox, mail(sender=f"user{n % 7}@example.com", subject=f"Problem {n}"))
    barrier, done, errors = threading.Barrier(2), [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            done.append(inbound.process_waiting())
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert sum(done) == 40
    assert Ticket.objects.count() == 40
    assert User.objects.filter(email__startswith="user").count() == 7


def test_a_stored_message_is_accepted_even_when_no_task_can_be_queued(
    post_mail, mailbox, mail, monkeypatch
):
    def queue_down():
        raise ConnectionError("the task queue is down")

    monkeypatch.setattr(inbound, "schedule_processing", queue_down)

    response = post_mail(mail(sender="a@example.com"), mailbox.token)

    assert response.status_code == 202  # the bytes are safe; requeue_stale will process them
    assert InboundMessage.objects.get().status == InboundMessage.Status.RECEIVED


def test_a_reply_looks_again_when_its_original_was_committed_meanwhile(
    mailbox, mail, deferring_tasks, monkeypatch
):
    from firstline.channels import thread_matching

    original = store(mailbox, mail(sender="dana@unknown.example", message_id="o1@unknown.example"))
    assert inbound.process(original.pk).result == "created"
    reply = store(mailbox, mail(sender="dana@unknown.example", in_reply_to="o1@unknown.example"))
    find_ticket, looks = thread_matching.find_ticket, []

    def first_look_too_early(parsed, sender, known=None):  # the original was committed just after
        looks.append(parsed.message_id)
        return None if len(looks) == 1 else find_ticket(parsed, sender, known)

    monkeypatch.setattr(thread_matching, "find_ticket", first_look_too_early)

    assert inbound.process(reply.pk).result == "appended"
    assert Ticket.objects.count() == 1


def test_an_out_of_office_waits_for_the_message_of_its_not_yet_known_sender(
    mailbox, mail, deferring_tasks
):
    original = store(mailbox, mail(sender="new.one@unknown.example", message_id="n1@x.example"))
    inbound._claim(1)  # another worker has it: the sender is not a user yet
    auto = mail(
        sender="new.one@unknown.example",
        subject="Automatic reply: Printer",
        in_reply_to="n1@x.example",
        headers={"Auto-Submitted": "auto-replied"},
    )
    out_of_office = store(mailbox, auto)

    assert inbound.process_waiting() == 0
    assert inbound.process(original.pk).result == "created"
    with time_machine.travel(clock.now() + inbound.RETRY_DELAY + timedelta(seconds=1)):
        assert inbound.process_waiting() == 1

    out_of_office.refresh_from_db()
    assert (out_of_office.status, out_of_office.ticket) == (PROCESSED, Ticket.objects.get())


def _transactions_of(monkeypatch) -> list[list[str]]:
    """The results each transaction of the batches recorded, one list per transaction."""
    recorded: list[list[str]] = []
    record = inbound._record_finished

    def spy(batch):
        recorded.append([m.result for m in batch.finished])
        record(batch)

    monkeypatch.setattr(inbound, "_record_finished", spy)
    return recorded


@pytest.mark.parametrize("new_users_wait", [True, False])
def test_new_senders_end_the_transaction_only_where_another_worker_would_wait(
    mailbox, mail, monkeypatch, new_users_wait
):
    monkeypatch.setattr(inbound, "_new_users_wait_for_commit", lambda: new_users_wait)
    transactions = _transactions_of(monkeypatch)
    people = [f"new{n}@unknown.example" for n in range(3)]
    for address in people:
        store(mailbox, mail(sender=address, subject=f"Printer of {address}"))

    assert inbound.process_waiting() == 3

    expected = [["created"]] * 3 if new_users_wait else [["created"] * 3]
    assert transactions == expected
    for address in people:
        ticket = Ticket.objects.get(requester__email=address)
        assert ticket.subject == f"Printer of {address}"
        assert len(acks_to(address)) == 1


def test_only_sqlite_lets_a_transaction_go_on_after_a_new_sender():
    # PostgreSQL makes another worker inserting the same user wait for the commit.
    assert inbound._new_users_wait_for_commit() == (connection.vendor != "sqlite")


def test_new_senders_of_a_transaction_that_rolls_back_are_made_again(mailbox, mail, monkeypatch):
    """A failure rolls back the whole transaction, with the users that earlier messages of it
    created: the messages run again, each alone, and create them again (not reuse them)."""
    monkeypatch.setattr(inbound, "_new_users_wait_for_commit", lambda: False)
    known = RequesterFactory(email="known@unknown.example")
    first = store(mailbox, mail(sender="Dana <dana@unknown.example>", subject="VPN"))
    second = store(mailbox, mail(sender="fox@unknown.example", subject="Printer"))
    broken = store(mailbox, mail(sender=known.email, subject="breaks"))
    _fail_on_subject(monkeypatch, "breaks")

    assert inbound.process_waiting() == 3

    for message in (first, second, broken):
        message.refresh_from_db()
    assert [m.result for m in (first, second, broken)] == ["created", "created", "error"]
    for message, address in [(first, "dana@unknown.example"), (second, "fox@unknown.example")]:
        assert User.objects.filter(email=address).count() == 1
        assert message.ticket.requester == User.objects.get(email=address)
    assert User.objects.get(email="dana@unknown.example").first_name == "Dana"


def test_new_senders_domains_are_looked_up_once_per_batch(mailbox, mail, desk):
    from django.test.utils import CaptureQueriesContext

    add_organization_domain(actor=None, organization=desk.globex, domain="globex.example")
    add_organization_domain(actor=None, organization=desk.acme, domain="acme.example")
    desk.acme.is_active = False
    desk.acme.save(update_fields=["is_active"])
    senders = ["fox@globex.example", "dana@Globex.Example", "eve@acme.example", "x@nowhere.example"]
    for address in [*senders, desk.carol.email]:
        store(mailbox, mail(sender=address, subject=f"Printer of {address}"))

    with CaptureQueriesContext(connection) as queries:
        assert inbound.process_waiting() == 5

    lookups = [q["sql"] for q in queries.captured_queries if "organizationdomain" in q["sql"]]
    assert len(lookups) == 1
    requesters = {
        t.requester.email: t.requester for t in Ticket.objects.select_related("requester")
    }
    assert requesters["fox@globex.example"].organization == desk.globex
    assert requesters["dana@globex.example"].organization == desk.globex
    assert requesters["eve@acme.example"].organization is None  # the owner is not active
    assert requesters["x@nowhere.example"].organization is None
    assert requesters[desk.carol.email].organization == desk.globex  # known: unchanged


def _alone(monkeypatch) -> list[int]:
    """The messages processed in a savepoint of their own (_process_one)."""
    alone, process_one = [], inbound._process_one

    def spy(batch, row, parsed):
        alone.append(row["pk"])
        return process_one(batch, row, parsed)

    monkeypatch.setattr(inbound, "_process_one", spy)
    return alone


def test_replies_to_mail_known_to_be_processed_need_no_savepoint(mailbox, mail, desk, monkeypatch):
    store(mailbox, mail(sender="p1@unknown.example", message_id="o1@unknown.example"))
    assert inbound.process_waiting() == 1
    ours = OutboundMessage.objects.get(kind="ack").message_id
    replies = [
        # To mail received before the batch, to mail earlier in the batch, to our own mail.
        store(mailbox, mail(sender="p1@unknown.example", in_reply_to="o1@unknown.example")),
        store(mailbox, mail(sender="p2@unknown.example", message_id="o2@unknown.example")),
        store(mailbox, mail(sender="p2@unknown.example", references=["o2@unknown.example"])),
        store(mailbox, mail(sender="p1@unknown.example", in_reply_to=ours)),
    ]

    alone = _alone(monkeypatch)

    assert inbound.process_waiting() == 4

    assert alone == []
    for reply in replies:
        reply.refresh_from_db()
    tickets = {t.requester.email: t for t in Ticket.objects.select_related("requester")}
    assert [(r.result, r.ticket) for r in replies] == [
        ("appended", tickets["p1@unknown.example"]),
        ("created", tickets["p2@unknown.example"]),
        ("appended", tickets["p2@unknown.example"]),
        ("appended", tickets["p1@unknown.example"]),
    ]


def test_a_reply_to_unknown_mail_runs_in_a_savepoint(mailbox, mail, desk, monkeypatch):
    reply = store(mailbox, mail(sender="p1@unknown.example", in_reply_to="gone@unknown.example"))
    alone = _alone(monkeypatch)

    assert inbound.process_waiting() == 1

    assert alone == [reply.pk]
    reply.refresh_from_db()
    assert reply.result == "created"


def test_a_reply_that_must_wait_after_all_leaves_the_others_of_its_transaction_alone(
    mailbox, mail, desk, deferring_tasks, monkeypatch
):
    """A reply to mail known to be processed may still wait, when it also answers mail that
    another worker holds and its known original is not the sender's: its transaction then
    rolls back and runs again, each message in a savepoint."""
    store(mailbox, mail(sender="p1@unknown.example", message_id="o1@unknown.example"))
    assert inbound.process_waiting() == 1
    held = store(mailbox, mail(sender="p2@unknown.example", message_id="q1@unknown.example"))
    inbound._claim(1)  # another worker has it, not committed yet
    before = store(mailbox, mail(sender=desk.alice.email, subject="Printer jams"))
    reply = store(
        mailbox,
        mail(sender="eve@unknown.example", references=["q1@unknown.example", "o1@unknown.example"]),
    )
    after = store(mailbox, mail(sender=desk.bob.email, subject="Monitor flickers"))
    alone = _alone(monkeypatch)

    assert inbound.process_waiting() == 2

    assert alone == [before.pk, reply.pk]  # the transaction that rolled back, run again

    for message in (held, before, reply, after):
        message.refresh_from_db()
    assert [m.status for m in (held, reply)] == [InboundMessage.Status.RECEIVED] * 2
    assert [(m.result, m.attempts) for m in (before, after)] == [("created", 1)] * 2
    assert Ticket.objects.count() == 3
    assert deferring_tasks.results[-1].task.run_after > clock.now()  # a retry is scheduled


@pytest.mark.parametrize("imap_uid", [None, 7])
def test_a_stored_message_is_written_as_save_would_write_it(mailbox, mail, imap_uid):
    from firstline.channels.models import InboundMessage as Message

    raw = mail(sender="dana@unknown.example", subject="Printer")
    message = Message(mailbox=mailbox, source="http", raw=raw, sha256="0" * 64, size=len(raw))
    message.message_id = inbound.header_message_id(raw)
    message.imap_uidvalidity, message.imap_uid = (None, None) if imap_uid is None else (3, 7)
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]

    def plain(values):  # psycopg's Binary wrapper has no equality of its own
        return [getattr(v, "obj", v) for v in values]

    assert plain(new_row_values(message)) == plain(
        [f.get_db_prep_save(f.pre_save(message, True), connection) for f in fields]
    )
    stored, created = inbound.receive_message(
        mailbox=mailbox, raw=raw, source="imap", imap_uidvalidity=3, imap_uid=imap_uid
    )
    assert created
    again = Message.objects.get(pk=stored.pk)
    for field in fields:
        assert getattr(again, field.attname) == getattr(stored, field.attname), field.name


def _claim_plan(mailbox, rows: int, *, analysed: bool = False) -> str:
    """The plan of a batch's claim as a worker keeps it, with `rows` messages waiting beside
    `rows` processed ones; the table's statistics taken while only the processed ones were
    there (`analysed`), or never (a new desk's, or PostgreSQL's after a burst of mail)."""
    table, raw = inbound._SQL.table, b"x" * 1500  # about as long as a plain message

    def add(status):
        InboundMessage.objects.bulk_create(
            InboundMessage(
                mailbox=mailbox, raw=raw, size=len(raw), sha256=f"{status}{n}", status=status
            )
            for n in range(rows)
        )

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {table}")  # never analysed (undone after)
        add("processed")
        if analysed:
            cursor.execute(f"ANALYZE {table}")
        add("received")
        claim = inbound._claimable(clock.now()).select_for_update(skip_locked=True)
        query = claim.order_by("pk").values(*inbound._ROW_FIELDS)[:50].query
        sql, params = query.sql_with_params()
        if connection.vendor != "postgresql":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return "\n".join(detail for *_ids, detail in cursor.fetchall())
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")  # as when kept
        cursor.execute(f"PREPARE claim (timestamptz) AS {sql.replace('%s', '$1')}")
        try:
            with inbound._read_in_order():
                cursor.execute("EXPLAIN EXECUTE claim (now())")
                return "\n".join(line for (line,) in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE claim")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's settings")
def test_only_the_claim_is_told_not_to_sort(mailbox):
    with connection.cursor() as cursor:
        with inbound._read_in_order():
            cursor.execute("SHOW enable_sort")
            assert cursor.fetchone()[0] == "off"
        cursor.execute("SHOW enable_sort")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.parametrize("analysed", [False, True])
def test_a_claim_reads_the_waiting_messages_in_order_and_stops_at_its_batch(mailbox, analysed):
    """Not every waiting message sorted at each claim (a cost growing with the backlog), nor
    the primary key walked through every processed message (PostgreSQL's plan for a status
    given as a parameter, once statistics had seen none waiting)."""
    plan = _claim_plan(mailbox, 2000, analysed=analysed)
    assert "inbound_waiting_idx" in plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan
