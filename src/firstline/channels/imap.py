"""IMAP polling by UID: import every message not imported yet, read or unread, and only then
move (or flag, or delete) it on the server, so a crash mid-poll loses and duplicates nothing."""

import base64
import contextlib
import imaplib
import logging
import re
import ssl
from datetime import timedelta

from django.db.models import Q

from firstline.core import clock

from . import inbound
from .models import InboundMessage, Mailbox

log = logging.getLogger(__name__)

POLL_LEASE = timedelta(minutes=10)  # a poller that died frees the mailbox after this
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


class PollError(Exception):
    pass


def connect(mailbox: Mailbox, timeout: float = 30) -> imaplib.IMAP4:
    host, port = mailbox.imap_host, mailbox.imap_port
    context = ssl.create_default_context()
    if mailbox.imap_security == Mailbox.Security.SSL:
        client = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
    else:
        client = imaplib.IMAP4(host, port, timeout=timeout)
        if mailbox.imap_security == Mailbox.Security.STARTTLS:
            client.starttls(ssl_context=context)
    client.login(mailbox.imap_username, mailbox.imap_password)
    # Servers announce extensions such as MOVE and UIDPLUS only after login.
    status, data = client.capability()
    if status == "OK" and data and data[-1]:
        client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())
    return client


def _check(response, what: str):
    status, data = response
    if status != "OK":
        raise PollError(f"{what} failed: {data!r}"[:500])
    return data


def encode_folder(name: str) -> str:
    """A folder name as IMAP wants it: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out, pending = [], []

    def flush():
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    encoded = "".join(out)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def claim(mailbox_id: int) -> Mailbox | None:
    """One poller per mailbox at a time, and only when its interval has passed."""
    now = clock.now()
    mailbox = Mailbox.objects.filter(pk=mailbox_id, is_active=True, imap_enabled=True).first()
    if mailbox is None:
        return None
    if (
        mailbox.last_polled_at
        and mailbox.last_polled_at + timedelta(seconds=mailbox.poll_interval) > now
    ):
        return None
    won = (
        Mailbox.objects.filter(pk=mailbox.pk, last_polled_at=mailbox.last_polled_at)
        .filter(Q(polling_until__isnull=True) | Q(polling_until__lt=now))
        .update(last_polled_at=now, polling_until=now + POLL_LEASE)
    )
    return mailbox if won else None


def _search(client, criteria: str) -> list[int]:
    return [int(u) for u in _check(client.uid("SEARCH", None, criteria), "SEARCH")[0].split()]


def poll(mailbox: Mailbox) -> int:
    """Imports new messages of one mailbox; returns how many were new."""
    client = connect(mailbox)
    try:
        _check(client.select(encode_folder(mailbox.imap_folder)), "SELECT")
        uidvalidity = _uidvalidity(client, mailbox)
        uids = _search(client, "UNDELETED")
        known = set(
            InboundMessage.objects.filter(
                mailbox=mailbox, imap_uidvalidity=uidvalidity, imap_uid__in=uids
            ).values_list("imap_uid", flat=True)
        )
        # Imported before a crash, but never moved or flagged: finish that first.
        leftovers = known
        if mailbox.after_import == Mailbox.AfterImport.FLAG:
            leftovers = known & set(_search(client, "UNFLAGGED"))
        done = [uid for uid in sorted(leftovers) if _after_import(client, mailbox, uid)]
        imported = 0
        for uid in [u for u in uids if u not in known]:
            raw = _fetch(client, uid)
            if raw is None:
                continue
            _, new = inbound.receive_message(
                mailbox=mailbox,
                raw=raw,
                source=InboundMessage.Source.IMAP,
                imap_uidvalidity=uidvalidity,
                imap_uid=uid,
            )
            imported += int(new)
            if _after_import(client, mailbox, uid):  # only now: the message is committed
                done.append(uid)
        _expunge(client, mailbox, done)
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
    Mailbox.objects.filter(pk=mailbox.pk).update(last_poll_error="", polling_until=None)
    return imported


def _uidvalidity(client, mailbox: Mailbox) -> int:
    _, data = client.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    status, data = client.status(encode_folder(mailbox.imap_folder), "(UIDVALIDITY)")
    match = _UIDVALIDITY.search(data[0] if data else b"")
    if status != "OK" or not match:
        raise PollError("The server did not tell the folder's UIDVALIDITY.")
    return int(match[1])


def _fetch(client, uid: int) -> bytes | None:
    data = _check(client.uid("FETCH", str(uid), "(BODY.PEEK[])"), "FETCH")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None  # expunged meanwhile by someone else


def _after_import(client, mailbox: Mailbox, uid: int) -> bool:
    """Moves, deletes or flags one message; False if it vanished meanwhile (someone else
    expunged it: nothing left to do)."""
    action, number = mailbox.after_import, str(uid)
    if action == Mailbox.AfterImport.MOVE:
        target = encode_folder(mailbox.processed_folder)
        client.create(target)  # answers NO when it exists: fine
        if "MOVE" in client.capabilities:
            return _done(client.uid("MOVE", number, target), "MOVE")
        if not _done(client.uid("COPY", number, target), "COPY"):
            return False
    if action in (Mailbox.AfterImport.MOVE, Mailbox.AfterImport.DELETE):
        return _done(client.uid("STORE", number, "+FLAGS", "(\\Deleted)"), "STORE")
    return _done(client.uid("STORE", number, "+FLAGS", "(\\Seen \\Flagged)"), "STORE")


def _done(response, what: str) -> bool:
    status, data = response
    if status == "OK":
        return True
    if b"EXPUNGE" in b" ".join(d for d in data if isinstance(d, bytes)).upper():
        return False
    raise PollError(f"{what} failed: {data!r}"[:500])


def _expunge(client, mailbox: Mailbox, uids: list[int]) -> None:
    """Removes only the messages this poller marked, where the server allows (UIDPLUS)."""
    if mailbox.after_import == Mailbox.AfterImport.FLAG or not uids:
        return
    if "MOVE" in client.capabilities and mailbox.after_import == Mailbox.AfterImport.MOVE:
        return
    if "UIDPLUS" in client.capabilities:
        client.uid("EXPUNGE", ",".join(str(u) for u in uids))
    else:
        client.expunge()


def poll_due() -> list[int]:
    """Polls every mailbox whose interval has passed; an error stays on its mailbox."""
    polled = []
    mailboxes = Mailbox.objects.filter(is_active=True, imap_enabled=True).values_list(
        "pk", flat=True
    )
    for mailbox_id in mailboxes:
        mailbox = claim(mailbox_id)
        if mailbox is None:
            continue
        try:
            poll(mailbox)
        except Exception as exc:  # one broken mailbox must not stop the others
            log.warning("Polling %s failed: %s", mailbox.address, exc)
            Mailbox.objects.filter(pk=mailbox.pk).update(
                last_poll_error=f"{type(exc).__name__}: {exc}"[:2000], polling_until=None
            )
        polled.append(mailbox_id)
    return polled
