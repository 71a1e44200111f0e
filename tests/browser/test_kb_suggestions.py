"""Deflection in a real browser: while a requester types the subject of a new request, the
portal suggests public articles (htmx, debounced); one opened from there is recorded, with
the session, as read from the suggestions. Also the agent's panel beside a ticket."""

import re

import pytest
from playwright.sync_api import expect

from firstline.kb import services
from firstline.kb.models import ArticleView, SolvedBy
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel

from ..factories import SupervisorFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def articles(helpdesk):
    boss = SupervisorFactory(username="maria")

    def publish(title, body, visibility="public", language="en"):
        return services.create_article(
            actor=boss,
            title=title,
            body=body,
            language=language,
            visibility=visibility,
            status="published",
        )

    return {
        "jam": publish("Printer jams or prints blank pages", "Open the door and pull the paper."),
        "zh": publish("打印机无法连接怎么办", "请重新添加网络打印机。", language="zh-hans"),
        "internal": publish("Printer spooler runbook", "Restart the spooler.", "internal"),
        "vpn": publish("Connect to the VPN from home", "Install GlobalProtect."),
    }


def suggestions(page):
    return page.locator("#kb-suggestions a.kb-suggestion")


def test_suggestions_appear_while_typing_and_a_read_one_is_recorded(
    helpdesk, articles, new_page, log_in, screenshot
):
    page = new_page()
    log_in(page, helpdesk.requester)
    page.goto("/requests/new/")
    subject = page.locator("#id_subject")
    subject.press_sequentially("printer ja", delay=40)
    expect(suggestions(page)).to_have_count(1)
    expect(suggestions(page)).to_have_text(articles["jam"].title)
    screenshot(page, "en", "kb-suggestions")

    # Chinese, typed without spaces (as an input method commits it).
    subject.fill("")
    subject.fill("打印机")
    subject.press("End")  # the keyup that an input method's commit ends with
    expect(suggestions(page)).to_have_text(articles["zh"].title)
    assert "runbook" not in page.locator("#kb-suggestions").inner_text()

    # Opening a suggestion keeps the form and records the reading with the session.
    with page.context.expect_page() as opened:
        suggestions(page).first.click()
    article_page = opened.value
    expect(article_page).to_have_url(re.compile(rf"/kb/articles/{articles['zh'].pk}/"))
    expect(article_page.locator("main h1")).to_have_text(articles["zh"].title)
    expect(subject).to_have_value("打印机")
    view = ArticleView.objects.get(article=articles["zh"])
    assert view.from_suggestion and view.session_key and view.followed_by is None


def test_an_agent_inserts_a_suggested_article_and_marks_it_as_the_fix(
    helpdesk, articles, new_page, log_in
):
    ticket = ticket_services.create_ticket(
        actor=helpdesk.requester,
        channel=Channel.WEB,
        subject="Printer jams on floor 3",
        description="Every second page.",
    )
    page = new_page()
    log_in(page, helpdesk.agent)
    page.goto(f"/desk/tickets/{ticket.pk}/")
    item = page.locator(f'#kb-suggested li[data-article="{articles["jam"].pk}"]')
    expect(item).to_be_visible()
    expect(page.locator(f'#kb-suggested li[data-article="{articles["vpn"].pk}"]')).to_have_count(0)
    page.locator("#id_body").fill("Hello Tom,")
    item.locator("button[hx-get*='mode=text']").click()
    expect(page.locator("#id_body")).to_have_value(
        "Hello Tom,\n\nOpen the door and pull the paper."
    )
    item = page.locator(f'#kb-suggested li[data-article="{articles["jam"].pk}"]')
    item.locator("form button[type=submit]").click()
    expect(page.locator(".messages .message-success")).to_be_visible()
    assert SolvedBy.objects.filter(ticket=ticket, article=articles["jam"]).exists()
