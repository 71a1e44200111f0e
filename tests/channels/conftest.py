"""Shared fixtures of the e-mail channel tests: a mailbox, raw messages, a real SMTP server."""

import email
import itertools
import socket
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from firstline.channels import inbound, services
from firstline.channels.models import InboundMessage
from firstline.core import clock

MAILBOX_ADDRESS = "help@firstline.example"
INBOUND_URL = "/api/v1/channels/email/inbound"
_counter = itertools.count(1)


def free_port() -> int:
    """A port nothing listens on (right now): for the SMTP server, or as a closed port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def message_url(pk: int, *, prefix: str = "/api/v1/") -> str:
    return f"{prefix}channels/email/messages/{pk}"


def set_inbound_limit(settings, limit: int, *, request_limit_too: bool) -> None:
    """A small INBOUND_MAX_MESSAGE_SIZE; with `request_limit_too`, Django's own request body
    limit moves with it, keeping the headroom settings.py gives it (today: none)."""
    request_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if request_limit_too and request_limit is not None:
        headroom = request_limit - settings.INBOUND_MAX_MESSAGE_SIZE
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = limit + headroom
    settings.INBOUND_MAX_MESSAGE_SIZE = limit


def build_mail(
    *,
    sender: str = "Dana Scully <dana@unknown.example>",
    to: str = MAILBOX_ADDRESS,
    subject: str = "Printer on floor 3 jams",
    body: str = "The printer on floor 3 jams on every page.\n",
    cc: tuple[str, ...] | list[str] = (),
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | list[str] | None = None,
    headers: dict[str, str] | None = None,
    attachments: tuple | list = (),
) -> bytes:
    """A raw RFC 5322 message (CRLF line ends) as a mail client would send it.

    Ids are given without angle brackets; `message_id=""` leaves the header out."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(clock.now())
    if message_id is None:
        message_id = f"m{next(_counter)}.{id(msg)}@mail.example"
    if message_id:
        msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        refs = [references] if isinstance(references, str) else references
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, content, content_type in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=policy.SMTP)


@pytest.fixture
def mail():
    """`mail(sender=..., subject=..., ...)` -> raw bytes; see `build_mail`."""
    return build_mail


@pytest.fixture
def mailbox(desk):
    """help@firstline.example, routing to the L1 group; `mailbox.token` is its inbound token."""
    box, token = services.create_mailbox(
        actor=None, address=MAILBOX_ADDRESS, name="Help desk", group=desk.l1
    )
    box.token = token
    return box


@pytest.fixture
def deliver(mailbox, django_capture_on_commit_callbacks):
    """Stores raw bytes as the HTTP endpoint does and runs what commit starts (processing,
    then the outbox); returns the InboundMessage as it ended."""

    def deliver(raw: bytes, *, to=None) -> InboundMessage:
        with django_capture_on_commit_callbacks(execute=True):
            message, _ = inbound.receive_message(mailbox=to or mailbox, raw=raw, source="http")
        return InboundMessage.objects.get(pk=message.pk)

    return deliver


@pytest.fixture
def post_mail(client: Client, django_capture_on_commit_callbacks):
    """POSTs raw bytes to the inbound endpoint (running the tasks commit starts)."""

    def post(raw: bytes, token: str, content_type: str = "message/rfc822"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.generic(
                "POST",
                INBOUND_URL,
                raw,
                content_type=content_type,
                CONTENT_TYPE=content_type,  # the test client leaves it out of an empty body
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )

    return post


class SmtpServer:
    """What a real SMTP server received: (envelope, raw bytes) for each message."""

    def __init__(self, port: int):
        self.port = port
        self.received: list = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope, envelope.original_content or envelope.content))
        return "250 2.0.0 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(raw, policy=policy.default) for _, raw in self.received]


@pytest.fixture
def smtp_server(settings):
    """aiosmtpd on 127.0.0.1, and Django's SMTP backend pointed at it."""
    port = free_port()
    server = SmtpServer(port)
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        controller.stop()
