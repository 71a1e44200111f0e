from django import template

from .. import rows

register = template.Library()


@register.filter
def ticket_rows(tickets) -> list:
    """The queue's rows as ready HTML (a list, so that the template's {% empty %} works)."""
    return rows.ticket_rows(tickets)
