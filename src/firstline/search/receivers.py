"""Keeps ticket documents in step with the tickets, inside the ticket's own transaction."""

from django.dispatch import receiver

from firstline.tickets import signals

from . import services

REINDEXED_FIELDS = frozenset({"subject", "description"})


@receiver(signals.ticket_created, dispatch_uid="search_ticket_created")
def ticket_created(sender, ticket, **kwargs):
    services.index_new_ticket(ticket=ticket)


@receiver(signals.ticket_saved, dispatch_uid="search_ticket_saved")
def ticket_saved(sender, ticket, fields=frozenset(), **kwargs):
    """Text edits rebuild the document; a merge moves the conversation, so both tickets are
    rebuilt. Other changes (status, assignee...) leave the text as it was."""
    if "merged_into" in fields and ticket.merged_into_id is not None:
        services.index_tickets(ticket_ids=[ticket.pk, ticket.merged_into_id])
    elif fields & REINDEXED_FIELDS:
        services.index_tickets(ticket_ids=[ticket.pk])


@receiver(signals.reply_added, dispatch_uid="search_reply_added")
def reply_added(sender, ticket, comment, **kwargs):
    services.index_comment(ticket=ticket, comment=comment)


@receiver(signals.note_added, dispatch_uid="search_note_added")
def note_added(sender, ticket, comment, **kwargs):
    services.index_comment(ticket=ticket, comment=comment)
