"""The SLA panel of the ticket page and the SLA words of the agent queue."""

from datetime import timedelta

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from .. import selectors

register = template.Library()

STATES = {
    "running": pgettext_lazy("SLA state", "On track"),
    "warning": pgettext_lazy("SLA state", "Warning"),
    "breached": pgettext_lazy("SLA state", "Breached"),
    "paused": pgettext_lazy("SLA state", "Paused"),
    "met": pgettext_lazy("SLA state", "Met"),
    "met_late": pgettext_lazy("SLA state", "Met late"),
}


@register.simple_tag
def ticket_sla(ticket):
    """The ticket's SLA timeline (None without SLA); the ticket was read through the ticket
    selectors, so the user may see it."""
    return selectors.timeline_for(ticket)


@register.filter
def sla_state(state: str) -> str:
    return str(STATES.get(state, state))


@register.filter
def sla_duration(amount: timedelta | None) -> str:
    """Business time as '3 h 20 min'; negative amounts as their size (say 'overdue' around)."""
    if amount is None:
        return "—"
    minutes = round(abs(amount.total_seconds()) / 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": minutes}


@register.filter
def is_negative(amount: timedelta | None) -> bool:
    return amount is not None and amount < timedelta(0)


@register.filter
def sla_minutes(minutes: int | None) -> str:
    """A target in business minutes, e.g. '4 h' or '1 h 30 min' of business time."""
    if minutes is None:
        return "—"
    return _("%(duration)s of business time") % {
        "duration": sla_duration(timedelta(minutes=minutes))
    }


@register.filter
def sla_pause_reason(status: str) -> str:
    from firstline.tickets.models import Status

    return str(Status(status).label) if status in Status.values else status
