"""Per-process caches of configuration, correct with several processes.

Each cached part of the configuration has a revision: a row of `Revision` whose token every
change of that part replaces, in the change's own transaction. A process reads the token
(one query, once per request) and keeps what it derived from the configuration while the
token is the one it read then; another process's change is therefore seen on the next read.
Tokens are random, so a change that is rolled back never leaves a token that comes back.
Without a revision row (a database flushed by a test, say) nothing is kept.
"""

import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.signals import request_finished, request_started
from django.db import connection
from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import Revision

# Groups (tier, active, the organizations they serve), automation rules and routing: the
# default group of new tickets (tickets/services.py) and what the rule engine reads.
CONFIGURATION = "configuration"
# Users, their organizations and API tokens, as token authentication keeps them.
ACCOUNTS = "accounts"


@dataclass(frozen=True)
class Source:
    """Rows a revision is derived from: saving or deleting one replaces the revision, except
    for a new row when nothing kept can depend on it yet (`on_create` False) and for changes
    of `ignored` columns only."""

    revision: str
    model: str  # "app_label.ModelName"
    on_create: bool = True
    ignored: frozenset[str] = frozenset()

    def changed(self, created: bool = False, update_fields=None) -> bool:
        if created:
            return self.on_create
        return update_fields is None or not set(update_fields) <= self.ignored


SOURCES = (
    Source(CONFIGURATION, "accounts.Group"),
    Source(CONFIGURATION, "accounts.Group_organizations"),
    Source(CONFIGURATION, "automation.Rule"),
    # Round-robin remembers its place on every assignment: not configuration.
    Source(CONFIGURATION, "automation.GroupRouting", ignored=frozenset({"last_assigned"})),
    # Signing in only records when: nothing token authentication answers depends on it.
    Source(ACCOUNTS, "accounts.User", on_create=False, ignored=frozenset({"last_login"})),
    Source(ACCOUNTS, "accounts.Organization", on_create=False),
    Source(ACCOUNTS, "accounts.ApiToken", on_create=False, ignored=frozenset({"last_used_at"})),
)

_lock = threading.Lock()
_memos: dict[str, tuple[str, dict]] = {}
# The tokens as read once in the current request (WSGI: one thread per request), so that
# authentication, the ticket's creation and the rules after it check with one query.
_request = threading.local()


def tokens() -> dict[str, str]:
    """The current token of every revision. In a request, the tokens read at its first call:
    what a request uses was then current at some moment after the request began."""
    snapshot = getattr(_request, "tokens", None)
    if snapshot is not None:
        return snapshot
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name, token FROM {Revision._meta.db_table}")
        current = dict(cursor.fetchall())
    if getattr(_request, "active", False):
        _request.tokens = current
    return current


def bump(name: str) -> None:
    """Marks `name` as changed (call inside the transaction of the change)."""
    new = uuid.uuid4().hex
    if not Revision.objects.filter(name=name).update(token=new):
        Revision.objects.update_or_create(name=name, defaults={"token": new})
    forget(name)
    # The rest of this request reads the tokens again each time (its own change may yet be
    # rolled back).
    _request.active, _request.tokens = False, None


def forget(name: str) -> None:
    """Drops this process's values for `name` (a test can act as another process this way)."""
    with _lock:
        _memos.pop(name, None)


def memo(name: str) -> dict:
    """A dict for values derived from the configuration `name`, shared by this process's
    threads while the token stays the same; empty again once it changed. Read it once per
    operation: outside a request, each call costs one query."""
    current = tokens().get(name)
    if current is None:
        return {}
    known = _memos.get(name)
    if known is not None and known[0] == current:
        return known[1]
    values: dict = {}
    with _lock:
        _memos[name] = (current, values)
    return values


@contextmanager
def snapshot():
    """Reads the tokens once for the block, as a request does: for a worker's transaction
    (inbound mail reads them for every new ticket and every rule run otherwise). Inside a
    request, or a snapshot already, the block just goes on with that one."""
    if getattr(_request, "active", False):
        yield
        return
    _request.active, _request.tokens = True, None
    try:
        yield
    finally:
        _request.active, _request.tokens = False, None


def _request_started(sender, **kwargs):
    _request.active, _request.tokens = True, None


def _request_finished(sender, **kwargs):
    _request.active, _request.tokens = False, None


def connect() -> None:
    """Connects the receivers that replace revisions (CoreConfig.ready): in every process
    that can change the configuration, whichever apps it imports."""
    for source in SOURCES:
        _connect(source)
    request_started.connect(_request_started, dispatch_uid="revision_request_started")
    request_finished.connect(_request_finished, dispatch_uid="revision_request_finished")


def _connect(source: Source) -> None:
    def saved(sender, created=False, update_fields=None, **kwargs):
        if source.changed(created, update_fields):
            bump(source.revision)

    def deleted(sender, **kwargs):
        bump(source.revision)

    def links_changed(sender, action, **kwargs):
        if action in ("post_add", "post_remove", "post_clear"):
            bump(source.revision)

    uid = f"revision:{source.revision}:{source.model}"
    post_save.connect(saved, sender=source.model, weak=False, dispatch_uid=uid)
    post_delete.connect(deleted, sender=source.model, weak=False, dispatch_uid=uid)
    m2m_changed.connect(links_changed, sender=source.model, weak=False, dispatch_uid=uid)
