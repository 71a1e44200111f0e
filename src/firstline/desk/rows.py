"""The rows of the agent queue as HTML, built in Python.

A queue page shows 50 rows of nine cells with links, dates, labels and an SLA badge; in the
template language that was about a millisecond per row, most of the page's time at scale.
Here each row is one format string; labels, link and translations are looked up once per
page. The markup is what the template rendered before (tests/desk/test_views.py reads it).
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from html import escape  # what django.utils.html.escape does, without its lazy-text wrapper

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateformat import DateFormat
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import TIME_STRINGS, timesince
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from firstline.core import clock
from firstline.sla.templatetags.sla_tags import sla_state
from firstline.tickets.models import Priority, Status, Ticket

_MARKER = 987654321987654321  # a ticket number no desk has: split off the link's parts

ROW = (
    "<tr>"
    '<td><input type="checkbox" name="tickets" value="{pk}" aria-label="{select}"></td>'
    '<td class="num">#{pk}</td>'
    '<td class="subject"><a href="{link}">{subject}</a>\n'
    '<div class="muted" style="font-size:.8rem">{under}</div></td>'
    '<td><span class="badge status-{status}">{status_label}</span></td>'
    '<td><span class="badge priority-{priority}">{priority_label}</span></td>'
    '<td class="optional">{requester}</td>'
    '<td class="optional">{assignee}</td>'
    '<td class="optional num" title="{updated}">{updated_ago}</td>'
    '<td class="num">{sla}</td>'
    "</tr>"
)


@dataclass
class _Page:
    """What every row of one page shares: the moment, the labels, the translated words."""

    now: datetime
    link: tuple[str, str]
    statuses: dict[str, str]
    priorities: dict[int, tuple[str, str]]
    select: str
    long_date: str  # the language's date formats, looked up once
    short_date: str
    overdue: str
    left: str
    paused: str
    met: str

    @classmethod
    def build(cls, now: datetime) -> "_Page":
        before, after = reverse("desk:ticket", args=[_MARKER]).split(str(_MARKER))
        return cls(
            now=now,
            link=(escape(before), escape(after)),
            statuses={s.value: escape(s.label) for s in Status},
            priorities={p.value: (p.key, escape(p.label)) for p in Priority},
            select=_("Select ticket #%(n)s"),
            long_date=formats.get_format("DATETIME_FORMAT"),
            short_date=formats.get_format("SHORT_DATETIME_FORMAT"),
            overdue=_("%(t)s overdue"),
            left=_("%(t)s left"),
            paused=escape(sla_state("paused")),
            met=escape(sla_state("met")),
        )


def _ago(moment: datetime, now: datetime) -> str:
    """Django's timesince() with its unit words ("%d minutes"...) translated once per
    language and number instead of on every call: a page has a hundred of them."""
    return timesince(moment, now, time_strings=_units(get_language()))


class _Unit:
    def __init__(self, words):
        self.words, self.said = words, {}

    def __mod__(self, values: dict) -> str:
        said = self.said.get(values["num"])
        if said is None:
            said = self.said[values["num"]] = str(self.words % values)
        return said


@lru_cache(maxsize=32)
def _units(language: str) -> dict[str, _Unit]:
    return {name: _Unit(words) for name, words in TIME_STRINGS.items()}


def _sla_badge(ticket: Ticket, page: _Page) -> str:
    sla = getattr(ticket, "sla", None)
    if sla is None:
        return '<span class="muted">—</span>'
    if sla.next_due_at:
        due = sla.next_due_at
        state = sla.state
        if state == "breached":
            words = page.overdue % {"t": _ago(due, page.now)}
        else:
            words = page.left % {"t": _ago(page.now, due)}
        title = DateFormat(timezone.localtime(due)).format(page.short_date)
        return f'<span class="badge sla-{state}" title="{escape(title)}">{escape(words)}</span>'
    if sla.paused_since:
        return f'<span class="badge sla-paused">{page.paused}</span>'
    return f'<span class="badge sla-met">{page.met}</span>'


def _row(ticket: Ticket, page: _Page) -> str:
    under = [escape(ticket.organization.name) if ticket.organization else ""]
    under += [f" · {escape(tag.name)}" for tag in ticket.tag_list]
    priority, priority_label = page.priorities[ticket.priority]
    assignee = ticket.assignee.display_name if ticket.assignee else "—"
    updated = DateFormat(timezone.localtime(ticket.updated_at)).format(page.long_date)
    return ROW.format(
        pk=ticket.pk,
        select=escape(page.select % {"n": ticket.pk}),
        link=f"{page.link[0]}{ticket.pk}{page.link[1]}",
        subject=escape(ticket.subject),
        under="".join(under),
        status=escape(ticket.status),
        status_label=page.statuses.get(ticket.status, escape(ticket.status)),
        priority=priority,
        priority_label=priority_label,
        requester=escape(ticket.requester.display_name),
        assignee=escape(assignee),
        updated=escape(updated),
        updated_ago=escape(_ago(ticket.updated_at, page.now)),
        sla=_sla_badge(ticket, page),
    )


def ticket_rows(tickets) -> list[SafeString]:
    page = _Page.build(clock.now())
    return [mark_safe(_row(t, page)) for t in tickets]
