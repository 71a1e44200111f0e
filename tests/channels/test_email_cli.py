"""The command line: creating a mailbox, and `mailgate`, the pipe an MTA hands mail to."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from firstline.channels import services
from firstline.channels.models import InboundMessage, Mailbox
from firstline.tickets.models import Ticket

from .conftest import INBOUND_URL, build_mail, free_port, set_inbound_limit

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"


def create_mailbox(*args) -> str:
    out = io.StringIO()
    call_command("create_mailbox", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_mailbox_prints_a_token_that_opens_the_inbound_endpoint(
    desk, client, django_capture_on_commit_callbacks
):
    output = create_mailbox("Help@X.example", "--group", "l1", "--name", "IT help")

    token = output.strip()
    assert output.count(token) == 1 and token.startswith(services.TOKEN_PREFIX)
    mailbox = Mailbox.objects.get()
    assert (mailbox.address, mailbox.group, mailbox.name) == ("help@x.example", desk.l1, "IT help")
    assert mailbox.inbound_token_digest == services.token_digest(token)
    assert token not in str(Mailbox.objects.values().get())  # only the digest is kept
    with django_capture_on_commit_callbacks(execute=True):
        response = client.generic(
            "POST",
            INBOUND_URL,
            build_mail(to="help@x.example"),
            content_type="message/rfc822",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    assert response.status_code == 202
    assert Ticket.objects.get().group == desk.l1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ("help@x.example", "--group", "nope"),
        ("help@x.example", "--organization", "nope"),
        ("not-an-address",),
    ],
)
def test_create_mailbox_refuses_bad_input_with_a_command_error(desk, args):
    with pytest.raises(CommandError):
        create_mailbox(*args)
    assert not Mailbox.objects.exists()


@pytest.mark.django_db
def test_create_mailbox_refuses_an_existing_address(desk):
    create_mailbox("help@x.example")
    with pytest.raises(CommandError, match="already exists"):
        create_mailbox("HELP@x.example")
    assert Mailbox.objects.count() == 1


def mailgate(url: str, token: str, raw: bytes) -> subprocess.CompletedProcess:
    python = PYTHON if PYTHON.exists() else Path(sys.executable)
    return subprocess.run(
        [str(python), "-m", "firstline", "mailgate", "--url", url, "--token", token],
        input=raw,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "firstline.settings"},
        timeout=60,
        check=False,
    )


@pytest.fixture
def gate_mailbox(transactional_db):
    mailbox, token = services.create_mailbox(actor=None, address="help@firstline.example")
    mailbox.token = token
    return mailbox


def test_mailgate_delivers_a_message_from_stdin(live_server, gate_mailbox):
    raw = build_mail(sender="dana@unknown.example", subject="Sent through the pipe")

    result = mailgate(live_server.url, gate_mailbox.token, raw)

    assert result.returncode == 0, result.stderr
    message = InboundMessage.objects.get()
    assert bytes(message.raw) == raw
    assert message.mailbox == gate_mailbox
    assert Ticket.objects.get().subject == "Sent through the pipe"


def test_mailgate_asks_the_mta_to_retry_when_firstline_is_unreachable():
    result = mailgate(f"http://127.0.0.1:{free_port()}", "flm_some-token", build_mail())

    assert result.returncode == 75, result.stderr


def test_mailgate_with_a_bad_token_is_a_usage_error(live_server, gate_mailbox):
    result = mailgate(live_server.url, "flm_wrong-token", build_mail())

    assert result.returncode == 64, result.stderr
    assert not InboundMessage.objects.exists()


def run_mailgate_in_process(monkeypatch, raw: bytes, **options) -> int:
    """The same command without a new interpreter: for the exits that need no real pipe."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    with pytest.raises(SystemExit) as exited:
        call_command("mailgate", stdout=io.StringIO(), stderr=io.StringIO(), **options)
    return exited.value.code


def test_mailgate_without_a_token_is_a_usage_error(monkeypatch):
    code = run_mailgate_in_process(monkeypatch, build_mail(), url="http://127.0.0.1:9", token="")

    assert code == 64


@pytest.mark.parametrize("request_limit_too", [False, True], ids=["limit", "as-configured"])
def test_mailgate_reports_a_message_that_can_never_be_taken(
    live_server, gate_mailbox, settings, monkeypatch, request_limit_too
):
    """65 (EX_DATAERR) makes the MTA bounce it at once instead of retrying for days."""
    set_inbound_limit(settings, 500, request_limit_too=request_limit_too)
    raw = build_mail(body="x" * 1000 + "\n")

    code = run_mailgate_in_process(monkeypatch, raw, url=live_server.url, token=gate_mailbox.token)

    assert code == 65
    assert not InboundMessage.objects.exists()
