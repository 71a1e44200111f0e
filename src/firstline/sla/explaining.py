"""The "why is it due then" sentence of an SLA target, in the reader's language.

business_time.Explanation holds the facts; this renders them with gettext, for the ticket
page and the API (and, in English, for the business-time tests).
"""

from datetime import date, datetime, timedelta

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from firstline.tickets.models import Status

from . import business_time as bt


def sentence(e: bt.Explanation) -> str:
    """E.g. 'due Tue 10 Mar 14:20 (Asia/Shanghai): calendar Shanghai office, 4 business hours,
    paused 3 h waiting on the requester, 1 Oct (National Day) skipped'."""
    if e.due is not None:
        head = _("due %(when)s") % {"when": _when(e.due)}
    else:
        since = e.pauses_counted[-1][0]
        head = _("not due while paused since %(when)s") % {"when": _when(since)}
    parts = [_("calendar %(name)s") % {"name": e.calendar_name}, _business(e.business_duration)]
    if e.due is None:
        parts.append(_("%(time)s left") % {"time": _span(e.remaining)})
    if e.paused_total:
        reasons = ", ".join(dict.fromkeys(_reason(r) for *_, r in e.pauses_counted if r))
        paused = _("paused %(time)s") % {"time": _span(e.paused_total)}
        parts.append(f"{paused} {reasons}" if reasons else paused)
    parts.extend(_skipped(e.skipped_closed_dates, e.skipped_non_working_days))
    return _("%(head)s (%(time_zone)s): %(reasons)s") % {
        "head": head,
        "time_zone": e.time_zone,
        "reasons": ", ".join(parts),
    }


def _reason(reason: str) -> str:
    names = {
        Status.PENDING: _("waiting on the requester"),
        Status.ON_HOLD: _("on hold"),
        Status.RESOLVED: _("resolved"),
        Status.CLOSED: _("closed"),
    }
    return ", ".join(names.get(part.strip(), part.strip()) for part in reason.split(","))


def _when(moment: datetime) -> str:
    return date_format(moment, "D j M H:i")


def _day(day: date) -> str:
    return date_format(day, "j M")


def _span(amount: timedelta) -> str:
    seconds = round(amount.total_seconds())
    if seconds < 60:
        return _("%(seconds)s s") % {"seconds": seconds}
    hours, minutes = divmod(round(seconds / 60), 60)
    if hours and minutes:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    if hours:
        return _("%(hours)s h") % {"hours": hours}
    return _("%(minutes)s min") % {"minutes": minutes}


def _business(amount: timedelta) -> str:
    hours, rest = divmod(amount, timedelta(hours=1))
    if not rest and hours:
        return ngettext("%(count)s business hour", "%(count)s business hours", hours) % {
            "count": hours
        }
    return _("%(time)s of business time") % {"time": _span(amount)}


def _skipped(closed: list[tuple[date, str]], idle: list[date]) -> list[str]:
    parts = []
    if 0 < len(closed) <= 3:
        parts += [
            _("%(day)s (%(name)s) skipped") % {"day": _day(day), "name": name}
            for day, name in closed
        ]
    elif closed:
        parts.append(
            _("%(count)s closed days skipped (%(first)s to %(last)s)")
            % {"count": len(closed), "first": _day(closed[0][0]), "last": _day(closed[-1][0])}
        )
    if idle:
        parts.append(
            ngettext(
                "%(count)s non-working day skipped", "%(count)s non-working days skipped", len(idle)
            )
            % {"count": len(idle)}
        )
    return parts
