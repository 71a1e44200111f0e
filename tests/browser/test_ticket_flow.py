"""The acceptance flow in a real browser: a request goes from the portal to the desk and back.

Run once with the UI in English and once in Chinese. Elements are found by form ids, field
names, URLs and CSS classes, never by their (translated) labels.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import expect

from firstline.tickets.models import Attachment, Comment, Status, Ticket, TicketEvent

pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u4e00-\u9fff]")

TEXTS = {
    "en": {
        "locale": "en-US",
        "subject": "Printer on floor 3 jams every second page",
        "description": "Since Monday the printer near the kitchen jams. I restarted it twice.",
        "file": "printer-error.txt",
        "internal": "Internal: toner drum is past its service life, order a new one.",
        "public": "Thanks Tom, we have ordered a new drum. Does it print with the tray 2 paper?",
        "reason": "Hardware fault, needs an on-site technician.",
        "answer": "Tray 2 works fine, only tray 1 jams.",
    },
    "zh-hans": {
        "locale": "zh-CN",
        "subject": "三楼打印机每隔一页卡纸",
        "description": "从周一开始，厨房旁边的打印机一直卡纸。我已经重启了两次。",
        "file": "打印机错误日志.txt",
        "internal": "内部备注：硒鼓已超过使用寿命，需要订购新的。",
        "public": "您好，我们已订购新的硒鼓。用二号纸盒打印正常吗？",
        "reason": "硬件故障，需要现场技术人员。",
        "answer": "二号纸盒正常，只有一号纸盒卡纸。",
    },
}


def expect_language(page, lang: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)


def expect_success(page) -> None:
    """The message every successful form post leaves on the next page."""
    expect(page.locator(".messages .message-success")).to_be_visible()


def translated_nav_word(lang: str) -> str | None:
    """ "My requests" in `lang`, when the product has a catalog for it (else None: the UI
    falls back to English, and only Django's own strings are translated)."""
    catalog = f"{translation.to_locale(lang)}/LC_MESSAGES/django.mo"
    if not any((Path(p) / catalog).exists() for p in settings.LOCALE_PATHS):
        return None
    with translation.override(lang):
        word = translation.gettext("My requests")
    assert CJK.search(word), f"'My requests' is not translated to {lang}"
    return word


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_request_goes_from_portal_to_desk_and_back(lang, helpdesk, new_page, log_in, screenshot):
    t = TEXTS[lang]
    if lang != "en":
        for person in (helpdesk.requester, helpdesk.agent):
            person.language = lang
            person.save(update_fields=["language"])

    # The requester logs in and submits a request with an attachment.
    requester = new_page(locale=t["locale"])
    requester.goto("/login/")
    expect_language(requester, lang)
    screenshot(requester, lang, "login")
    log_in(requester, helpdesk.requester)
    expect(requester).to_have_url(re.compile(r"/$"))
    expect_language(requester, lang)
    if lang != "en" and (word := translated_nav_word(lang)):
        expect(requester.locator("nav.portal-nav")).to_contain_text(word)

    requester.locator('main a[href="/requests/new/"]').first.click()
    expect(requester).to_have_url(re.compile(r"/requests/new/$"))
    form = requester.locator("main form:has(input[name=subject])")
    form.locator("input[name=subject]").fill(t["subject"])
    form.locator("textarea[name=description]").fill(t["description"])
    form.locator("select[name=priority]").select_option("high")
    form.locator("input[name=attachments]").set_input_files(
        [{"name": t["file"], "mimeType": "text/plain", "buffer": b"Error 13.2: paper jam\n"}]
    )
    screenshot(requester, lang, "portal-submit")
    form.locator("button[type=submit]").click()

    expect(requester).to_have_url(re.compile(r"/requests/\d+/$"))
    expect_success(requester)
    number = int(re.search(r"/requests/(\d+)/", requester.url)[1])
    ticket = Ticket.objects.get(pk=number)
    assert (ticket.subject, ticket.requester, ticket.status) == (
        t["subject"],
        helpdesk.requester,
        Status.NEW,
    )
    assert ticket.group == helpdesk.l1
    attachment = Attachment.objects.get(ticket=ticket)
    assert (attachment.filename, attachment.is_public) == (t["file"], True)
    file_link = requester.locator(f'a[href="/requests/{number}/attachments/{attachment.pk}/"]')
    expect(file_link.first).to_have_text(t["file"])

    # ... and sees it under "My requests".
    requester.locator('nav.portal-nav a[href="/"]').click()
    expect(requester.locator(f'main a[href="/requests/{number}/"]')).to_have_text(t["subject"])
    screenshot(requester, lang, "portal-home")

    # An L1 agent finds it among the unassigned tickets of their groups.
    agent = new_page(locale=t["locale"])
    log_in(agent, helpdesk.agent)
    expect(agent).to_have_url(re.compile(r"/desk/queue/mine/$"))
    expect_language(agent, lang)
    agent.locator('nav.sidebar a[href="/desk/queue/unassigned/"]').click()
    expect(agent).to_have_url(re.compile(r"/desk/queue/unassigned/$"))
    ticket_link = agent.locator(f'#ticket-list a[href="/desk/tickets/{number}/"]')
    expect(ticket_link).to_have_text(t["subject"])
    screenshot(agent, lang, "desk-queue")
    ticket_link.click()
    expect(agent).to_have_url(re.compile(rf"/desk/tickets/{number}/$"))
    expect_language(agent, lang)

    # Takes it, writes an internal note and a public reply, and waits on the requester.
    take = agent.locator(f'form[action="/desk/tickets/{number}/take/"]')
    take.locator("button[type=submit]").click()
    expect_success(agent)
    expect(take).to_have_count(0)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (helpdesk.agent, Status.OPEN)

    reply = agent.locator("form#reply")
    reply.locator("input[name=visibility][value=internal]").check()
    reply.locator("textarea[name=body]").fill(t["internal"])
    reply.locator("button[type=submit]").click()
    expect(agent.locator(".conversation li.entry.internal .body")).to_have_text(t["internal"])

    reply.locator("input[name=visibility][value=public]").check()
    reply.locator("textarea[name=body]").fill(t["public"])
    reply.locator("button[type=submit]").click()
    expect(agent.locator(".conversation li.entry:not(.internal) .body")).to_have_text(t["public"])
    assert list(
        Comment.objects.filter(ticket=ticket).order_by("pk").values_list("body", "is_public")
    ) == [
        (t["internal"], False),
        (t["public"], True),
    ]

    properties = agent.locator("form#properties")
    properties.locator("select[name=status]").select_option(Status.PENDING)
    properties.locator("button[type=submit]").click()
    expect_success(agent)
    expect(agent.locator(f"main .badge.status-{Status.PENDING}").first).to_be_visible()
    screenshot(agent, lang, "desk-ticket")

    # Escalates it to L2 with a reason; it leaves the L1 agent's view.
    escalate = agent.locator(f'form[action="/desk/tickets/{number}/escalate/up/"]')
    agent.locator("details", has=escalate).locator("summary").click()
    escalate.locator("select[name=up-group]").select_option(str(helpdesk.l2.pk))
    escalate.locator("textarea[name=up-reason]").fill(t["reason"])
    escalate.locator("button[type=submit]").click()
    expect_success(agent)
    expect(agent).to_have_url(re.compile(r"/desk/"))
    ticket.refresh_from_db()
    assert (ticket.group, ticket.assignee, ticket.status) == (
        helpdesk.l2,
        None,
        Status.PENDING,
    )
    escalation = TicketEvent.objects.get(ticket=ticket, kind="escalated")
    assert (escalation.note, escalation.is_public) == (t["reason"], False)

    # The requester sees the public reply, and nothing internal.
    requester.goto(f"/requests/{number}/")
    expect_language(requester, lang)
    conversation = requester.locator("ol.conversation")
    expect(conversation).to_contain_text(t["public"])
    expect(requester.locator(f".request-header .badge.status-{Status.PENDING}")).to_be_visible()
    html = requester.content()
    assert t["internal"] not in html
    assert t["reason"] not in html
    screenshot(requester, lang, "portal-request")

    # Their answer puts the ticket back in the agents' hands.
    answer = requester.locator(f'main form[action="/requests/{number}/reply/"]')
    answer.locator("textarea[name=body]").fill(t["answer"])
    answer.locator("button[type=submit]").click()
    expect(requester).to_have_url(re.compile(rf"/requests/{number}/#reply-\d+$"))
    expect_success(requester)
    expect(conversation).to_contain_text(t["answer"])
    expect(requester.locator(f".request-header .badge.status-{Status.OPEN}")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.comments.filter(author=helpdesk.requester, is_public=True).count() == 1
