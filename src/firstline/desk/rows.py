"""The rows of the agent queue as HTML, built in Python.

A queue page shows 50 rows of nine cells with links, dates, labels and an SLA badge; in the
template language that was about a millisecond per row, most of the page's time at scale.
Here each row is one format string; labels, link and translations are looked up once per
page. The markup is what the template rendered before (tests/desk/test_views.py reads it).
"""

from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from html import escape  # what django.utils.html.escape does, without its lazy-text wrapper
from operator import attrgetter

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateformat import DateFormat, re_escaped, re_formatchars
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import MONTHS_DAYS, TIME_CHUNKS, TIME_STRINGS, TIME_STRINGS_KEYS
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext as _

from firstline.core import clock
from firstline.sla.templatetags.sla_tags import sla_state
from firstline.sla.tracking import overall_state
from firstline.tickets.models import Priority, Status

from .selectors import QueueRow, SlaClock

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
    zone: tzinfo  # the time zone the page's dates are shown in
    units: "_Since"  # timesince's words in the page's language
    dates: "_Dates"
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
        language = get_language()
        return cls(
            now=now,
            zone=timezone.get_current_timezone(),
            units=_units(language),
            dates=_Dates(language),
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


def _ago(moment: datetime, now: datetime, units: "_Since | None" = None) -> str:
    """What Django's timesince(moment, now) says, in the active language."""
    return (units or _units(get_language())).since(moment, now)


class _Since:
    """Django's timesince() (django/utils/timesince.py, same steps) with its words for one
    language: each unit and number ("3 minutes") translated once and the separator looked up
    once, instead of on every call through lazy text (a page has a hundred of them)."""

    def __init__(self):  # made while the language is active (see _units)
        self.words = {name: _Unit(words) for name, words in TIME_STRINGS.items()}
        self.comma = gettext(", ")

    def since(self, d: datetime, now: datetime) -> str:
        if d.tzinfo is not None and now.tzinfo is not None:
            now = now.astimezone(d.tzinfo)
        delta = now - d
        if delta.days * 24 * 60 * 60 + delta.seconds <= 0:
            return self.words["minute"].said_as(0)
        total_months = (now.year - d.year) * 12 + (now.month - d.month)
        if d.day > now.day or (d.day == now.day and d.time() > now.time()):
            total_months -= 1
        years, months = divmod(total_months, 12)
        pivot = d
        if years or months:
            pivot_year, pivot_month = d.year + years, d.month + months
            if pivot_month > 12:
                pivot_month -= 12
                pivot_year += 1
            day = min(MONTHS_DAYS[pivot_month - 1], d.day)
            pivot = datetime(
                pivot_year, pivot_month, day, d.hour, d.minute, d.second, tzinfo=d.tzinfo
            )
        remaining = (now - pivot).total_seconds()
        partials = [years, months]
        for chunk in TIME_CHUNKS:
            count = int(remaining // chunk)
            partials.append(count)
            remaining -= chunk * count
        said = []
        for name, value in zip(TIME_STRINGS_KEYS, partials, strict=True):
            if value:
                said.append(self.words[name].said_as(value))
            elif said:
                break
            if len(said) == 2:  # timesince's depth
                break
        return self.comma.join(said) if said else self.words["minute"].said_as(0)


class _Unit:
    def __init__(self, words):
        self.words, self.said = words, {}

    def said_as(self, number: int) -> str:
        said = self.said.get(number)
        if said is None:  # django.utils.html.avoid_wrapping: no line breaks inside
            said = self.said[number] = str(self.words % {"num": number}).replace(" ", "\xa0")
        return said


@lru_cache(maxsize=32)
def _units(language: str) -> _Since:
    return _Since()


# What each of Django's date format characters depends on (django.utils.dateformat), so
# that its text can be kept: "N" (the month's name) is the same for every date of a month.
# Characters not listed (time zone, timestamps) are formatted every time.
_DEPENDS = {
    **dict.fromkeys("bEFmMnN", attrgetter("month")),
    **dict.fromkeys("djS", attrgetter("day")),
    **dict.fromkeys("yYL", attrgetter("year")),
    **dict.fromkeys("DlwWzot", attrgetter("year", "month", "day")),
    **dict.fromkeys("aAgGhH", attrgetter("hour")),
    **dict.fromkeys("fP", attrgetter("hour", "minute")),
    "i": attrgetter("minute"),
    "s": attrgetter("second"),
    "u": attrgetter("microsecond"),
}
_KEPT_TEXTS = 20_000  # formatted parts kept per language, at most


class _Dates:
    """DateFormat(moment).format(format) with the parts' texts kept per language: a page has
    a hundred dates, and each month name or "p.m." was otherwise translated anew."""

    def __init__(self, language: str):
        self.kept = _kept_texts(language)

    def format(self, moment: datetime, format_string: str) -> str:
        kept = self.kept
        if len(kept) > _KEPT_TEXTS:
            kept.clear()
        texts = []
        for literal, char, depends in _pieces(format_string):
            if char is None:
                texts.append(literal)
            elif depends is None:
                texts.append(str(getattr(DateFormat(moment), char)()))
            else:
                key = (char, depends(moment))
                text = kept.get(key)
                if text is None:
                    text = kept[key] = str(getattr(DateFormat(moment), char)())
                texts.append(text)
        return "".join(texts)


@lru_cache(maxsize=32)
def _kept_texts(language: str) -> dict:
    return {}


@lru_cache(maxsize=64)
def _pieces(format_string: str) -> tuple:
    """The format as DateFormat.format reads it: (literal text, None, None) or (None, format
    character, what its text depends on)."""
    pieces = []
    for i, piece in enumerate(re_formatchars.split(format_string)):
        if i % 2:
            pieces.append((None, piece, _DEPENDS.get(piece)))
        elif piece:
            pieces.append((re_escaped.sub(r"\1", piece), None, None))
    return tuple(pieces)


def _sla_badge(sla: SlaClock | None, page: _Page) -> str:
    if sla is None:
        return '<span class="muted">—</span>'
    if sla.next_due_at:
        due = sla.next_due_at
        state = overall_state(sla, page.now)
        if state == "breached":
            words = page.overdue % {"t": _ago(due, page.now, page.units)}
        else:
            words = page.left % {"t": _ago(page.now, due, page.units)}
        title = page.dates.format(due.astimezone(page.zone), page.short_date)
        return f'<span class="badge sla-{state}" title="{escape(title)}">{escape(words)}</span>'
    if sla.paused_since:
        return f'<span class="badge sla-paused">{page.paused}</span>'
    return f'<span class="badge sla-met">{page.met}</span>'


def _row(ticket: QueueRow, page: _Page) -> str:
    under = [escape(ticket.organization) if ticket.organization else ""]
    under += [f" · {escape(tag)}" for tag in ticket.tags]
    priority, priority_label = page.priorities[ticket.priority]
    updated = page.dates.format(ticket.updated_at.astimezone(page.zone), page.long_date)
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
        requester=escape(ticket.requester),
        assignee=escape(ticket.assignee or "—"),
        updated=escape(updated),
        updated_ago=escape(_ago(ticket.updated_at, page.now, page.units)),
        sla=_sla_badge(ticket.sla, page),
    )


def ticket_rows(tickets: list[QueueRow]) -> list[SafeString]:
    page = _Page.build(clock.now())
    return [mark_safe(_row(t, page)) for t in tickets]
