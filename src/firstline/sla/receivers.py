"""Keeps each ticket's SLA clock in step with the ticket, inside the ticket's transaction."""

from django.dispatch import receiver

from firstline.tickets import signals

from . import services


@receiver(signals.ticket_creating)
def plan_clock(sender, ticket, **kwargs):
    services.plan_new_ticket(ticket=ticket)


@receiver(signals.ticket_created)
def start_clock(sender, ticket, actor, **kwargs):
    services.track_new_ticket(ticket=ticket)


@receiver(signals.ticket_saved)
def follow_changes(sender, ticket, fields, **kwargs):
    services.ticket_changed(ticket=ticket, fields=fields)


@receiver(signals.reply_added)
def follow_replies(sender, ticket, comment, actor, **kwargs):
    services.reply_posted(ticket=ticket, comment=comment, actor=actor)


@receiver(signals.tickets_changed)
def follow_bulk_changes(sender, changes, **kwargs):
    services.tickets_changed(changes=changes)
