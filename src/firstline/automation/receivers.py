"""Ticket and SLA events start the engine (see engine.py for when and how rules run)."""

import logging

from django.dispatch import receiver

from firstline.tickets import signals as ticket_signals

from . import engine
from .models import Trigger
from .signals import sla_event

log = logging.getLogger(__name__)

SLA_TRIGGERS = {"warning": Trigger.SLA_WARNING, "breach": Trigger.SLA_BREACH}


@receiver(ticket_signals.ticket_created, dispatch_uid="automation_ticket_created")
def ticket_created(sender, ticket, actor=None, **kwargs):
    engine.notify(engine.Event(ticket.pk, Trigger.CREATED, frozenset(), ticket))


@receiver(ticket_signals.ticket_saved, dispatch_uid="automation_ticket_saved")
def ticket_saved(sender, ticket, fields=frozenset(), **kwargs):
    engine.notify(engine.Event(ticket.pk, Trigger.UPDATED, frozenset(fields), ticket))


@receiver(ticket_signals.tickets_changed, dispatch_uid="automation_tickets_changed")
def tickets_changed(sender, changes, **kwargs):
    for ticket, fields in changes:
        engine.notify(engine.Event(ticket.pk, Trigger.UPDATED, frozenset(fields), ticket))


@receiver(sla_event, dispatch_uid="automation_sla_event")
def sla_warning_or_breach(sender, ticket, kind, **kwargs):
    trigger = SLA_TRIGGERS.get(kind)
    if trigger is None:
        log.warning("Ignoring an SLA event of unknown kind %r for ticket #%s", kind, ticket.pk)
        return
    engine.notify(engine.Event(ticket.pk, trigger))
