"""Which ticket a reply joins, and who may write into a ticket by e-mail."""

import pytest

from firstline.channels.models import InboundMessage, OutboundMessage
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel, Comment, Status, Ticket, TicketParticipant

pytestmark = pytest.mark.django_db

PROCESSED = InboundMessage.Status.PROCESSED
QUOTED_REPLY = (
    "It still jams, even after a restart.\n"
    "\n"
    "On Mon, 4 May 2026 at 09:00, Help desk <help@firstline.example> wrote:\n"
    "> Hello Alice,\n"
    ">\n"
    "> thank you for contacting the help desk.\n"
)


@pytest.fixture
def opened(deliver, mail, desk):
    """Alice's ticket, opened by e-mail (with Bob in CC) and acknowledged."""

    class Opened:
        pass

    o = Opened()
    o.message = deliver(
        mail(
            sender="Alice <alice@example.com>",
            cc=["bob@example.com"],
            subject="Printer on floor 3 jams",
            message_id="first@example.com",
        )
    )
    o.ticket = o.message.ticket
    o.ack = OutboundMessage.objects.get(kind="ack", ticket=o.ticket)
    return o


def comments(ticket: Ticket) -> list[Comment]:
    return list(Comment.objects.filter(ticket=ticket).order_by("pk"))


def test_a_reply_to_our_acknowledgement_is_appended_as_the_trimmed_text(deliver, mail, opened):
    raw = mail(
        sender="alice@example.com",
        subject=f"Re: {opened.ack.subject}",
        body=QUOTED_REPLY,
        in_reply_to=opened.ack.message_id,
        references=["first@example.com", opened.ack.message_id],
    )

    message = deliver(raw)

    assert (message.status, message.result, message.ticket) == (
        PROCESSED,
        "appended",
        opened.ticket,
    )
    [comment] = comments(opened.ticket)
    assert message.comment == comment
    assert comment.body == "It still jams, even after a restart."
    assert (comment.author, comment.is_public, comment.channel) == (
        opened.ticket.requester,
        True,
        Channel.EMAIL,
    )
    assert Ticket.objects.count() == 1
    assert not OutboundMessage.objects.filter(kind="reply").exists()  # not echoed back to her


def test_a_reply_naming_the_original_incoming_message_id_is_appended(deliver, mail, opened):
    raw = mail(sender="alice@example.com", subject="Re: Printer", references="first@example.com")

    message = deliver(raw)

    assert (message.result, message.ticket) == ("appended", opened.ticket)


def test_a_strangers_reference_to_an_incoming_message_id_opens_a_new_ticket(deliver, mail, opened):
    raw = mail(
        sender="mallory@evil.example", subject="Re: Printer", in_reply_to="first@example.com"
    )

    message = deliver(raw)

    assert message.result == "created"
    assert message.ticket != opened.ticket
    assert comments(opened.ticket) == []


def test_a_reply_copying_someone_in_makes_them_a_participant(deliver, mail, opened):
    raw = mail(
        sender="alice@example.com",
        cc=["Carol <carol@example.com>"],
        body="Adding Carol, she sits next to the printer.\n",
        in_reply_to=opened.ack.message_id,
    )

    deliver(raw)

    emails = set(
        TicketParticipant.objects.filter(ticket=opened.ticket).values_list("email", flat=True)
    )
    assert emails == {"bob@example.com", "carol@example.com"}


@pytest.mark.parametrize("sender", ["alice@example.com", "Bob <BOB@example.com>"])
def test_the_subject_token_threads_mail_from_the_requester_or_a_participant(
    deliver, mail, opened, sender
):
    raw = mail(sender=sender, subject=f"Re: [#{opened.ticket.pk}] Printer", body="Any news?\n")

    message = deliver(raw)

    assert (message.result, message.ticket) == ("appended", opened.ticket)
    assert comments(opened.ticket)[0].body == "Any news?"


def test_the_subject_token_from_anyone_else_opens_a_new_ticket(deliver, mail, opened, desk):
    raw = mail(
        sender="carol@example.com",
        subject=f"Re: [#{opened.ticket.pk}] Printer",
        body="Please send me the ticket's details.\n",
    )

    message = deliver(raw)

    assert message.result == "created"
    assert message.ticket != opened.ticket
    assert message.ticket.requester == desk.carol
    assert comments(opened.ticket) == []


FORGED = "fl.{n}.0000000000000000.00000000000000000000@localhost"


@pytest.mark.parametrize("who", ["stranger", "agent"])
def test_a_forged_signed_reference_neither_attaches_nor_passes_as_an_agent_reply(
    deliver, mail, opened, desk, who
):
    sender = {"stranger": "mallory@evil.example", "agent": desk.l1_agent.email}[who]
    forged = FORGED.format(n=opened.ticket.pk)
    raw = mail(
        sender=sender,
        subject="Re: Printer on floor 3 jams",
        body="Fixed, closing this. Please install the attached driver.\n",
        in_reply_to=forged,
        references=forged,
    )

    message = deliver(raw)

    assert message.ticket != opened.ticket
    assert comments(opened.ticket) == []
    opened.ticket.refresh_from_db()
    assert opened.ticket.first_responded_at is None
    assert not OutboundMessage.objects.filter(kind="reply", ticket=opened.ticket).exists()


def test_a_genuine_id_with_another_ticket_number_is_a_forgery(deliver, mail, opened, desk):
    other = deliver(mail(sender="bob@example.com", subject="Monitor flickers")).ticket
    genuine = opened.ack.message_id  # fl.<alice's ticket>.<nonce>.<signature>@...
    _, _, rest = genuine.split(".", 2)
    retargeted = f"fl.{other.pk}.{rest}"

    message = deliver(mail(sender="mallory@evil.example", in_reply_to=retargeted))

    assert message.result == "created"
    assert message.ticket not in (opened.ticket, other)
    assert comments(other) == []


def test_an_agent_answering_our_notification_posts_a_public_agent_reply(
    deliver, mail, opened, desk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_services.update_ticket(
            actor=desk.supervisor, ticket=opened.ticket, channel=Channel.WEB, assignee=desk.l1_agent
        )
    assigned = OutboundMessage.objects.get(kind="assigned", ticket=opened.ticket)
    assert assigned.recipients == [desk.l1_agent.email]
    raw = mail(
        sender=f"L1 Agent <{desk.l1_agent.email}>",
        subject=f"Re: {assigned.subject}",
        body="Please switch the printer off and on again.\n\n> Ticket from Alice\n",
        in_reply_to=assigned.message_id,
    )

    message = deliver(raw)

    assert (message.result, message.ticket) == ("appended", opened.ticket)
    [comment] = comments(opened.ticket)
    assert (comment.author, comment.is_public) == (desk.l1_agent, True)
    assert comment.body == "Please switch the printer off and on again."
    opened.ticket.refresh_from_db()
    assert opened.ticket.first_responded_at is not None
    reply = OutboundMessage.objects.get(kind="reply", ticket=opened.ticket)
    assert set(reply.recipients) == {"alice@example.com", "bob@example.com"}


def test_an_agent_who_cannot_see_the_ticket_does_not_reply_into_it(deliver, mail, opened, desk):
    raw = mail(
        sender=desk.l2_agent.email,
        subject=f"Re: {opened.ack.subject}",
        body="I'll take this one.\n",
        in_reply_to=opened.ack.message_id,
    )

    message = deliver(raw)

    assert message.ticket != opened.ticket
    assert comments(opened.ticket) == []
    opened.ticket.refresh_from_db()
    assert opened.ticket.first_responded_at is None


def test_an_agents_address_with_only_the_subject_token_is_no_agent_reply(
    deliver, mail, opened, desk
):
    """From is easily forged; only our signed Message-ID proves an agent answers our mail.
    The subject token alone threads for the requester and participants only."""
    raw = mail(
        sender=desk.l1_agent.email,
        subject=f"Re: [#{opened.ticket.pk}] Printer on floor 3 jams",
        body="Solved: please install the driver from http://evil.example/driver.exe\n",
    )

    message = deliver(raw)

    assert message.ticket != opened.ticket
    assert comments(opened.ticket) == []
    assert not OutboundMessage.objects.filter(kind="reply", ticket=opened.ticket).exists()


def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(deliver, mail, opened, desk):
    for status in (Status.RESOLVED, Status.CLOSED):
        ticket_services.update_ticket(
            actor=desk.supervisor, ticket=opened.ticket, channel=Channel.WEB, status=status
        )
    raw = mail(
        sender="alice@example.com",
        subject=f"Re: {opened.ack.subject}",
        body="It is jamming again.\n",
        in_reply_to=opened.ack.message_id,
    )

    message = deliver(raw)

    assert (message.status, message.result) == (PROCESSED, "created")
    follow_up = message.ticket
    assert follow_up != opened.ticket
    assert follow_up.requester == opened.ticket.requester
    assert follow_up.channel == Channel.EMAIL
    assert "jamming again" in follow_up.description
    assert list(follow_up.links.all()) == [opened.ticket]
    opened.ticket.refresh_from_db()
    assert opened.ticket.status == Status.CLOSED
    assert comments(opened.ticket) == []


def test_a_requester_reply_reopens_a_pending_ticket(deliver, mail, opened, desk):
    ticket_services.update_ticket(
        actor=desk.supervisor, ticket=opened.ticket, channel=Channel.WEB, status=Status.PENDING
    )
    raw = mail(
        sender="alice@example.com",
        body="Here is the model number: HP 4250.\n",
        in_reply_to=opened.ack.message_id,
    )

    message = deliver(raw)

    assert message.result == "appended"
    opened.ticket.refresh_from_db()
    assert opened.ticket.status == Status.OPEN
