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


Known = dict[str, list[MessageReference]]


def find_ticket(
    parsed: ParsedMessage, sender: User | None, known: Known | None = None
) -> Ticket | None:
    """`known`: received_references() of a batch of mail, looked at first."""
    references = [*parsed.in_reply_to, *reversed(parsed.references)]
    for reference in references:
        number = message_ids.ticket_of(reference)
        if number is not None:
            ticket = Ticket.objects.filter(pk=number).first()
            if ticket is not None and _may_write(sender, ticket, signed=True):
                return ticket
    ticket = _received_for(references[:50], sender, known) if references else None  # most: none
    if ticket is not None:
        return ticket
    match = SUBJECT_TOKEN.search(parsed.subject)
    if match:
        ticket = Ticket.objects.filter(pk=int(match[1])).first()
        if ticket is not None and _may_write(sender, ticket, signed=False):
            return ticket
    return None


def received_references(message_ids: set[str]) -> Known:
    """The mail we received with these Message-IDs, with its tickets: what a batch of mail
    refers to, in one query instead of one per reply."""
    found: Known = {}
    if message_ids:
        references = MessageReference.objects.filter(message_id__in=message_ids, outgoing=False)
        for reference in references.select_related("ticket"):
            found.setdefault(reference.message_id, []).append(reference)
    return found


def _received_for(references: list[str], sender: User | None, known: Known | None):
    """The ticket of mail we received with one of these Message-IDs, if the sender may write
    there: among the `known` ones, else as the database has them now (received since)."""
    for reference in (r for message_id in references for r in (known or {}).get(message_id, ())):
        if _may_write(sender, reference.ticket, signed=False):
            return reference.ticket
    now = MessageReference.objects.filter(message_id__in=references, outgoing=False)
    for reference in now.select_related("ticket"):
        if _may_write(sender, reference.ticket, signed=False):
            return reference.ticket
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
