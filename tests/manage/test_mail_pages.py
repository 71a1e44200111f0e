"""The e-mail administration pages: mailboxes, incoming mail and its quarantine, the outbox
and the e-mail templates, all for administrators only."""

import hashlib
import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from firstline.channels import outbound, services
from firstline.channels.models import EmailTemplate, InboundMessage, Mailbox, OutboundMessage
from firstline.tickets.models import Ticket

INBOUND_URL = "/api/v1/channels/email/inbound"
TOKEN = re.compile(r"flm_[A-Za-z0-9_-]{20,}")


def raw_message(subject="Printer on floor 3 jams", sender="dana@example.com", n=1) -> bytes:
    return (
        f"From: Dana Doe <{sender}>\r\n"
        "To: help@desk.example\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <m{n}.{hashlib.sha256(subject.encode()).hexdigest()[:12]}@example.com>\r\n"
        "Date: Mon, 02 Jun 2025 09:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Every print job stops with a paper jam.\r\n"
    ).encode()


def store(mailbox, raw: bytes, **fields) -> InboundMessage:
    return InboundMessage.objects.create(
        mailbox=mailbox,
        source="http",
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        **fields,
    )


def push(token: str, raw: bytes):
    return Client().post(
        INBOUND_URL, raw, content_type="message/rfc822", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


@pytest.fixture
def mailbox(db):
    box, _token = services.create_mailbox(
        actor=None, address="help@desk.example", name="IT help desk"
    )
    return box


@pytest.fixture
def quarantined(mailbox):
    return store(
        mailbox,
        raw_message(subject="Hello <script>alert('x')</script>"),
        status=InboundMessage.Status.QUARANTINED,
        result="error",
        error="ValueError: something broke",
        sender="dana@example.com",
        subject="Hello <script>alert('x')</script>",
        attempts=1,
    )


@pytest.fixture
def failed_mail(db):
    return OutboundMessage.objects.create(
        kind="ack",
        recipients=["dana@example.com"],
        primary_recipient="dana@example.com",
        subject="[#1] We received your request",
        body="Hello",
        message_id="failed.1@firstline.test",
        status=OutboundMessage.Status.FAILED,
        attempts=8,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
    )


def mailbox_data(**changes):
    data = {
        "address": "support@desk.example",
        "name": "Support",
        "is_active": "on",
        "allowed_sender_domains": "",
        "imap_port": 993,
        "imap_security": "ssl",
        "imap_folder": "INBOX",
        "processed_folder": "Processed",
        "after_import": "move",
        "poll_interval": 60,
        **changes,
    }
    return {key: value for key, value in data.items() if value is not None}


# Who may see the pages.


def _urls(mailbox, message, outgoing):
    return [
        ("get", reverse("manage:mailboxes")),
        ("get", reverse("manage:mailbox_create")),
        ("get", reverse("manage:mailbox_edit", args=[mailbox.pk])),
        ("post", reverse("manage:mailbox_token", args=[mailbox.pk])),
        ("get", reverse("manage:mail_messages")),
        ("get", reverse("manage:mail_message", args=[message.pk])),
        ("get", reverse("manage:mail_message_raw", args=[message.pk])),
        ("post", reverse("manage:mail_message_process", args=[message.pk])),
        ("get", reverse("manage:outbox")),
        ("post", reverse("manage:outbox_send", args=[outgoing.pk])),
        ("get", reverse("manage:email_templates")),
        ("get", reverse("manage:email_template_edit", args=["ack", "en"])),
        ("post", reverse("manage:email_template_reset", args=["ack", "en"])),
    ]


@pytest.mark.parametrize("who", ["alice", "l1_agent", "supervisor"])
def test_everyone_but_administrators_gets_403(client, desk, mailbox, quarantined, failed_mail, who):
    EmailTemplate.objects.create(kind="ack", language="en", subject="S", body="B")
    digest = mailbox.inbound_token_digest
    client.force_login(getattr(desk, who))
    for _method, url in _urls(mailbox, quarantined, failed_mail):
        assert client.get(url).status_code == 403, url
        data = {"address": "x@desk.example", "subject": "Hacked", "body": "Hacked"}
        assert client.post(url, data).status_code == 403, url
    mailbox.refresh_from_db()
    quarantined.refresh_from_db()
    failed_mail.refresh_from_db()
    assert mailbox.inbound_token_digest == digest
    assert not Mailbox.objects.filter(address="x@desk.example").exists()
    assert quarantined.status == InboundMessage.Status.QUARANTINED
    assert failed_mail.status == OutboundMessage.Status.FAILED
    assert EmailTemplate.objects.get().subject == "S"


def test_anonymous_people_are_sent_to_log_in(client, mailbox, quarantined, failed_mail):
    for _method, url in _urls(mailbox, quarantined, failed_mail):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login"))


def test_administrators_see_every_page(as_admin, mailbox, quarantined, failed_mail):
    for method, url in _urls(mailbox, quarantined, failed_mail):
        if method == "get":
            assert as_admin.get(url).status_code == 200, url
        else:
            assert as_admin.get(url).status_code == 405, url


def test_only_administrators_get_the_mail_sections_and_card(client, desk, admin):
    client.force_login(desk.supervisor)
    page = client.get(reverse("manage:home")).content.decode()
    assert reverse("manage:mailboxes") not in page
    assert reverse("manage:outbox") not in page
    client.force_login(admin)
    page = client.get(reverse("manage:home")).content.decode()
    for name in ("mailboxes", "mail_messages", "outbox", "email_templates"):
        assert f'href="{reverse("manage:" + name)}"' in page


def test_home_card_counts_quarantined_and_failed_messages(as_admin, quarantined, failed_mail):
    page = as_admin.get(reverse("manage:home")).content.decode()
    assert "1 quarantined message<" in page
    assert "1 failed outgoing message<" in page
    assert f"{reverse('manage:mail_messages')}?status=quarantined" in page
    assert f"{reverse('manage:outbox')}?status=failed" in page


def test_missing_objects_are_404(as_admin):
    for url in (
        "/manage/mail/mailboxes/999/edit/",
        "/manage/mail/messages/999/",
        "/manage/mail/messages/999/raw/",
        "/manage/mail/templates/nope/en/",
        "/manage/mail/templates/ack/fr/",
    ):
        assert as_admin.get(url).status_code == 404, url


# Mailboxes.


def test_admin_creates_a_mailbox_and_sees_its_token_once(as_admin, desk):
    data = mailbox_data(
        group=desk.l1.pk,
        organization=desk.acme.pk,
        allowed_sender_domains="Example.com, example.org",
        imap_enabled="on",
        imap_host="imap.example.com",
        imap_username="support",
        imap_password="s3cret-imap-pw",
        poll_interval=120,
    )
    response = as_admin.post(reverse("manage:mailbox_create"), data)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "shown only this once" in page
    token = TOKEN.search(page).group()
    mailbox = Mailbox.objects.get(address="support@desk.example")
    assert (mailbox.name, mailbox.group, mailbox.organization) == ("Support", desk.l1, desk.acme)
    assert mailbox.allowed_domains == ["example.com", "example.org"]
    assert (mailbox.imap_enabled, mailbox.imap_host, mailbox.poll_interval) == (
        True,
        "imap.example.com",
        120,
    )
    assert mailbox.imap_password == "s3cret-imap-pw"
    assert mailbox.inbound_token_digest == services.token_digest(token)
    assert "/api/v1/channels/email/inbound" in page and "firstline mailgate" in page

    edit = as_admin.get(reverse("manage:mailbox_edit", args=[mailbox.pk])).content.decode()
    assert token not in edit
    assert "s3cret-imap-pw" not in edit
    assert "A password is set" in edit
    assert push(token, raw_message()).status_code == 202


def test_password_is_write_only_and_empty_keeps_it(as_admin, mailbox):
    url = reverse("manage:mailbox_edit", args=[mailbox.pk])
    data = mailbox_data(
        address=mailbox.address,
        imap_enabled="on",
        imap_host="imap.example.com",
        imap_username="help",
        imap_password="first-password",
    )
    assert as_admin.post(url, data).status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.imap_password == "first-password"

    page = as_admin.get(url).content.decode()
    assert "first-password" not in page
    assert 'name="imap_password"' in page

    data.pop("imap_password")
    data["name"] = "Renamed"
    assert as_admin.post(url, {**data, "imap_password": ""}).status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.imap_password) == ("Renamed", "first-password")

    assert as_admin.post(url, {**data, "imap_password": "second"}).status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.imap_password == "second"


def test_bad_mailbox_settings_are_shown_and_nothing_is_saved(as_admin, mailbox):
    url = reverse("manage:mailbox_edit", args=[mailbox.pk])
    data = mailbox_data(
        address=mailbox.address,
        name="Changed",
        imap_enabled="on",
        imap_port=70000,
        poll_interval=5,
        allowed_sender_domains="example.com, not a domain!",
    )
    response = as_admin.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was saved" in page
    assert "The port must be a number from 1 to 65535." in page
    assert "Poll at most every 10 seconds." in page
    assert "Enter the IMAP server to poll." in page
    assert "Enter the user name to log in to the IMAP server with." in page
    assert "is not a domain name." in page
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.imap_enabled, mailbox.poll_interval) == (
        "IT help desk",
        False,
        60,
    )


def test_bad_new_mailbox_creates_nothing(as_admin, mailbox):
    url = reverse("manage:mailbox_create")
    page = as_admin.post(url, mailbox_data(address="help@desk.example")).content.decode()
    assert "A mailbox &#x27;help@desk.example&#x27; already exists." in page
    page = as_admin.post(url, mailbox_data(imap_port=0)).content.decode()
    assert "The port must be a number from 1 to 65535." in page
    assert not TOKEN.search(page)
    assert list(Mailbox.objects.values_list("address", flat=True)) == ["help@desk.example"]


def test_rotating_the_token_shows_the_new_one_once_and_retires_the_old(as_admin, db):
    mailbox, old = services.create_mailbox(actor=None, address="help@desk.example")
    assert push(old, raw_message(n=1)).status_code == 202

    response = as_admin.post(reverse("manage:mailbox_token", args=[mailbox.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "The previous token no longer works." in page
    new = TOKEN.search(page).group()
    assert new != old

    assert push(old, raw_message(n=2)).status_code == 401
    assert push(new, raw_message(n=3)).status_code == 202
    edit = as_admin.get(reverse("manage:mailbox_edit", args=[mailbox.pk])).content.decode()
    assert new not in edit


def test_mailbox_list_shows_imap_and_poll_errors(as_admin, mailbox):
    services.update_mailbox(
        actor=None,
        mailbox=mailbox,
        imap_enabled=True,
        imap_host="imap.example.com",
        imap_username="help",
    )
    Mailbox.objects.filter(pk=mailbox.pk).update(last_poll_error="LOGIN failed <bad>")
    page = as_admin.get(reverse("manage:mailboxes")).content.decode()
    assert "help@desk.example" in page and "imap.example.com" in page
    assert "LOGIN failed &lt;bad&gt;" in page
    assert "Never" in page


# Incoming mail and the quarantine.


def test_message_list_filters_by_status_and_mailbox(as_admin, mailbox, quarantined):
    other, _token = services.create_mailbox(actor=None, address="other@desk.example")
    store(other, raw_message(n=9), status="processed", sender="x@example.com", subject="Fine")
    url = reverse("manage:mail_messages")
    response = as_admin.get(url)
    assert [m.pk for m in response.context["page"]][-1] == quarantined.pk  # newest first
    assert len(response.context["page"]) == 2
    response = as_admin.get(url, {"status": "quarantined"})
    assert [m.pk for m in response.context["page"]] == [quarantined.pk]
    page = response.content.decode()
    assert "ValueError: something broke" in page
    assert "<script>" not in page
    response = as_admin.get(url, {"mailbox": other.pk})
    assert [m.subject for m in response.context["page"]] == ["Fine"]


def test_message_list_links_the_ticket(as_admin, mailbox, new_ticket):
    ticket = new_ticket()
    store(mailbox, raw_message(), status="processed", result="created", ticket=ticket)
    page = as_admin.get(reverse("manage:mail_messages")).content.decode()
    assert f'href="/desk/tickets/{ticket.pk}/"' in page


def test_message_detail_shows_headers_and_raw_text_escaped(as_admin, quarantined):
    response = as_admin.get(reverse("manage:mail_message", args=[quarantined.pk]))
    page = response.content.decode()
    assert "<script>" not in page
    assert "Hello &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Every print job stops with a paper jam." in page
    assert '<th scope="row">Message-ID</th>' in page
    assert "Process again" in page


def test_raw_message_is_downloaded_never_rendered(as_admin, quarantined):
    response = as_admin.get(reverse("manage:mail_message_raw", args=[quarantined.pk]))
    assert response.status_code == 200
    assert response.content == bytes(quarantined.raw)
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == (
        f'attachment; filename="message-{quarantined.pk}.eml"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"


def test_undecodable_bytes_are_shown_replaced(as_admin, mailbox):
    message = store(mailbox, raw_message() + b"\xff\xfe broken \xc3", status="quarantined")
    page = as_admin.get(reverse("manage:mail_message", args=[message.pk])).content.decode()
    assert "\ufffd" in page


def test_processing_a_quarantined_message_again(
    as_admin, desk, mailbox, quarantined, django_capture_on_commit_callbacks
):
    url = reverse("manage:mail_message_process", args=[quarantined.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = as_admin.post(url)
    assert response.status_code == 302
    assert response.url == reverse("manage:mail_message", args=[quarantined.pk])
    quarantined.refresh_from_db()
    assert quarantined.status == InboundMessage.Status.PROCESSED
    assert quarantined.result == "created" and quarantined.error == ""
    ticket = Ticket.objects.get(pk=quarantined.ticket_id)
    assert ticket.subject == "Hello <script>alert('x')</script>"
    page = as_admin.get(response.url).content.decode()
    assert "Process again" not in page
    assert f'href="/desk/tickets/{ticket.pk}/"' in page


def test_only_quarantined_messages_are_processed_again(
    as_admin, mailbox, django_capture_on_commit_callbacks
):
    message = store(mailbox, raw_message(), status="ignored", result="duplicate")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = as_admin.post(reverse("manage:mail_message_process", args=[message.pk]))
    assert callbacks == []
    message.refresh_from_db()
    assert message.status == "ignored"
    page = as_admin.get(response.url).content.decode()
    assert "Only quarantined messages can be processed again." in page


def test_message_list_queries_do_not_grow_with_rows(
    as_admin, mailbox, django_assert_max_num_queries
):
    def add(count, start):
        for n in range(start, start + count):
            store(mailbox, raw_message(n=n), status="quarantined", error="x", sender="a@b.c")

    url = reverse("manage:mail_messages")
    add(3, 0)
    with CaptureQueriesContext(connection) as few:
        assert as_admin.get(url).status_code == 200
    add(27, 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = as_admin.get(url)
    assert len(response.context["page"]) == 30
    assert len(few.captured_queries) <= 10
    assert all('"raw"' not in q["sql"] for q in few.captured_queries if "INSERT" not in q["sql"])


# The outbox.


def test_outbox_lists_and_filters_messages(as_admin, failed_mail):
    OutboundMessage.objects.create(
        kind="reply",
        recipients=["bob@example.com"],
        subject="Sent one",
        body="x",
        message_id="sent.1@firstline.test",
        status="sent",
        attempts=1,
    )
    url = reverse("manage:outbox")
    page = as_admin.get(url).content.decode()
    assert "Sent one" in page and "dana@example.com" in page
    response = as_admin.get(url, {"status": "failed"})
    assert [m.pk for m in response.context["page"]] == [failed_mail.pk]
    page = response.content.decode()
    assert "SMTPServerDisconnected" in page and "Send again" in page
    response = as_admin.get(url, {"kind": "reply"})
    assert [m.subject for m in response.context["page"]] == ["Sent one"]


def test_send_again_sends_a_failed_message(
    as_admin, failed_mail, django_capture_on_commit_callbacks
):
    url = reverse("manage:outbox_send", args=[failed_mail.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = as_admin.post(url)
    assert response.status_code == 302
    failed_mail.refresh_from_db()
    assert failed_mail.status == OutboundMessage.Status.SENT
    assert [m.subject for m in mail.outbox] == ["[#1] We received your request"]


def test_only_failed_messages_are_sent_again(as_admin, failed_mail):
    OutboundMessage.objects.filter(pk=failed_mail.pk).update(status="sent")
    response = as_admin.post(reverse("manage:outbox_send", args=[failed_mail.pk]))
    failed_mail.refresh_from_db()
    assert failed_mail.status == "sent" and failed_mail.attempts == 8
    assert (
        "Only messages that failed can be sent again."
        in as_admin.get(response.url).content.decode()
    )


# E-mail templates.


def test_template_list_shows_each_kind_and_language(as_admin, db):
    EmailTemplate.objects.create(kind="reply", language="zh-hans", subject="S", body="B")
    response = as_admin.get(reverse("manage:email_templates"))
    page = response.content.decode()
    for kind in ("ack", "reply", "assigned", "escalated", "sla_warning", "sla_breach_digest"):
        for language in ("en", "zh-hans"):
            assert reverse("manage:email_template_edit", args=[kind, language]) in page
    assert page.count("Customised") == 1


@pytest.mark.parametrize(
    "kind",
    ["sla_warning", "sla_breach", "sla_warning_digest", "sla_breach_digest", "escalated_digest"],
)
def test_sla_and_digest_templates_show_a_preview_and_can_be_saved(as_admin, kind):
    url = reverse("manage:email_template_edit", args=[kind, "en"])
    page = as_admin.get(url).content.decode()
    assert "#1234" in page  # the built-in text rendered with the sample ticket
    response = as_admin.post(
        url, {"action": "save", "subject": "{{ count }} / {{ target }}", "body": "{{ due }}\n"}
    )
    assert response.status_code == 302
    subject, body = outbound.render(kind, "en", {"count": 7, "target": "Resolution", "due": "x"})
    assert (subject, body) == ("7 / Resolution", "x\n")


def test_template_with_a_syntax_error_is_a_form_error(as_admin, db):
    url = reverse("manage:email_template_edit", args=["ack", "en"])
    data = {
        "action": "save",
        "subject": "Ticket {{ ticket.pk|nofilter }}",
        "body": "{% if x %}open",
    }
    response = as_admin.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was saved" in page
    assert page.count("Template error:") == 2
    assert not EmailTemplate.objects.exists()


def test_saved_template_is_used_to_render_mail(as_admin, new_ticket):
    ticket = new_ticket(subject="VPN is down")
    url = reverse("manage:email_template_edit", args=["ack", "en"])
    data = {
        "action": "save",
        "subject": "Got it: #{{ ticket.pk }} {{ ticket.subject }}",
        "body": "Dear {{ recipient_name }},\r\nwe are on it & <fast>.\r\n",
    }
    response = as_admin.post(url, data)
    assert response.status_code == 302
    saved = EmailTemplate.objects.get(kind="ack", language="en")
    assert "\r" not in saved.body
    subject, body = outbound.render("ack", "en", {"ticket": ticket, "recipient_name": "Alice"})
    assert subject == f"Got it: #{ticket.pk} VPN is down"
    assert body == "Dear Alice,\nwe are on it & <fast>.\n"
    # The other language still uses the built-in text.
    other_subject, _body = outbound.render("ack", "zh-hans", {"ticket": ticket})
    assert "Got it" not in other_subject

    page = as_admin.get(url).content.decode()
    assert "Customised" in page
    assert "Got it: #1234 The printer on floor 3 jams" in page  # the preview


def test_preview_renders_unsaved_text(as_admin, db):
    url = reverse("manage:email_template_edit", args=["escalated", "en"])
    data = {"action": "preview", "subject": "To {{ group.name }}", "body": "{{ reason }}"}
    page = as_admin.post(url, data).content.decode()
    assert "To Desktop Support" in page
    assert "The toner unit must be replaced." in page
    assert not EmailTemplate.objects.exists()


def test_reset_restores_the_built_in_text(as_admin, new_ticket):
    ticket = new_ticket(subject="VPN is down")
    context = {"ticket": ticket, "recipient_name": "Alice"}
    default = outbound.render("ack", "en", context)
    services.save_email_template(
        actor=None, kind="ack", language="en", subject="Custom", body="Custom body"
    )
    assert outbound.render("ack", "en", context)[0] == "Custom"
    response = as_admin.post(reverse("manage:email_template_reset", args=["ack", "en"]))
    assert response.status_code == 302
    assert not EmailTemplate.objects.exists()
    assert outbound.render("ack", "en", context) == default


@pytest.mark.parametrize("kind", ["ack", "reply", "assigned", "escalated"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_built_in_text_saved_unchanged_renders_the_same(as_admin, new_ticket, kind, language):
    """The form starts from the built-in text; saving it as it is changes nothing."""
    ticket = new_ticket(subject="VPN is down")
    context = {
        "ticket": ticket,
        "recipient_name": "Alice",
        "author_name": "Bob",
        "comment": ticket.comments.first(),
        "group": ticket.group,
        "reason": "Needs L2",
        "portal_url": "https://desk.example/requests/1/",
        "desk_url": "https://desk.example/desk/tickets/1/",
    }
    default = outbound.render(kind, language, context)
    url = reverse("manage:email_template_edit", args=[kind, language])
    response = as_admin.get(url)
    page = response.content.decode()
    assert "Preview with a sample ticket" in page and "preview failed" not in page
    form = response.context["form"]
    data = {"action": "save", "subject": form.initial["subject"], "body": form.initial["body"]}
    assert as_admin.post(url, data).status_code == 302
    assert EmailTemplate.objects.filter(kind=kind, language=language).exists()
    assert outbound.render(kind, language, context) == default


def test_template_services_refuse_non_administrators(desk):
    from firstline.core.errors import InvalidInput, NotAllowed

    with pytest.raises(NotAllowed):
        services.save_email_template(
            actor=desk.supervisor, kind="ack", language="en", subject="S", body="B"
        )
    with pytest.raises(NotAllowed):
        services.reset_email_template(actor=desk.supervisor, kind="ack", language="en")
    with pytest.raises(InvalidInput):
        services.save_email_template(actor=None, kind="nope", language="en", subject="S", body="B")


def test_pages_are_translated_for_a_chinese_administrator(client, admin, quarantined):
    admin.language = "zh-hans"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    page = client.get(reverse("manage:mail_messages")).content.decode()
    for text in ("邮箱", "收到的邮件", "发件箱", "邮件模板", "隔离区", "已隔离"):
        assert text in page, text
    page = client.get(reverse("manage:home")).content.decode()
    assert "1 封已隔离邮件" in page
