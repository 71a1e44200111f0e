"""Outgoing mail through a real SMTP server: what is sent, to whom, and that none is lost."""

import logging
import re
from datetime import timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.db import transaction

from firstline.channels import message_ids, outbound, services
from firstline.channels.models import OutboundMessage
from firstline.core import clock
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel

from ..factories import AgentFactory, RequesterFactory
from .conftest import SmtpServer, free_port

pytestmark = pytest.mark.django_db

SECRET = "s3cret-SMTP-Pa55word-4711"
CJK = re.compile(r"[\u4e00-\u9fff]")


def plain_body(message) -> str:
    return message.get_body(("plain",)).get_content()


def header_block(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]


def test_the_acknowledgement_reaches_the_sender_with_loop_and_thread_headers(
    smtp_server, deliver, mail, mailbox
):
    incoming = deliver(
        mail(
            sender="Dana <dana@unknown.example>", subject="VPN drops", message_id="vpn@mail.example"
        )
    )
    ticket = incoming.ticket

    outbound.send_due()

    ack = OutboundMessage.objects.get(kind="ack", ticket=ticket)
    assert ack.status == OutboundMessage.Status.SENT
    assert ack.sent_at is not None
    [(envelope, _)] = smtp_server.received
    [sent] = smtp_server.messages
    assert envelope.rcpt_tos == ["dana@unknown.example"]
    assert sent["To"] == "dana@unknown.example"
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["Message-ID"] == f"<{ack.message_id}>"
    assert message_ids.ticket_of(sent["Message-ID"]) == ticket.pk
    assert sent["In-Reply-To"] == "<vpn@mail.example>"
    assert "<vpn@mail.example>" in sent["References"].split()
    assert f"[#{ticket.pk}]" in sent["Subject"]
    assert "VPN drops" in sent["Subject"]
    assert sent["Reply-To"] == mailbox.address
    assert mailbox.address in sent["From"]


def test_the_acknowledgement_answers_from_the_mailbox_the_mail_came_to(
    smtp_server, deliver, mail, mailbox
):
    sales, _ = services.create_mailbox(actor=None, address="sales@firstline.example")

    deliver(mail(sender="dana@unknown.example", to=sales.address), to=sales)

    [sent] = smtp_server.messages
    assert sent["Reply-To"] == "sales@firstline.example"


def test_one_run_answers_each_ticket_from_its_own_mailbox(
    smtp_server, deliver, mail, mailbox, new_ticket, desk
):
    sales, _ = services.create_mailbox(actor=None, address="sales@firstline.example")
    old, _ = services.create_mailbox(actor=None, address="old@firstline.example")
    tickets = [
        deliver(mail(sender="dana@unknown.example", to=sales.address), to=sales).ticket,
        deliver(mail(sender="fox@unknown.example", to=old.address), to=old).ticket,
        new_ticket(subject="Opened on the web"),
        deliver(mail(sender="ann@unknown.example")).ticket,
    ]
    services.update_mailbox(actor=None, mailbox=old, is_active=False)
    smtp_server.messages.clear()
    for ticket in tickets:  # queued together, sent by one run
        _queue_escalation(ticket, desk)

    assert outbound.send_due() == 4

    replies = {message_ids.ticket_of(m["Message-ID"]): m["Reply-To"] for m in smtp_server.messages}
    assert [replies[ticket.pk] for ticket in tickets] == [
        "sales@firstline.example",
        mailbox.address,  # the mailbox it came to is off: the first active one
        mailbox.address,  # no mail opened it
        mailbox.address,
    ]


def test_the_outbox_is_sent_before_inbound_mail_waiting_in_the_database_queue(
    settings, new_ticket, desk, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from firstline.channels import tasks

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    for n in range(3):  # what a burst of inbound mail leaves in the queue
        tasks.process_inbound_messages.using(run_after=clock.now() - timedelta(seconds=n)).enqueue()
    ticket = new_ticket(subject="Printer on fire")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _queue_escalation(ticket, desk)

    assert DBTaskResult.objects.ready().get_locked().task_path.endswith(".send_outbox")


def test_a_chinese_subject_and_body_are_correctly_encoded(smtp_server, deliver, mail):
    deliver(
        mail(
            sender="王伟 <wang.wei@unknown.example>",
            subject="打印机卡纸了",
            body="三楼的打印机卡纸。\n",
        )
    )

    [(_, raw)] = smtp_server.received
    [sent] = smtp_server.messages
    header_block(raw).decode("ascii")  # encoded words: no raw 8-bit bytes in the headers
    assert "打印机卡纸了" in sent["Subject"]
    assert "王伟" in plain_body(sent)


def test_a_chinese_requester_gets_the_chinese_acknowledgement(smtp_server, deliver, mail):
    RequesterFactory(
        username="li.wei",
        email="li.wei@example.cn",
        first_name="Wei",
        last_name="Li",
        language="zh-hans",
    )

    ticket = deliver(mail(sender="li.wei@example.cn", subject="打印机卡纸了")).ticket

    [sent] = smtp_server.messages
    body = plain_body(sent)
    assert f"[#{ticket.pk}]" in sent["Subject"] and "打印机卡纸了" in sent["Subject"]
    assert "We received your request" not in sent["Subject"]
    assert "thank you for contacting the help desk" not in body
    assert CJK.search(body), body


def test_an_agents_public_reply_goes_to_the_requester_and_the_people_copied_in(
    smtp_server, deliver, mail, desk, django_capture_on_commit_callbacks
):
    ticket = deliver(mail(sender="alice@example.com", cc=["bob@example.com"])).ticket
    smtp_server.received.clear()

    with django_capture_on_commit_callbacks(execute=True):
        comment = ticket_services.add_comment(
            actor=desk.l1_agent,
            ticket=ticket,
            body="Please switch the printer off and on again.",
            channel=Channel.WEB,
            public=True,
        )

    [(envelope, _)] = smtp_server.received
    [sent] = smtp_server.messages
    assert sorted(envelope.rcpt_tos) == ["alice@example.com", "bob@example.com"]
    assert comment.body in plain_body(sent)
    assert f"[#{ticket.pk}]" in sent["Subject"]
    reply = OutboundMessage.objects.get(kind="reply")
    assert message_ids.ticket_of(sent["Message-ID"]) == ticket.pk == reply.ticket_id
    assert sent["In-Reply-To"]  # part of the e-mail thread


def test_an_internal_note_sends_no_mail_at_all(
    smtp_server, deliver, mail, desk, django_capture_on_commit_callbacks
):
    ticket = deliver(mail(sender="alice@example.com", cc=["bob@example.com"])).ticket
    queued = OutboundMessage.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        ticket_services.add_comment(
            actor=desk.l1_agent,
            ticket=ticket,
            body="Alice's printer is out of warranty; do not promise a replacement.",
            channel=Channel.WEB,
            public=False,
        )
    outbound.send_due()

    assert OutboundMessage.objects.count() == queued
    assert len(smtp_server.received) == 1  # the acknowledgement only
    assert all("warranty" not in plain_body(m) for m in smtp_server.messages)


def test_assignment_notifies_the_assignee_but_not_an_agent_taking_it_himself(
    smtp_server, new_ticket, desk, django_capture_on_commit_callbacks
):
    first, second = new_ticket(), new_ticket(subject="Mouse is broken")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_services.update_ticket(
            actor=desk.supervisor, ticket=first, channel=Channel.WEB, assignee=desk.l1_agent
        )
        ticket_services.update_ticket(
            actor=desk.l1_agent, ticket=second, channel=Channel.WEB, assignee=desk.l1_agent
        )

    assigned = [m for m in smtp_server.messages if m["To"] == desk.l1_agent.email]
    assert len(assigned) == 1
    assert f"[#{first.pk}]" in assigned[0]["Subject"]
    assert OutboundMessage.objects.filter(kind="assigned").count() == 1


def test_escalation_notifies_the_members_of_the_target_group(
    smtp_server, new_ticket, desk, django_capture_on_commit_callbacks
):
    other_l2 = AgentFactory(username="l2other")
    desk.l2.members.add(other_l2)
    ticket = new_ticket()

    with django_capture_on_commit_callbacks(execute=True):
        ticket_services.escalate_ticket(
            actor=desk.l1_agent,
            ticket=ticket,
            reason="Needs a new fuser unit.",
            channel=Channel.WEB,
        )

    escalated = {m["To"]: m for m in smtp_server.messages if m["To"] != desk.alice.email}
    assert set(escalated) == {desk.l2_agent.email, other_l2.email}
    for sent in escalated.values():
        assert f"[#{ticket.pk}]" in sent["Subject"]
        assert "Needs a new fuser unit." in plain_body(sent)


def _reject_login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=False, handled=False)


@pytest.fixture(params=["refused", "login_rejected"])
def smtp_down(request, settings, caplog):
    """SMTP settings with a recognisable password, pointing at a port nothing listens on, or
    at a server that refuses the login (so the password really goes over the wire)."""
    port = free_port()
    controller = None
    if request.param == "login_rejected":
        controller = Controller(
            SmtpServer(port),
            hostname="127.0.0.1",
            port=port,
            authenticator=_reject_login,
            auth_require_tls=False,
        )
        controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = "mailer"
    settings.EMAIL_HOST_PASSWORD = SECRET
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    caplog.set_level(logging.DEBUG)
    try:
        yield settings
    finally:
        if controller is not None:
            controller.stop()


def test_with_smtp_down_nothing_is_lost_and_the_password_does_not_leak(
    smtp_down, deliver, mail, caplog
):
    deliver(mail(sender="dana@unknown.example"))  # queues the ack and runs the outbox task

    ack = OutboundMessage.objects.get(kind="ack")
    assert ack.status == OutboundMessage.Status.PENDING
    assert ack.attempts == 1
    assert ack.next_attempt_at > clock.now()
    assert ack.last_error
    assert SECRET not in ack.last_error
    assert SECRET not in caplog.text
    assert outbound.send_due() == 0  # not due again yet


def test_a_message_that_keeps_failing_ends_failed(smtp_down, new_ticket, caplog):
    new_ticket()
    ack = OutboundMessage.objects.get(kind="ack")

    for _ in range(outbound.MAX_ATTEMPTS):
        ack.refresh_from_db()
        assert ack.status == OutboundMessage.Status.PENDING
        with time_machine.travel(ack.next_attempt_at + timedelta(seconds=1), tick=False):
            assert outbound.send_due() == 0

    ack.refresh_from_db()
    assert ack.status == OutboundMessage.Status.FAILED
    assert ack.attempts == outbound.MAX_ATTEMPTS
    assert ack.last_error
    assert SECRET not in ack.last_error and SECRET not in caplog.text


def test_a_queued_message_is_sent_once_the_server_is_back(smtp_server, smtp_down, deliver, mail):
    deliver(mail(sender="dana@unknown.example"))  # first attempt: refused
    ack = OutboundMessage.objects.get(kind="ack")
    assert ack.status == OutboundMessage.Status.PENDING

    smtp_down.EMAIL_PORT = smtp_server.port
    smtp_down.EMAIL_HOST_USER = smtp_down.EMAIL_HOST_PASSWORD = ""
    with time_machine.travel(clock.now() + timedelta(hours=1), tick=False):
        assert outbound.send_due() == 1

    ack.refresh_from_db()
    assert ack.status == OutboundMessage.Status.SENT
    [sent] = smtp_server.messages
    assert sent["Message-ID"] == f"<{ack.message_id}>"
    assert sent["To"] == "dana@unknown.example"


def test_a_rolled_back_change_queues_and_sends_nothing(
    smtp_server, new_ticket, desk, django_capture_on_commit_callbacks
):
    ticket = new_ticket()
    queued = OutboundMessage.objects.count()

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        ticket_services.create_ticket(
            actor=desk.bob, subject="Never happened", channel=Channel.EMAIL
        )
        ticket_services.add_comment(
            actor=desk.l1_agent, ticket=ticket, body="Never sent.", channel=Channel.WEB
        )
        ticket_services.update_ticket(
            actor=desk.supervisor, ticket=ticket, channel=Channel.WEB, assignee=desk.l1_agent
        )
        raise RuntimeError("something failed after the changes")

    assert OutboundMessage.objects.count() == queued
    assert smtp_server.received == []


def _queue_escalation(ticket, desk):
    outbound.queue(
        kind="escalated",
        ticket=ticket,
        recipients=[desk.l2_agent.email],
        language="en",
        context={"ticket": ticket, "group": desk.l2, "reason": "Hardware"},
    )


def test_one_transaction_queueing_many_messages_starts_one_send(
    new_ticket, desk, django_capture_on_commit_callbacks, monkeypatch
):
    from firstline.channels import tasks

    started = []
    monkeypatch.setattr(tasks, "send_outbox", _CountingTask(started))
    tickets = [new_ticket(subject=f"Screen {n} flickers") for n in range(3)]

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for ticket in tickets:
            _queue_escalation(ticket, desk)
    assert len(started) == 1

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbound.queue(
            kind="escalated",
            ticket=tickets[0],
            recipients=[desk.l2_agent.email],
            language="en",
            context={"ticket": tickets[0], "group": desk.l2, "reason": "Again"},
        )
    assert len(started) == 2  # the next transaction starts its own


def test_a_rolled_back_block_does_not_swallow_the_next_send(
    new_ticket, desk, django_capture_on_commit_callbacks, monkeypatch
):
    from firstline.channels import tasks

    started = []
    monkeypatch.setattr(tasks, "send_outbox", _CountingTask(started))
    ticket = new_ticket()
    context = {"ticket": ticket, "group": desk.l2, "reason": "Hardware"}
    recipients = [desk.l2_agent.email]

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            outbound.queue(
                kind="escalated",
                ticket=ticket,
                recipients=recipients,
                language="en",
                context=context,
            )
            raise RuntimeError
        with transaction.atomic():
            outbound.queue(
                kind="escalated",
                ticket=ticket,
                recipients=recipients,
                language="en",
                context=context,
            )
    assert len(started) == 1


def test_transactions_in_one_batch_start_one_send_when_it_ends(
    new_ticket, desk, django_capture_on_commit_callbacks, monkeypatch
):
    from firstline.channels import tasks

    started = []
    monkeypatch.setattr(tasks, "send_outbox", _CountingTask(started))
    tickets = [new_ticket(subject=f"Screen {n} flickers") for n in range(3)]

    def queue(ticket):
        _queue_escalation(ticket, desk)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        outbound.one_send_at_the_end(),
    ):
        with pytest.raises(RuntimeError), transaction.atomic():
            queue(tickets[0])
            raise RuntimeError
        for ticket in tickets:
            with transaction.atomic(), transaction.atomic():  # a message's savepoint
                queue(ticket)
        assert len(callbacks) == 0  # nothing asked for before the batch is done
    assert len(started) == 1

    with (
        django_capture_on_commit_callbacks(execute=True),
        outbound.one_send_at_the_end(),
        transaction.atomic(),
    ):
        pass  # nothing queued: nothing to send
    assert len(started) == 1

    with django_capture_on_commit_callbacks(execute=True):
        for ticket in tickets:
            with transaction.atomic():
                queue(ticket)
    assert len(started) == 4  # without it, each transaction asks on its own


def test_thread_headers_name_what_came_before_the_message_and_nothing_after(new_ticket, desk):
    from firstline.channels.models import MessageReference

    ticket = new_ticket()
    MessageReference.objects.create(message_id="first@mail.example", ticket=ticket, outgoing=False)
    context = {"ticket": ticket, "group": desk.l2, "reason": "Hardware"}

    def queue():
        return outbound.queue(
            kind="escalated",
            ticket=ticket,
            recipients=[desk.l2_agent.email],
            language="en",
            context=context,
        )

    earlier, later = queue(), queue()
    MessageReference.objects.create(message_id="second@mail.example", ticket=ticket, outgoing=False)
    ack = OutboundMessage.objects.get(kind="ack", ticket=ticket)  # queued with the ticket

    # Received mail counts whenever it came; of ours, only what was queued before.
    assert outbound.thread_headers(earlier) == {
        "In-Reply-To": "<second@mail.example>",
        "References": f"<{ack.message_id}> <first@mail.example> <second@mail.example>",
    }
    assert outbound.thread_headers(later)["References"] == (
        f"<{ack.message_id}> <first@mail.example> <{earlier.message_id}> <second@mail.example>"
    )
    other = OutboundMessage.objects.create(kind="ack", subject="s", body="b", message_id="x@y")
    assert outbound.thread_headers(other) == {}  # no ticket


class _CountingTask:
    supports_priority = False  # as its own backend: one that runs tasks in order

    def __init__(self, calls: list):
        self.calls = calls

    def get_backend(self):
        return self

    def enqueue(self, *args, **kwargs):
        self.calls.append(1)
