"""How automation names itself in the ticket history (`TicketEvent.note`, via `via=`), and
how that note is shown: stored in a fixed form, shown in the reader's language."""

import re

from django.utils.translation import gettext as _

from .models import Macro, RoutingMethod, Rule

AUTO_CLOSE = "auto-close"
_RULE = re.compile(r"^rule:(\d+):(.*)$", re.DOTALL)
_MACRO = re.compile(r"^macro:(\d+):(.*)$", re.DOTALL)
_ROUTING = re.compile(r"^routing:(\w+)$")


def for_rule(rule: Rule) -> str:
    return f"rule:{rule.pk}:{rule.name}"


def for_macro(macro: Macro) -> str:
    return f"macro:{macro.pk}:{macro.name}"


def for_routing(method: str) -> str:
    return f"routing:{method}"


def describe(note: str) -> str:
    """The note of a history entry as a reader sees it; notes automation did not write are
    returned as they are."""
    if note == AUTO_CLOSE:
        return _("closed automatically: resolved and no reply for a while")
    if match := _RULE.match(note):
        return _("by the rule “%(name)s”") % {"name": match.group(2)}
    if match := _MACRO.match(note):
        return _("with the macro “%(name)s”") % {"name": match.group(2)}
    if match := _ROUTING.match(note):
        method = match.group(1)
        label = RoutingMethod(method).label if method in RoutingMethod.values else method
        return _("automatic assignment (%(method)s)") % {"method": label}
    return note


def is_automatic(note: str) -> bool:
    return bool(note == AUTO_CLOSE or _RULE.match(note) or _ROUTING.match(note))
