"""Accessibility smoke tests in the browser: labelled form fields, no sideways scrolling."""

import pytest
from playwright.sync_api import expect

from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel

pytestmark = pytest.mark.browser

# The visible form fields without an accessible name from a <label for> (or a <label> around
# them: el.labels lists both), aria-label or aria-labelledby.
UNLABELLED_FIELDS = """() => {
  const text = (el) => ((el && el.textContent) || "").trim();
  const unlabelled = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "submit", "button", "reset", "image"].includes(el.type)) continue;
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    const byLabel = [...el.labels].some((label) => text(label));
    const byAria = (el.getAttribute("aria-label") || "").trim();
    const byIds = (el.getAttribute("aria-labelledby") || "").split(/\\s+/)
      .some((id) => id && text(document.getElementById(id)));
    if (!byLabel && !byAria && !byIds)
      unlabelled.push(`${el.tagName.toLowerCase()}[name=${el.name}]#${el.id}`);
  }
  return unlabelled;
}"""

# Ids used more than once: a <label for> or a link to one of them reaches the first only.
DUPLICATE_IDS = """() => {
  const seen = new Map();
  for (const el of document.querySelectorAll("[id]")) seen.set(el.id, (seen.get(el.id) || 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id).sort();
}"""


def form_problems(page) -> dict:
    return {
        "unlabelled": page.evaluate(UNLABELLED_FIELDS),
        "duplicate ids": page.evaluate(DUPLICATE_IDS),
    }


NONE = {"unlabelled": [], "duplicate ids": []}


def open_all_details(page) -> None:
    """Opens the collapsed sections, so that their forms are checked too."""
    page.eval_on_selector_all("details", "els => els.forEach(d => (d.open = true))")


@pytest.fixture
def ticket(helpdesk):
    return ticket_services.create_ticket(
        actor=helpdesk.requester,
        channel=Channel.WEB,
        subject="Cannot connect to the VPN from home",
        description="The client says 'authentication failed' since this morning.",
    )


def test_every_visible_form_field_has_a_label(helpdesk, ticket, new_page, log_in):
    visitor = new_page()
    visitor.goto("/login/")
    assert form_problems(visitor) == NONE, "login page"

    requester = log_in(new_page(), helpdesk.requester)
    requester.goto("/requests/new/")
    expect(requester.locator("main form input[name=subject]")).to_be_visible()
    assert form_problems(requester) == NONE, "portal submit page"
    requester.goto(f"/requests/{ticket.pk}/")
    assert form_problems(requester) == NONE, "portal request page"

    agent = log_in(new_page(), helpdesk.agent)
    agent.goto(f"/desk/tickets/{ticket.pk}/")
    expect(agent.locator("form#reply")).to_be_visible()
    open_all_details(agent)
    expect(agent.locator("textarea[name=up-reason]")).to_be_visible()
    assert form_problems(agent) == NONE, "desk ticket page"
    agent.goto("/desk/queue/unassigned/")
    expect(agent.locator(f'#ticket-list a[href="/desk/tickets/{ticket.pk}/"]')).to_be_visible()
    assert agent.evaluate(UNLABELLED_FIELDS) == [], "desk queue"


def test_desk_queue_ids_are_unique(helpdesk, ticket, new_page, log_in):
    agent = log_in(new_page(), helpdesk.agent)
    agent.goto("/desk/queue/unassigned/")
    expect(agent.locator(f'#ticket-list a[href="/desk/tickets/{ticket.pk}/"]')).to_be_visible()
    assert agent.evaluate(DUPLICATE_IDS) == []


def test_portal_fits_a_375px_phone_without_sideways_scrolling(helpdesk, ticket, new_page, log_in):
    phone = log_in(new_page(width=375, height=812), helpdesk.requester)
    too_wide = {}
    for path in ["/", "/requests/new/", f"/requests/{ticket.pk}/"]:
        phone.goto(path)
        expect(phone.locator("main h1")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > 375:
            too_wide[path] = width
    assert too_wide == {}, "pages wider than the 375px screen (px)"
