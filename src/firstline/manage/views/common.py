"""What every administration view shares: the section navigation and 404s."""

from collections.abc import Callable
from typing import TypeVar

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from firstline.core.errors import NotFound

T = TypeVar("T")

SECTIONS = [
    ("home", _("Overview")),
    ("organizations", _("Organizations")),
    ("users", _("Users")),
    ("groups", _("Groups")),
    ("categories", _("Categories")),
    ("routing", _("Assignment")),
    ("agent_skills", _("Agents and skills")),
    ("rules", _("Rules")),
    ("macros", _("Macros")),
    ("sla", _("SLA")),
]
# The e-mail channel: administrators only.
ADMIN_SECTIONS = [
    ("mailboxes", _("Mailboxes")),
    ("mail_messages", _("Incoming mail")),
    ("outbox", _("Outbox")),
    ("email_templates", _("E-mail templates")),
]


def render_page(
    request: HttpRequest, template: str, section: str, context: dict | None = None
) -> HttpResponse:
    """Renders a page with the administration sidebar, `section` marked as the current one."""
    here = request.resolver_match.url_name if request.resolver_match else ""
    sections = SECTIONS + (ADMIN_SECTIONS if request.user.is_admin else [])
    nav = [
        (f"manage:{name}", label, ("page" if here == name else "true") if name == section else "")
        for name, label in sections
    ]
    return render(request, template, {"manage_nav": nav, **(context or {})})


def found(lookup: Callable[..., T], *args) -> T:
    """A selector's lookup, with a missing object as a 404 page."""
    try:
        return lookup(*args)
    except NotFound:
        raise Http404 from None
