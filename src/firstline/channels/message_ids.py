"""Message-IDs we generate carry the ticket number and an HMAC.

A reply that references one of them provably answers our mail about that ticket, so a forged
References header naming some ticket cannot attach mail to it or pass as an agent's reply.
"""

import hmac
import re
import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

_OURS = re.compile(r"^fl\.(\d+)\.([0-9a-f]{16})\.([0-9a-f]{20})@")


def _signature(ticket_id: int, nonce: str) -> str:
    return salted_hmac("firstline.message-id", f"{ticket_id}.{nonce}").hexdigest()[:20]


def domain() -> str:
    configured = getattr(settings, "EMAIL_MESSAGE_ID_DOMAIN", "")
    return configured or settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "firstline.invalid"


def new_message_id(ticket_id: int | None) -> str:
    """Without the angle brackets, as they are stored."""
    number = ticket_id or 0
    nonce = secrets.token_hex(8)
    return f"fl.{number}.{nonce}.{_signature(number, nonce)}@{domain()}"


def ticket_of(message_id: str) -> int | None:
    """The ticket number our genuine Message-ID names; None for anything else or a forgery."""
    match = _OURS.match(message_id.strip().strip("<>"))
    if not match:
        return None
    number, nonce, signature = int(match[1]), match[2], match[3]
    if not hmac.compare_digest(signature, _signature(number, nonce)):
        return None
    return number or None


def is_ours(message_id: str) -> bool:
    """A Message-ID we generated (signature checked), with or without a ticket."""
    match = _OURS.match(message_id.strip().strip("<>"))
    return bool(match) and hmac.compare_digest(match[3], _signature(int(match[1]), match[2]))
