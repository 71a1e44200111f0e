"""Signals other apps send to start automation rules.

`sla_event`: the SLA app sends it, once, when a ticket's SLA target is about to be missed
(`kind="warning"`) or has been missed (`kind="breach"`):

    from firstline.automation.signals import sla_event
    sla_event.send(sender=SomeSlaModel, ticket=ticket, kind="warning", target="resolution")

Rules with the trigger "SLA warning" / "SLA breach" then run on the ticket, after the sender's
transaction commits (at once when there is none). Extra keyword arguments (such as `target`)
are accepted and ignored; an unknown `kind` is ignored with a warning in the log.
"""

from django.dispatch import Signal

sla_event = Signal()  # ticket, kind ("warning" | "breach"), **extra
