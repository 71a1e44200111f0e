"""Placeholders in macros, automatic notes and e-mails: `{{ requester.first_name }}`.

Not the template engine: a fixed list of names, each filled from a value a requester may read
anyway, so that no text an agent or a rule writes can reach a password hash, an internal note,
the routing or a setting. Anything else between braces is left as it is.
"""

import re

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from firstline.tickets.models import Priority, Status, Ticket

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")

NAMES = {
    "ticket.number": _("The ticket's number, e.g. 1042."),
    "ticket.subject": _("The ticket's subject."),
    "ticket.status": _("The ticket's status."),
    "ticket.priority": _("The ticket's priority."),
    "ticket.category": _("The ticket's category."),
    "ticket.url": _("The ticket in the self-service portal (with FIRSTLINE_BASE_URL set)."),
    "requester.first_name": _("The requester's first name."),
    "requester.last_name": _("The requester's last name."),
    "requester.name": _("The requester's full name, else their username."),
    "requester.email": _("The requester's e-mail address."),
    "organization.name": _("The requester's organization."),
    "agent.first_name": _("The agent's first name (the assignee, for rules)."),
    "agent.name": _("The agent's full name (the assignee, for rules)."),
}


def unknown(text: str) -> list[str]:
    """The placeholder names in `text` that are not offered, in order of appearance."""
    seen = []
    for name in PLACEHOLDER.findall(text or ""):
        if name not in NAMES and name not in seen:
            seen.append(name)
    return seen


def values_for(ticket: Ticket, agent=None) -> dict[str, str]:
    """The placeholder values for a ticket; `agent` is whoever writes (a macro's user), else
    the assignee."""
    requester = ticket.requester
    agent = agent or ticket.assignee
    base = getattr(settings, "FIRSTLINE_BASE_URL", "").rstrip("/")
    return {
        "ticket.number": str(ticket.pk),
        "ticket.subject": ticket.subject,
        "ticket.status": str(Status(ticket.status).label),
        "ticket.priority": str(Priority(ticket.priority).label),
        "ticket.category": ticket.category.full_name if ticket.category_id else "",
        "ticket.url": f"{base}/requests/{ticket.pk}/" if base else "",
        "requester.first_name": requester.first_name or requester.username,
        "requester.last_name": requester.last_name,
        "requester.name": requester.display_name,
        "requester.email": requester.email,
        "organization.name": ticket.organization.name if ticket.organization_id else "",
        "agent.first_name": (agent.first_name or agent.username) if agent else "",
        "agent.name": agent.display_name if agent else "",
    }


def render(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text or "")
