"""The HTTP inbound endpoint: mail servers push raw messages, and ask what became of them."""

import hashlib

import pytest

from firstline.channels import inbound, services
from firstline.channels.models import InboundMessage
from firstline.tickets.models import Channel, Ticket

from ..factories import AdminFactory, AgentFactory
from .conftest import message_url, set_inbound_limit

pytestmark = pytest.mark.django_db

# Bytes as a real MTA hands them over: CRLF, a Latin-1 body that is not valid UTF-8, trailing
# whitespace; nothing of it may be normalised on the way in.
RAW = (
    b"Received: from mx.unknown.example by mx.firstline.example; Mon, 4 May 2026 09:00:00 +0000\r\n"
    b"From: =?utf-8?q?Ren=C3=A9e_Dupont?= <renee@unknown.example>\r\n"
    b"To: help@firstline.example\r\n"
    b"Subject: =?iso-8859-1?q?Imprimante_cass=E9e?=\r\n"
    b"Message-ID: <raw-1@unknown.example>\r\n"
    b"Date: Mon, 4 May 2026 09:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"L'imprimante du 3\xe8me \xe9tage est cass\xe9e.   \r\n"
    b"\r\n"
)


def test_a_pushed_message_is_stored_byte_for_byte_and_becomes_a_ticket(mailbox, post_mail, client):
    response = post_mail(RAW, mailbox.token)

    assert response.status_code == 202
    body = response.json()
    assert body == {"id": body["id"], "status": "received"}
    stored = InboundMessage.objects.get(pk=body["id"])
    assert bytes(stored.raw) == RAW
    assert stored.sha256 == hashlib.sha256(RAW).hexdigest()
    assert stored.size == len(RAW)
    assert stored.source == "http"

    status = client.get(message_url(body["id"]), HTTP_AUTHORIZATION=f"Bearer {mailbox.token}")
    assert status.status_code == 200
    data = status.json()
    ticket = Ticket.objects.get()
    assert (data["status"], data["result"], data["ticket"]) == ("processed", "created", ticket.pk)
    assert data["sender"] == "renee@unknown.example"
    assert data["message_id"] == "raw-1@unknown.example"
    assert ticket.subject == "Imprimante cassée"
    assert "3ème étage est cassée" in ticket.description
    assert ticket.channel == Channel.EMAIL


def test_an_admin_api_token_may_read_any_message(mailbox, post_mail, api):
    pk = post_mail(RAW, mailbox.token).json()["id"]

    response = api(AdminFactory()).get(message_url(pk, prefix=""))

    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    assert response.json()["ticket"] == Ticket.objects.get().pk


def test_another_mailboxs_token_cannot_read_the_message(mailbox, post_mail, client):
    pk = post_mail(RAW, mailbox.token).json()["id"]
    _, other_token = services.create_mailbox(actor=None, address="sales@firstline.example")

    response = client.get(message_url(pk), HTTP_AUTHORIZATION=f"Bearer {other_token}")

    assert response.status_code == 404


def test_a_non_admin_user_token_is_refused(mailbox, post_mail, api, desk):
    pk = post_mail(RAW, mailbox.token).json()["id"]
    for user in (desk.alice, AgentFactory(), desk.supervisor):
        assert api(user).get(message_url(pk, prefix="")).status_code == 403


def test_a_user_token_cannot_push_mail_even_an_admins(mailbox, api, desk):
    for user in (desk.alice, AdminFactory()):
        response = api(user).client.generic(
            "POST", "/api/v1/channels/email/inbound", RAW, content_type="message/rfc822"
        )
        assert response.status_code == 403
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("header", ["Bearer flm_not-the-token", "Bearer nonsense", "", "Basic x"])
def test_a_wrong_or_missing_token_is_401(mailbox, client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    posted = client.generic(
        "POST", "/api/v1/channels/email/inbound", RAW, content_type="message/rfc822", **extra
    )
    read = client.get(message_url(1), **extra)

    assert (posted.status_code, read.status_code) == (401, 401)
    assert not InboundMessage.objects.exists()


def test_an_inactive_mailboxs_token_no_longer_works(mailbox, post_mail):
    mailbox.is_active = False
    mailbox.save()

    assert post_mail(RAW, mailbox.token).status_code == 401
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=x"])
def test_a_wrong_content_type_is_415(mailbox, post_mail, content_type):
    response = post_mail(RAW, mailbox.token, content_type=content_type)

    assert response.status_code == 415
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("raw", [b"", b"\r\n  \r\n"])
def test_an_empty_body_is_422(mailbox, post_mail, raw):
    response = post_mail(raw, mailbox.token)

    assert response.status_code == 422
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("request_limit_too", [False, True], ids=["limit", "as-configured"])
def test_a_message_over_the_size_limit_is_413_and_not_stored(
    mailbox, post_mail, settings, mail, request_limit_too
):
    set_inbound_limit(settings, 2000, request_limit_too=request_limit_too)
    small, big = mail(body="short\n"), mail(body="x" * 3000 + "\n")

    assert post_mail(big, mailbox.token).status_code == 413
    assert not InboundMessage.objects.exists()
    assert post_mail(small, mailbox.token).status_code == 202


def test_posting_the_same_bytes_twice_gives_the_same_id_and_one_ticket(mailbox, post_mail):
    first = post_mail(RAW, mailbox.token)
    second = post_mail(RAW, mailbox.token)

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json()
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 1


def test_a_failure_quarantines_the_message_and_requeue_processes_it_after_the_fix(
    mailbox, post_mail, monkeypatch, django_capture_on_commit_callbacks, client
):
    def broken(*args, **kwargs):
        raise RuntimeError("the ticket service is down")

    monkeypatch.setattr(inbound, "_create", broken)

    pk = post_mail(RAW, mailbox.token).json()["id"]

    message = InboundMessage.objects.get(pk=pk)
    assert message.status == InboundMessage.Status.QUARANTINED
    assert "RuntimeError" in message.error and "the ticket service is down" in message.error
    assert bytes(message.raw) == RAW
    assert not Ticket.objects.exists()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {mailbox.token}"}
    assert client.get(message_url(pk), **auth).json()["status"] == "quarantined"

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        inbound.requeue(message=message)

    message.refresh_from_db()
    ticket = Ticket.objects.get()
    assert (message.status, message.result, message.ticket) == ("processed", "created", ticket)
    assert message.error == ""
    assert client.get(message_url(pk), **auth).json()["ticket"] == ticket.pk
