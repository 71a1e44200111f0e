"""How the ticket history names changed fields and values: in English exactly as they are
stored (`status`, `on_hold`), in other languages translated."""

from django import template
from django.utils.translation import pgettext_lazy

register = template.Library()

FIELDS = {
    "subject": pgettext_lazy("ticket field in the history", "subject"),
    "description": pgettext_lazy("ticket field in the history", "description"),
    "status": pgettext_lazy("ticket field in the history", "status"),
    "priority": pgettext_lazy("ticket field in the history", "priority"),
    "category": pgettext_lazy("ticket field in the history", "category"),
    "group": pgettext_lazy("ticket field in the history", "group"),
    "assignee": pgettext_lazy("ticket field in the history", "assignee"),
    "tags": pgettext_lazy("ticket field in the history", "tags"),
}

# The stored keys of statuses and priorities; other values (names, slugs) are shown as they are.
VALUES = {
    "status": {
        "new": pgettext_lazy("ticket status in the history", "new"),
        "open": pgettext_lazy("ticket status in the history", "open"),
        "pending": pgettext_lazy("ticket status in the history", "pending"),
        "on_hold": pgettext_lazy("ticket status in the history", "on_hold"),
        "resolved": pgettext_lazy("ticket status in the history", "resolved"),
        "closed": pgettext_lazy("ticket status in the history", "closed"),
    },
    "priority": {
        "low": pgettext_lazy("ticket priority in the history", "low"),
        "normal": pgettext_lazy("ticket priority in the history", "normal"),
        "high": pgettext_lazy("ticket priority in the history", "high"),
        "urgent": pgettext_lazy("ticket priority in the history", "urgent"),
    },
    "sla": {
        "first_response": pgettext_lazy("SLA target in the history", "first response"),
        "next_response": pgettext_lazy("SLA target in the history", "next response"),
        "resolution": pgettext_lazy("SLA target in the history", "resolution"),
    },
}


@register.filter
def history_field(field: str) -> str:
    return str(FIELDS.get(field, field))


@register.filter
def history_value(value: str, field: str) -> str:
    return str(VALUES.get(field, {}).get(value, value))
