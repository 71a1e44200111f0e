"""Which ticket an incoming reply belongs to, and proof that the sender may write there.

In order: our own signed Message-IDs in In-Reply-To/References; Message-IDs of mail we received
for a ticket, when the sender takes part in it; the `[#1042]` token in the subject, when the
sender takes part in it. Anything else opens a new ticket.
"""

import re

from firstline.accounts.models import User
from firstline.tickets import selectors as ticket_selectors
from firstline.tickets.models import Ticket

from . import message_ids
from .models import MessageReference
from .parsing import ParsedMessage

SUBJECT_TOKEN = re.compile(r"\[#(\d{1,12})\]")


def find_ticket(parsed: ParsedMessage, sender: User | None) -> Ticket | None:
    references = [*parsed.in_reply_to, *reversed(parsed.references)]
    for reference in references:
        number = message_ids.ticket_of(reference)
        if number is not None:
            ticket = Ticket.objects.filter(pk=number).first()
            if ticket is not None and _may_write(sender, ticket, signed=True):
                return ticket
    known = MessageReference.objects.filter(message_id__in=references[:50], outgoing=False)
    for reference in known.select_related("ticket"):
        if _may_write(sender, reference.ticket, signed=False):
            return reference.ticket
    match = SUBJECT_TOKEN.search(parsed.subject)
    if match:
        ticket = Ticket.objects.filter(pk=int(match[1])).first()
        if ticket is not None and _may_write(sender, ticket, signed=False):
            return ticket
    return None


def _may_write(sender: User | None, ticket: Ticket, *, signed: bool) -> bool:
    """A signed reference proves the mail answers ours; unsigned clues (a subject token, a
    received Message-ID) need a participant, so a forged agent address cannot reply as the
    agent. Agents must always be able to see the ticket."""
    if sender is None:
        return False
    if (
        sender.is_agent
        and not ticket_selectors.visible_tickets(sender).filter(pk=ticket.pk).exists()
    ):
        return False
    if signed:
        return True
    return is_participant(sender, ticket)


def _can_see(user: User, ticket: Ticket) -> bool:
    return ticket_selectors.visible_tickets(user).filter(pk=ticket.pk).exists()


def is_participant(user: User, ticket: Ticket) -> bool:
    if ticket.requester_id == user.pk:
        return True
    return ticket.participants.filter(email__iexact=user.email).exists()
