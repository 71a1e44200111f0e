"""IMAP polling by UID: import every message not imported yet, read or unread, and only then
move (or flag, or delete) it on the server, so a crash mid-poll loses and duplicates nothing."""

import contextlib
import imaplib
import logging
import re
import ssl
from datetime import timedelta

from django.db import transaction

from firstline.core import clock

from . import inbound
from .models import InboundMessage, Mailbox

log = logging.getLogger(__name__)

FETCH_BATCH = 50
POLL_LEASE = timedelta(minutes=5)
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


class PollError(Exception):
    pass


def connect(mailbox: Mailbox, timeout: float = 30) -> imaplib.IMAP4:
    host, port = mailbox.imap_host, mailbox.imap_port
    if mailbox.imap_security == Mailbox.Security.SSL:
        client = imaplib.IMAP4_SSL(
            host, port, ssl_context=ssl.create_default_context(), timeout=timeout
        )
    else:
        client = imaplib.IMAP4(host, port, timeout=timeout)
        if mailbox.imap_security == Mailbox.Security.STARTTLS:
            client.starttls(ssl_context=ssl.create_default_context())
    client.login(mailbox.imap_username, mailbox.imap_password)
    return client


def _check(response, what: str):
    status, data = response
    if status != "OK":
        raise PollError(f"{what} failed: {data!r}"[:500])
    return data


def _folder(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def claim(mailbox_id: int) -> Mailbox | None:
    """One poller per mailbox at a time: the one whose update finds the mailbox due."""
    now = clock.now()
    with transaction.atomic():
        mailbox = Mailbox.objects.filter(pk=mailbox_id, is_active=True, imap_enabled=True).first()
        if mailbox is None:
            return None
        due = mailbox.last_polled_at is None or (
            mailbox.last_polled_at + timedelta(seconds=mailbox.poll_interval) <= now
        )
        if not due:
            return None
        won = Mailbox.objects.filter(pk=mailbox.pk, last_polled_at=mailbox.last_polled_at).update(
            last_polled_at=now
        )
    return mailbox if won else None


def poll(mailbox: Mailbox) -> int:
    """Imports new messages of one mailbox; returns how many were new."""
    client = connect(mailbox)
    try:
        _check(client.select(_folder(mailbox.imap_folder)), "SELECT")
        uidvalidity = _uidvalidity(client)
        uids = [int(u) for u in _check(client.uid("SEARCH", None, "ALL"), "SEARCH")[0].split()]
        known = set(
            InboundMessage.objects.filter(
                mailbox=mailbox, imap_uidvalidity=uidvalidity, imap_uid__in=uids
            ).values_list("imap_uid", flat=True)
        )
        imported = 0
        if mailbox.after_import != Mailbox.AfterImport.FLAG:
            for uid in sorted(known):  # imported before a crash, but never moved away
                _after_import(client, mailbox, uid)
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
            _after_import(client, mailbox, uid)  # only now: the message is committed
        if mailbox.after_import != Mailbox.AfterImport.FLAG:
            client.expunge()
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
    Mailbox.objects.filter(pk=mailbox.pk).update(last_poll_error="")
    return imported


def _uidvalidity(client) -> int:
    _, data = client.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    status, data = client.status(_folder("INBOX"), "(UIDVALIDITY)")
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


def _after_import(client, mailbox: Mailbox, uid: int) -> None:
    action = mailbox.after_import
    if action == Mailbox.AfterImport.MOVE:
        target = _folder(mailbox.processed_folder)
        client.create(target)  # fails harmlessly when it exists
        if "MOVE" in client.capabilities:
            _check(client.uid("MOVE", str(uid), target), "MOVE")
            return
        _check(client.uid("COPY", str(uid), target), "COPY")
        _check(client.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)"), "STORE")
    elif action == Mailbox.AfterImport.DELETE:
        _check(client.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)"), "STORE")
    else:
        _check(client.uid("STORE", str(uid), "+FLAGS", "(\\Seen \\Flagged)"), "STORE")


def poll_due() -> list[int]:
    """Polls every mailbox whose interval has passed; errors are kept on the mailbox."""
    polled = []
    for mailbox_id in Mailbox.objects.filter(is_active=True, imap_enabled=True).values_list(
        "pk", flat=True
    ):
        mailbox = claim(mailbox_id)
        if mailbox is None:
            continue
        try:
            poll(mailbox)
        except (imaplib.IMAP4.error, OSError, PollError) as exc:
            log.warning("Polling %s failed: %s", mailbox.address, exc)
            Mailbox.objects.filter(pk=mailbox.pk).update(last_poll_error=str(exc)[:2000])
        polled.append(mailbox_id)
    return polled
