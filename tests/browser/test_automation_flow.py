"""Automation in a real browser against a real server (real commits): a routed new request,
and a macro chosen in the reply box after the agent has typed."""

import pytest
from playwright.sync_api import expect

from firstline.automation import services
from firstline.automation.models import RoutingMethod
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Status, Ticket, TicketEvent

pytestmark = pytest.mark.browser


def test_a_macro_joins_what_the_agent_typed_and_applies_its_changes(
    helpdesk, new_page, log_in, screenshot
):
    services.update_routing(actor=None, group=helpdesk.l1, method=RoutingMethod.ROUND_ROBIN)
    ticket = ticket_services.create_ticket(
        actor=helpdesk.requester, subject="VPN drops every hour", channel="web"
    )
    ticket.refresh_from_db()
    assert ticket.assignee == helpdesk.agent  # routed when the creation committed
    macro = services.create_macro(
        actor=None,
        name="Ask for the VPN client",
        body="Hello {{ requester.first_name }}, which VPN client do you use? "
        "(#{{ ticket.number }})",
        changes={"status": "pending", "add_tags": ["vpn"]},
    )
    page = log_in(new_page(), helpdesk.agent)
    page.goto(f"/desk/tickets/{ticket.pk}/")
    body = page.locator("#id_body")
    body.fill("Thanks for the report.")
    page.select_option("#macro_pick", str(macro.pk))
    expected = f"Thanks for the report.\n\nHello Tom, which VPN client do you use? (#{ticket.pk})"
    expect(page.locator("#id_body")).to_have_value(expected)
    expect(page.locator("#reply-body input[name=macros]")).to_be_checked()
    screenshot(page, "en", "desk-macro")
    page.locator("#reply button[type=submit]", has_text="Send").click()
    page.wait_for_url(f"**/desk/tickets/{ticket.pk}/**")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == Status.PENDING
    assert list(ticket.tags.values_list("name", flat=True)) == ["vpn"]
    assert TicketEvent.objects.filter(ticket=ticket, note__startswith="macro:").count() == 2
    page.goto(f"/desk/tickets/{ticket.pk}/?tab=history")
    expect(page.locator("#history")).to_contain_text("with the macro “Ask for the VPN client”")
