"""IMAP polling against a real Dovecot (tests/channels/imap_server.py starts a private one).

Most tests run in the test transaction (fast on PostgreSQL too); the `worker` fixture then runs
the processing tasks the poll enqueued on commit, as the worker's commits would. The tests with
threads use real transactions.
"""

import base64
import hashlib
import imaplib
import itertools
import os
import socket
import threading
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formatdate

import pytest
from django.db import OperationalError, connection
from django.db.models import QuerySet

from firstline.channels import imap
from firstline.channels.models import InboundMessage, Mailbox
from firstline.channels.services import create_mailbox
from firstline.tickets.models import Ticket

from .. import markers
from . import imap_server as dovecot

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def imap_server():
    """A Dovecot of our own on 127.0.0.1 for the session: .host, .port, .add_user()."""
    if dovecot.find_dovecot() is None:
        if os.environ.get("CI"):
            pytest.fail(
                "Dovecot is not installed but CI must run the IMAP tests: "
                "apt-get install dovecot-imapd (.ci/run does)."
            )
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd to run IMAP tests)")
    server = dovecot.start()
    yield server
    server.stop()


class Account:
    """A Dovecot user, seen from the outside: what a mail client would do to the mailbox."""

    def __init__(self, server: dovecot.DovecotServer):
        self.server = server
        self.username, self.password = server.add_user()

    def connect(self) -> imaplib.IMAP4:
        return self.server.client(self.username, self.password)

    def append(self, *raws: bytes, seen: bool = False, folder: str = "INBOX") -> None:
        """Delivers the messages (read or unread) the way a mail client files them: APPEND."""
        client = self.connect()
        try:
            client.create(folder)  # NO when it exists
            for raw in raws:
                status, data = client.append(folder, "(\\Seen)" if seen else None, None, raw)
                assert status == "OK", data
        finally:
            client.logout()

    def messages(self, folder: str = "INBOX") -> list[tuple[set[str], bytes]]:
        """(flags, raw bytes) of every message in the folder, \\Deleted ones included."""
        client = self.connect()
        try:
            status, data = client.select(folder, readonly=True)
            if status != "OK":
                return []
            status, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
            assert status == "OK", data
        finally:
            client.logout()
        return [
            ({f.decode() for f in imaplib.ParseFlags(item[0])}, item[1])
            for item in data
            if isinstance(item, tuple)
        ]

    def raws(self, folder: str = "INBOX") -> list[bytes]:
        """The messages in the folder, sorted; any \\Deleted one fails the test."""
        messages = self.messages(folder)
        assert not [flags for flags, _ in messages if "\\Deleted" in flags], messages
        return sorted(raw for _, raw in messages)

    def uidvalidity(self, folder: str) -> int:
        client = self.connect()
        try:
            status, data = client.status(folder, "(UIDVALIDITY)")
            assert status == "OK", data
        finally:
            client.logout()
        return int(data[0].split(b"UIDVALIDITY ")[1].rstrip(b")"))

    def recreate(self, folder: str) -> None:
        """Delete and create the folder again: the server gives it a new UIDVALIDITY."""
        client = self.connect()
        try:
            assert client.delete(folder)[0] == "OK"
            assert client.create(folder)[0] == "OK"
        finally:
            client.logout()


def mail(subject: str | None = None, *, message_id: str | None = None, extra: str = "") -> bytes:
    n = next(_numbers)
    msg = EmailMessage()
    msg["From"] = f"Requester {n} <requester{n}@example.org>"
    msg["To"] = "help@firstline.test"
    msg["Subject"] = subject or f"Printer {n} prints blank pages"
    msg["Date"] = formatdate(1_767_000_000 + n, usegmt=True)
    msg["Message-ID"] = message_id or f"<imap-test-{n}@example.org>"
    if extra:
        msg["X-Extra"] = extra
    msg.set_content(f"Printer number {n} prints only blank pages since this morning.\n")
    return msg.as_bytes(policy=policy.SMTP)


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@pytest.fixture
def account(imap_server):
    return Account(imap_server)


@pytest.fixture
def make_mailbox(imap_server):
    def make(account: Account, *, after_import="move", password=None, port=None, **settings):
        mailbox, _ = create_mailbox(
            actor=None,
            address=f"{account.username}@firstline.test",
            imap_enabled=True,
            imap_host=imap_server.host,
            imap_port=port or imap_server.port,
            imap_security="plain",
            imap_username=account.username,
            imap_password=account.password if password is None else password,
            after_import=after_import,
            **settings,
        )
        return mailbox

    return make


class Worker:
    """Polls like the worker: each message the poll stores is committed and its processing task
    enqueued, even when the poll dies afterwards (pytest-django captures the on-commit
    callbacks of the test transaction; the tasks run at the end of the poll)."""

    def __init__(self, capture):
        self.capture = capture

    def _run(self, function, *args):
        error = None
        with self.capture(execute=True):
            try:
                result = function(*args)
            except Exception as exc:  # the stored messages are committed all the same
                error = exc
        if error is not None:
            raise error
        return result

    def poll(self, mailbox: Mailbox) -> int:
        return self._run(imap.poll, mailbox)

    def poll_due(self) -> list[int]:
        return self._run(imap.poll_due)


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    return Worker(django_capture_on_commit_callbacks)


def assert_imported_once(mailbox: Mailbox, raws: list[bytes]) -> None:
    """One stored message per distinct message, each turned into its own ticket."""
    messages = list(InboundMessage.objects.filter(mailbox=mailbox))
    assert sorted(m.sha256 for m in messages) == sorted(sha(r) for r in raws)
    assert {m.status for m in messages} == {InboundMessage.Status.PROCESSED}
    assert {m.result for m in messages} == {"created"}
    assert all(m.source == InboundMessage.Source.IMAP and m.imap_uid for m in messages)
    tickets = {m.ticket_id for m in messages}
    assert None not in tickets
    assert len(tickets) == len(raws) == Ticket.objects.filter(pk__in=tickets).count()
    assert Ticket.objects.count() == InboundMessage.objects.filter(result="created").count()


# Importing, then moving / flagging / deleting.


def test_read_and_unread_messages_are_imported_once_then_moved(account, make_mailbox, worker):
    mailbox = make_mailbox(account, after_import="move")
    raws = [mail(), mail(), mail()]
    account.append(raws[0], seen=True)
    account.append(raws[1])
    account.append(raws[2], seen=True)

    assert worker.poll(mailbox) == 3

    assert_imported_once(mailbox, raws)
    subjects = set(Ticket.objects.values_list("subject", flat=True))
    assert subjects == {message_from_bytes(r)["Subject"] for r in raws}
    assert account.messages("INBOX") == []  # moved and expunged
    assert account.raws("Processed") == sorted(raws)  # byte for byte, once each

    assert worker.poll(mailbox) == 0
    assert_imported_once(mailbox, raws)
    assert account.raws("Processed") == sorted(raws)

    # New mail after the first poll: only that is imported.
    later = mail()
    account.append(later)
    assert worker.poll(mailbox) == 1
    assert_imported_once(mailbox, [*raws, later])
    assert account.raws("Processed") == sorted([*raws, later])


def test_flag_mode_leaves_the_messages_read_and_flagged(account, make_mailbox, worker):
    mailbox = make_mailbox(account, after_import="flag")
    raws = [mail(), mail()]
    account.append(raws[0])
    account.append(raws[1], seen=True)

    assert worker.poll(mailbox) == 2
    assert worker.poll(mailbox) == 0

    assert_imported_once(mailbox, raws)
    inbox = account.messages("INBOX")
    assert sorted(raw for _, raw in inbox) == sorted(raws)
    for flags, _ in inbox:
        assert {"\\Seen", "\\Flagged"} <= flags
        assert "\\Deleted" not in flags


def test_delete_mode_empties_the_folder(account, make_mailbox, worker):
    mailbox = make_mailbox(account, after_import="delete")
    raws = [mail(), mail()]
    account.append(raws[0], seen=True)
    account.append(raws[1])

    assert worker.poll(mailbox) == 2
    assert worker.poll(mailbox) == 0

    assert_imported_once(mailbox, raws)
    assert account.messages("INBOX") == []
    assert account.messages("Processed") == []


def test_two_copies_of_the_same_message_make_one_ticket(account, make_mailbox, worker):
    mailbox = make_mailbox(account, after_import="move")
    raw = mail()
    account.append(raw)
    account.append(raw, seen=True)  # delivered twice

    assert worker.poll(mailbox) == 1

    assert_imported_once(mailbox, [raw])
    assert account.messages("INBOX") == []
    assert account.raws("Processed") == [raw, raw]  # both copies kept, neither lost


# Crashes and concurrent pollers.


def _crash_on_call(monkeypatch, n: int) -> None:
    """The n-th _after_import dies (the worker is killed) after the message was committed."""
    real, calls = imap._after_import, itertools.count(1)

    def after_import(*args, **kwargs):
        if next(calls) == n:
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(imap, "_after_import", after_import)


def visible(account: Account, folder: str = "INBOX") -> list[bytes]:
    """What a mail client shows: the messages not marked \\Deleted."""
    return sorted(raw for flags, raw in account.messages(folder) if "\\Deleted" not in flags)


def test_a_crash_before_the_first_move_loses_and_duplicates_nothing(
    account, make_mailbox, monkeypatch, worker
):
    mailbox = make_mailbox(account, after_import="move")
    raws = [mail(), mail(), mail()]
    account.append(*raws)

    with monkeypatch.context() as m:
        _crash_on_call(m, 1)
        with pytest.raises(RuntimeError, match="simulated crash"):
            worker.poll(mailbox)

    # The first message is stored and processed, though still on the server.
    assert_imported_once(mailbox, raws[:1])
    assert account.raws("INBOX") == sorted(raws)

    assert worker.poll(mailbox) == 2  # the retry finishes the move of the first one

    assert_imported_once(mailbox, raws)
    assert account.messages("INBOX") == []
    assert account.raws("Processed") == sorted(raws)


def test_a_crash_between_two_moves_leaves_one_copy_of_each_message(
    account, make_mailbox, monkeypatch, worker
):
    mailbox = make_mailbox(account, after_import="move")
    raws = [mail(), mail(), mail()]
    account.append(*raws)

    with monkeypatch.context() as m:
        _crash_on_call(m, 2)  # the first message was moved, the second committed only
        with pytest.raises(RuntimeError, match="simulated crash"):
            worker.poll(mailbox)
    assert_imported_once(mailbox, raws[:2])
    assert visible(account, "Processed") == raws[:1]

    assert worker.poll(mailbox) == 1

    assert_imported_once(mailbox, raws)
    assert account.messages("INBOX") == []
    assert account.raws("Processed") == sorted(raws)


def test_a_crash_before_a_message_is_stored_loses_nothing(
    account, make_mailbox, monkeypatch, worker
):
    mailbox = make_mailbox(account, after_import="move")
    raws = [mail(), mail()]
    account.append(*raws)
    real, calls = imap.inbound.receive_message, itertools.count(1)

    def receive_message(**kwargs):
        if next(calls) == 2:
            raise RuntimeError("simulated crash")
        return real(**kwargs)

    with monkeypatch.context() as m:
        m.setattr(imap.inbound, "receive_message", receive_message)
        with pytest.raises(RuntimeError, match="simulated crash"):
            worker.poll(mailbox)
    assert_imported_once(mailbox, raws[:1])
    assert visible(account, "INBOX") == raws[1:]  # not stored, so not moved

    assert worker.poll(mailbox) == 1
    assert_imported_once(mailbox, raws)
    assert account.messages("INBOX") == []
    assert account.raws("Processed") == sorted(raws)


def test_a_crash_before_flagging_is_made_good_by_the_next_poll(
    account, make_mailbox, monkeypatch, worker
):
    mailbox = make_mailbox(account, after_import="flag")
    raws = [mail(), mail()]
    account.append(*raws)

    with monkeypatch.context() as m:
        _crash_on_call(m, 1)
        with pytest.raises(RuntimeError, match="simulated crash"):
            worker.poll(mailbox)
    assert worker.poll(mailbox) == 1

    assert_imported_once(mailbox, raws)
    for flags, _ in account.messages("INBOX"):
        assert {"\\Seen", "\\Flagged"} <= flags


def _run_between(monkeypatch, target, name: str, rival) -> None:
    """The first time the poller calls target.name, `rival` runs there: another worker polling
    the same mailbox at the worst moment (same thread, so it works on SQLite too)."""
    real, done = getattr(target, name), []

    def wrapper(*args, **kwargs):
        if name == "_fetch" and not done:  # before the first fetch
            done.append(True)
            rival()
        result = real(*args, **kwargs)
        if name != "_fetch" and not done:  # after the first stored message
            done.append(True)
            rival()
        return result

    monkeypatch.setattr(target, name, wrapper)


@pytest.mark.parametrize(
    ("target", "name"),
    [
        pytest.param(imap, "_fetch", id="between-search-and-fetch"),
        pytest.param(imap.inbound, "receive_message", id="between-store-and-move"),
    ],
)
def test_a_second_poller_in_the_middle_of_a_poll_changes_nothing(
    account, make_mailbox, monkeypatch, target, name, worker
):
    mailbox = make_mailbox(account, after_import="move")
    raws = [mail(), mail(), mail()]
    account.append(*raws)
    rival_imported = []
    with monkeypatch.context() as m:
        _run_between(m, target, name, lambda: rival_imported.append(imap.poll(mailbox)))
        first_imported = worker.poll(mailbox)

    assert first_imported + sum(rival_imported) == 3
    assert_imported_once(mailbox, raws)
    assert account.messages("INBOX") == []
    assert account.raws("Processed") == sorted(raws)


needs_concurrent_writers = markers.needs_concurrent_writers(
    "the same-thread interleavings above cover SQLite"
)


@needs_concurrent_writers
@pytest.mark.django_db(transaction=True)
def test_two_pollers_at_once_import_each_message_once(account, make_mailbox, worker):
    mailbox = make_mailbox(account, after_import="move")
    raws = [mail() for _ in range(6)]
    account.append(*raws)
    barrier, results, errors = threading.Barrier(2), [], []

    def poller():
        try:
            barrier.wait(timeout=10)
            results.append(imap.poll(Mailbox.objects.get(pk=mailbox.pk)))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # A poller that finds a message gone meanwhile treats it as done; the database has each
    # message once whatever the timing.
    assert errors == []
    assert worker.poll(mailbox) == 0
    assert sum(results) <= len(raws)
    assert_imported_once(mailbox, raws)
    assert account.messages("INBOX") == []
    # Nothing lost. (Both pollers may copy a message before either expunges it: keeping a
    # second poller from starting at all is claim()'s job, tested below.)
    assert {raw for _, raw in account.messages("Processed")} == set(raws)


# UIDVALIDITY


def test_a_new_uidvalidity_does_not_import_the_same_messages_again(account, make_mailbox, worker):
    mailbox = make_mailbox(account, after_import="flag", imap_folder="Support")
    raws = [mail(), mail()]
    account.append(*raws, folder="Support")
    assert worker.poll(mailbox) == 2
    before = account.uidvalidity("Support")

    # The folder is rebuilt (server migration, restored backup): same mail, new UIDs.
    account.recreate("Support")
    assert account.uidvalidity("Support") != before
    rewritten = raws[1].replace(b"\r\n\r\n", b"\r\nX-Migrated: yes\r\n\r\n", 1)
    new = mail()
    account.append(raws[0], rewritten, new, folder="Support")

    assert worker.poll(mailbox) == 2  # stored: the rewritten copy and the new message
    assert worker.poll(mailbox) == 0

    # The identical copy is recognised by its bytes, the rewritten one by its Message-ID.
    assert Ticket.objects.count() == 3
    stored = InboundMessage.objects.filter(mailbox=mailbox)
    assert stored.filter(status=InboundMessage.Status.PROCESSED).count() == 3
    assert stored.filter(sha256=sha(raws[0])).count() == 1
    copy = stored.get(sha256=sha(rewritten))
    assert (copy.status, copy.result) == (InboundMessage.Status.IGNORED, "duplicate")
    assert stored.count() == 4
    for flags, _ in account.messages("Support"):
        assert {"\\Seen", "\\Flagged"} <= flags


def test_after_a_new_uidvalidity_known_messages_are_not_downloaded_on_every_poll(
    account, make_mailbox, worker, monkeypatch
):
    mailbox = make_mailbox(account, after_import="flag", imap_folder="Support")
    raw = mail()
    account.append(raw, folder="Support")
    worker.poll(mailbox)
    account.recreate("Support")
    account.append(raw, folder="Support")
    assert worker.poll(mailbox) == 0  # recognised by its bytes, flagged

    fetched, real_fetch = [], imap._fetch
    monkeypatch.setattr(
        imap, "_fetch", lambda client, uid: fetched.append(uid) or real_fetch(client, uid)
    )
    assert worker.poll(mailbox) == 0
    assert fetched == []


# poll_due, errors, claim


def imap_utf7(name: str) -> str:
    """A folder name as IMAP spells it on the wire: modified UTF-7 (RFC 3501, 5.1.3)."""
    out, pending = [], []

    def flush():
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def test_a_non_ascii_processed_folder_works_and_never_stops_poll_due(
    account, make_mailbox, imap_server, worker
):
    chinese = make_mailbox(account, processed_folder="已处理")  # polled first: "pool..." < "z"
    other_account = Account(imap_server)
    other = make_mailbox(other_account)
    Mailbox.objects.filter(pk=other.pk).update(address="zz-" + other.address)
    raws = [mail()]
    account.append(*raws)
    other_raw = mail()
    other_account.append(other_raw)

    assert sorted(worker.poll_due()) == sorted([chinese.pk, other.pk])

    assert_imported_once(chinese, raws)
    assert other_account.raws("Processed") == [other_raw]
    assert account.raws('"' + imap_utf7("已处理") + '"') == raws


def test_poll_due_records_errors_and_carries_on(account, make_mailbox, imap_server, worker):
    wrong_account = Account(imap_server)
    wrong = make_mailbox(wrong_account, password="not-the-password")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    refused = make_mailbox(Account(imap_server), port=closed_port)
    good = make_mailbox(account)
    raw = mail()
    account.append(raw)

    polled = worker.poll_due()

    assert sorted(polled) == sorted([wrong.pk, refused.pk, good.pk])
    wrong.refresh_from_db()
    refused.refresh_from_db()
    good.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in wrong.last_poll_error
    assert refused.last_poll_error
    assert good.last_poll_error == ""
    assert all(m.last_polled_at for m in (wrong, refused, good))
    assert_imported_once(good, [raw])

    assert worker.poll_due() == []  # nobody is due again yet

    # Once the password is fixed, the next poll clears the error.
    Mailbox.objects.filter(pk=wrong.pk).update(
        imap_password=wrong_account.password, last_polled_at=None
    )
    assert worker.poll_due() == [wrong.pk]
    wrong.refresh_from_db()
    assert wrong.last_poll_error == ""


def _claim_waiting_for_locks(mailbox_id: int):
    """claim(), retried while SQLite's in-memory test database refuses to wait for a lock
    (at BEGIN IMMEDIATE, before anything is read): what the busy timeout does in production."""
    for _ in range(500):
        try:
            return imap.claim(mailbox_id)
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.01)
    raise AssertionError("the database stayed locked")


def polled_mailbox() -> Mailbox:
    """claim() needs no server: a mailbox that is never actually polled."""
    mailbox, _ = create_mailbox(
        actor=None, address="claims@firstline.test", imap_enabled=True, imap_host="127.0.0.1"
    )
    return mailbox


@pytest.mark.django_db(transaction=True)
def test_claim_lets_one_of_two_concurrent_claims_win():
    mailbox = polled_mailbox()

    for last_polled in [None, datetime(2020, 1, 1, tzinfo=UTC)] * 3:
        Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=last_polled, polling_until=None)
        barrier, wins = threading.Barrier(2), []

        def claimer(barrier=barrier, wins=wins):
            try:
                barrier.wait(timeout=10)
                wins.append(_claim_waiting_for_locks(mailbox.pk) is not None)
            finally:
                connection.close()

        threads = [threading.Thread(target=claimer) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(wins) == [False, True], last_polled

    assert imap.claim(mailbox.pk) is None  # just polled: not due


def test_claim_loses_to_a_rival_that_claims_between_its_read_and_its_update(monkeypatch):
    """The same race, forced: the rival claims right after this claim read the mailbox."""
    mailbox = polled_mailbox()
    real_first, rival = QuerySet.first, []

    def first(queryset):
        found = real_first(queryset)
        if queryset.model is Mailbox and not rival:
            rival.append(None)
            rival[0] = imap.claim(mailbox.pk)
        return found

    monkeypatch.setattr(QuerySet, "first", first)
    assert imap.claim(mailbox.pk) is None
    assert rival[0] is not None
