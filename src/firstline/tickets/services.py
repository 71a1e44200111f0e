"""Every write to tickets. Each function is one transaction and records its own history."""

import mimetypes
import re
import unicodedata
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q
from django.db.models.query import get_related_populators
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from firstline.accounts import selectors as account_selectors
from firstline.accounts.models import Group, Organization, User
from firstline.core import clock, revisions
from firstline.core.bulk import insert_columns, insert_one, update_rows, writes_together
from firstline.core.errors import Conflict, InvalidInput, NotAllowed, PayloadTooLarge

from . import lifecycle, signals
from .models import (
    Attachment,
    Category,
    Channel,
    Comment,
    EventKind,
    Priority,
    Status,
    Tag,
    Ticket,
    TicketEvent,
    TicketParticipant,
)

AGENT_FIELDS = frozenset(
    {"subject", "description", "status", "priority", "category", "group", "assignee", "tags"}
)
REQUESTER_FIELDS = frozenset({"status"})
# What a requester may say when opening a ticket; routing and ownership are for agents.
REQUESTER_CREATE_FIELDS = frozenset({"subject", "description", "priority", "category", "channel"})
# Changes requesters may read about in the history; the rest is internal routing.
PUBLIC_FIELDS = frozenset({"subject", "description", "status", "priority", "category"})


class StaleVersion(Conflict):
    """Another change landed first; the caller must reload instead of overwriting it."""

    def __init__(self, current_version: int):
        super().__init__(
            _("This ticket changed since you opened it; reload it and apply your change again."),
            {"version": [_("The current version is %(version)s.") % {"version": current_version}]},
            current_version=current_version,
        )
        self.current_version = current_version


@dataclass
class _Change:
    field: str
    old: str
    new: str


def _display(field: str, value) -> str:
    if value is None:
        return ""
    if field == "priority":
        return Priority(value).key
    if field == "assignee":
        return value.username
    if field in ("group", "organization"):
        return value.slug
    if field == "category":
        return value.full_name
    if field == "tags":
        return ", ".join(sorted(value))
    return str(value)


def _new_event(
    ticket: Ticket,
    *,
    actor: User | None,
    channel: str,
    kind: str,
    public: bool,
    field: str = "",
    old: str = "",
    new: str = "",
    note: str = "",
) -> TicketEvent:
    return TicketEvent(
        ticket=ticket,
        actor=actor,
        channel=channel,
        kind=kind,
        field=field,
        old_value=old,
        new_value=new,
        note=note,
        is_public=public,
        created_at=clock.now(),
    )


def _record(ticket: Ticket, **entry) -> TicketEvent:
    """Appends an entry (see `_new_event`) to the ticket's history."""
    event = _new_event(ticket, **entry)
    insert_one(event)
    return event


def _lock(ticket: Ticket, expected_version: int | None = None) -> Ticket:
    """The ticket as it is now, locked for this transaction, checked against the caller's view."""
    locked = _LockQuery.get(ticket.pk)
    if expected_version is not None and expected_version != locked.version:
        raise StaleVersion(locked.version)
    return locked


class _LockQuery:
    """_lock's query (the ticket FOR UPDATE, with the rows it refers to), compiled once per
    database: compiling it, five tables' columns, cost more than running it. The rows become
    objects as QuerySet.get would make them (Django's converters and related populators)."""

    _plans: dict[str, tuple] = {}

    @classmethod
    def get(cls, pk: int) -> Ticket:
        db = connections[DEFAULT_DB_ALIAS]
        plan = cls._plans.get(db.vendor) or cls._plan(db)
        sql, converters, start, end, init_list, populators = plan
        with db.cursor() as cursor:
            cursor.execute(sql, [pk])
            row = cursor.fetchone()
        if row is None:
            raise Ticket.DoesNotExist("Ticket matching query does not exist.")
        row = list(row)
        for position, (functions, expression) in converters:
            for convert in functions:
                row[position] = convert(row[position], expression, db)
        locked = Ticket.from_db(db.alias, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, locked)
        return locked

    @classmethod
    def _plan(cls, db) -> tuple:
        """Built inside a transaction (SELECT ... FOR UPDATE must be)."""
        queryset = (
            Ticket.objects.using(db.alias)
            .select_for_update(of=("self",))
            .select_related("group", "assignee", "organization", "category")
            .filter(pk=0)
        )
        compiler = queryset.query.get_compiler(using=db.alias)
        sql, params = compiler.as_sql()
        if list(params) != [0]:
            raise RuntimeError(f"Unexpected parameters of the lock query: {params!r}")
        select, klass_info = compiler.select, compiler.klass_info
        converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, db.alias)
        plan = (sql, list(converters.items()), start, end, init_list, populators)
        cls._plans[db.vendor] = plan
        return plan


def _save(ticket: Ticket, fields: Iterable[str]) -> None:
    """Every change of a ticket row goes through here, and tells who listens what changed."""
    fields = set(fields)
    ticket.version += 1
    ticket.updated_at = clock.now()
    ticket.save(update_fields=[*fields, "version", "updated_at"])
    signals.ticket_saved.send(sender=Ticket, ticket=ticket, fields=frozenset(fields))


def check_fields_allowed(actor: User | None, fields: Iterable[str], *, creating: bool) -> None:
    """Refuses fields the actor may not set (no mass assignment), naming each of them."""
    if actor is None:
        return
    if actor.is_agent:
        allowed = (
            AGENT_FIELDS | {"requester", "organization", "channel"} if creating else AGENT_FIELDS
        )
    else:
        allowed = REQUESTER_CREATE_FIELDS if creating else REQUESTER_FIELDS
    refused = sorted(set(fields) - allowed)
    if refused:
        not_allowed = _("Not allowed.")
        raise NotAllowed(_("You cannot set these fields."), {f: [not_allowed] for f in refused})


def require_agent(actor: User | None) -> None:
    if actor is not None and not actor.is_agent:
        raise NotAllowed(_("Only agents can do this."))


def default_group_for(organization: Organization | None) -> Group | None:
    """The lowest-tier active group that serves the organization: where new tickets land.
    Each process keeps the answer per organization while the configuration is unchanged."""
    memo = revisions.memo(revisions.CONFIGURATION)
    key = ("default_group", organization.pk if organization is not None else None)
    if key not in memo:
        serving = Q(organizations__isnull=True)
        if organization is not None:
            serving |= Q(organizations=organization)
        found = Group.objects.filter(serving, is_active=True).order_by("tier", "name", "pk")
        memo[key] = found.values(*_GROUP_COLUMNS).first()
    row = memo[key]
    if row is None:
        return None
    # A new instance each time: the row kept is shared by this process's threads.
    return Group.from_db(Group.objects.db, _GROUP_COLUMNS, [row[c] for c in _GROUP_COLUMNS])


_GROUP_COLUMNS = tuple(f.attname for f in Group._meta.concrete_fields)


def _check_group(group: Group, organization: Organization | None) -> None:
    if not group.is_active:
        message = _("The group '%(slug)s' is inactive.") % {"slug": group.slug}
        raise InvalidInput.for_field("group", message)
    if not group.serves(organization):
        message = _("The group '%(slug)s' does not serve this organization.") % {"slug": group.slug}
        raise InvalidInput.for_field("group", message)


def _can_work_in(user: User, group: Group | None) -> bool:
    if user.sees_all_tickets or group is None:
        return True
    return group.members.filter(pk=user.pk).exists()


def _check_assignee(assignee: User, group: Group | None) -> None:
    if not assignee.is_active or not assignee.is_agent:
        message = _("'%(username)s' is not an active agent.") % {"username": assignee.username}
        raise InvalidInput.for_field("assignee", message)
    if not _can_work_in(assignee, group):
        message = _("'%(username)s' is not a member of the ticket's group.") % {
            "username": assignee.username
        }
        raise InvalidInput.for_field("assignee", message)


def _check_category(category: Category | None) -> None:
    if category is not None and not category.is_active:
        message = _("The category '%(name)s' is inactive.") % {"name": category}
        raise InvalidInput.for_field("category", message)


# How the texts `_check_text` checks are named in its messages ("The subject cannot be empty.").
_TEXT_NAMES = {
    "subject": pgettext_lazy("text field", "subject"),
    "body": pgettext_lazy("text field", "body"),
    "reason": pgettext_lazy("text field", "reason"),
    "name": pgettext_lazy("text field", "name"),
}


def _check_text(field: str, value: str, *, max_length: int | None = None) -> str:
    value = (value or "").strip()
    name = _TEXT_NAMES.get(field, field)
    if not value:
        message = _("The %(field)s cannot be empty.") % {"field": name}
        raise InvalidInput.for_field(field, message)
    if max_length and len(value) > max_length:
        message = _("The %(field)s is longer than %(max)s characters.") % {
            "field": name,
            "max": max_length,
        }
        raise InvalidInput.for_field(field, message)
    return value


def _priority(value: str | int) -> int:
    try:
        return Priority.from_key(value) if isinstance(value, str) else Priority(value)
    except (KeyError, ValueError):
        message = _("Unknown priority '%(priority)s'.") % {"priority": value}
        raise InvalidInput.for_field("priority", message) from None


def _tags(names: Iterable[str]) -> list[Tag]:
    cleaned = sorted({n.strip().lower() for n in names if n and n.strip()})
    for name in cleaned:
        if len(name) > 50:
            message = _("The tag '%(tag)s…' is too long.") % {"tag": name[:20]}
            raise InvalidInput.for_field("tags", message)
    existing = {t.name: t for t in Tag.objects.filter(name__in=cleaned)}
    return [existing.get(name) or Tag.objects.get_or_create(name=name)[0] for name in cleaned]


def _apply_status(ticket: Ticket, status: str) -> list[str]:
    """Moves the ticket to `status` and keeps the lifecycle timestamps true."""
    previous, ticket.status = ticket.status, status
    fields = ["status"]
    now = clock.now()
    if status == Status.RESOLVED:
        ticket.resolved_at = now
        fields.append("resolved_at")
    elif status == Status.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    elif previous == Status.RESOLVED:
        ticket.resolved_at = None
        fields.append("resolved_at")
    return fields


@transaction.atomic
def create_ticket(
    *,
    actor: User | None,
    subject: str,
    description: str = "",
    channel: str = Channel.WEB,
    requester: User | None = None,
    organization: Organization | None = None,
    category: Category | None = None,
    priority: str | int = Priority.NORMAL,
    group: Group | None = None,
    assignee: User | None = None,
    tags: Iterable[str] = (),
) -> Ticket:
    """Opens a ticket; every channel ends here. `actor` None is the system itself."""
    given = {"requester": requester, "organization": organization, "group": group}
    given |= {"assignee": assignee, "tags": tags}
    check_fields_allowed(actor, [k for k, v in given.items() if v], creating=True)
    requester = requester or actor
    if requester is None:
        raise InvalidInput.for_field("requester", _("A requester is required."))
    if not requester.is_active:
        message = _("'%(username)s' is inactive.") % {"username": requester.username}
        raise InvalidInput.for_field("requester", message)
    if channel not in Channel.values:
        message = _("Unknown channel '%(channel)s'.") % {"channel": channel}
        raise InvalidInput.for_field("channel", message)
    if organization is None:
        organization = requester.organization
    elif requester.organization_id not in (None, organization.pk):
        raise InvalidInput.for_field(
            "organization", _("The requester belongs to another organization.")
        )
    _check_category(category)
    if group is None:
        group = default_group_for(organization)
    else:
        _check_group(group, organization)
    if assignee is not None:
        _check_assignee(assignee, group)
    now = clock.now()
    ticket = Ticket(
        subject=_check_text("subject", subject, max_length=255),
        description=description or "",
        status=Status.OPEN if assignee else Status.NEW,
        priority=_priority(priority),
        category=category,
        channel=channel,
        requester=requester,
        organization=organization,
        group=group,
        assignee=assignee,
        created_at=now,
        updated_at=now,
    )
    signals.ticket_creating.send(sender=Ticket, ticket=ticket)
    created = _new_event(
        ticket, actor=actor or requester, channel=channel, kind=EventKind.CREATED, public=True
    )
    insert_one(ticket, then=created)  # one statement on PostgreSQL
    if tags:
        ticket.tags.set(_tags(tags))
    # The receivers' writes that need no answer (SLA clock, search document) go as one
    # statement on PostgreSQL: one round trip instead of one each.
    with writes_together():
        signals.ticket_created.send(sender=Ticket, ticket=ticket, actor=actor)
        if assignee is not None:
            signals.ticket_assigned.send(
                sender=Ticket, ticket=ticket, assignee=assignee, actor=actor
            )
    return ticket


def _changes_for(ticket: Ticket, changes: dict) -> list[_Change]:
    """Validates requested field values and applies them to `ticket` in memory."""
    applied: list[_Change] = []
    for field in ("subject", "description", "priority", "category", "group", "assignee"):
        if field not in changes:
            continue
        new = changes[field]
        if field == "subject":
            new = _check_text("subject", new, max_length=255)
        elif field == "description":
            new = new or ""
        elif field == "priority":
            new = _priority(new)
        elif field == "category":
            _check_category(new)
        elif field == "group":
            if new is None:
                raise InvalidInput.for_field("group", _("A ticket cannot leave every group."))
            _check_group(new, ticket.organization)
            if ticket.group is not None and new.tier != ticket.group.tier:
                raise InvalidInput.for_field(
                    "group", _("Moving to another tier is an escalation: give a reason there.")
                )
        old = getattr(ticket, field)
        if old != new:
            applied.append(_Change(field, _display(field, old), _display(field, new)))
            setattr(ticket, field, new)
    if "assignee" in changes or any(c.field == "group" for c in applied):
        if ticket.assignee is not None and "assignee" not in changes:
            if not _can_work_in(ticket.assignee, ticket.group):
                applied.append(_Change("assignee", ticket.assignee.username, ""))
                ticket.assignee = None
        elif ticket.assignee is not None:
            _check_assignee(ticket.assignee, ticket.group)
    return applied


@transaction.atomic
def update_ticket(
    *,
    actor: User | None,
    ticket: Ticket,
    channel: str,
    expected_version: int | None = None,
    via: str = "",
    **changes,
) -> Ticket:
    """Changes fields of a ticket; only the fields given are touched. `via` (an automation
    rule, a macro...) is kept as the note of the history entries."""
    check_fields_allowed(actor, changes, creating=False)
    ticket = _lock(ticket, expected_version)
    if ticket.status == Status.CLOSED:
        if changes.get("status") not in (None, Status.CLOSED):
            lifecycle.check_transition(ticket.status, changes["status"])
        raise Conflict(_("This ticket is closed and can no longer be changed."))
    applied = _changes_for(ticket, changes)
    fields = [c.field for c in applied]
    status = changes.get("status")
    if status is None and ticket.status == Status.NEW and ticket.assignee is not None:
        status = Status.OPEN
    if status is not None and status != ticket.status:
        lifecycle.check_transition(
            ticket.status, status, by_requester=actor is not None and not actor.is_agent
        )
        applied.append(_Change("status", ticket.status, status))
        fields += _apply_status(ticket, status)
    if "tags" in changes:
        old_tags = {t.name for t in ticket.tags.all()}
        new_tags = _tags(changes["tags"])
        if old_tags != {t.name for t in new_tags}:
            ticket.tags.set(new_tags)
            applied.append(
                _Change(
                    "tags", _display("tags", old_tags), _display("tags", {t.name for t in new_tags})
                )
            )
    if not applied:
        return ticket
    _save(ticket, [f for f in fields if f != "tags"])
    for change in applied:
        _record(
            ticket,
            actor=actor,
            channel=channel,
            kind=EventKind.CHANGED,
            public=change.field in PUBLIC_FIELDS,
            field=change.field,
            old=change.old,
            new=change.new,
            note=via,
        )
    if any(c.field == "assignee" for c in applied) and ticket.assignee is not None:
        signals.ticket_assigned.send(
            sender=Ticket, ticket=ticket, assignee=ticket.assignee, actor=actor
        )
    return ticket


@transaction.atomic
def add_comment(
    *,
    actor: User,
    ticket: Ticket,
    body: str,
    channel: str,
    public: bool = True,
    attachments: Iterable[Attachment] = (),
) -> Comment:
    """A public reply or an internal note; replies move the ticket along its lifecycle."""
    if not actor.is_agent and not public:
        raise NotAllowed(
            _("Requesters cannot write internal notes."), {"public": [_("Not allowed.")]}
        )
    body = _check_text("body", body)
    ticket = _lock(ticket)
    if ticket.status == Status.CLOSED:
        raise Conflict(_("This ticket is closed; please open a new request."))
    attachments = list(attachments)
    for attachment in attachments:
        if attachment.ticket_id != ticket.pk or attachment.comment_id is not None:
            raise InvalidInput.for_field("attachments", _("Attachment not found on this ticket."))
        if attachment.uploaded_by_id != actor.pk:
            raise InvalidInput.for_field("attachments", _("You can only attach your own uploads."))
        if attachment.is_public != public:
            raise InvalidInput.for_field(
                "attachments", _("An internal upload cannot go on a public reply, or the reverse.")
            )
    comment = Comment(
        ticket=ticket,
        author=actor,
        body=body,
        is_public=public,
        channel=channel,
        created_at=clock.now(),
    )
    insert_one(comment)
    for attachment in attachments:
        attachment.comment = comment
        attachment.save(update_fields=["comment"])
    _record(
        ticket,
        actor=actor,
        channel=channel,
        kind=EventKind.COMMENTED if public else EventKind.NOTE_ADDED,
        public=public,
        note=f"comment:{comment.pk}",
    )
    fields: list[str] = []
    if public:
        fields = _status_after_reply(ticket, actor, channel)
    _save(ticket, fields)
    if public:
        signals.reply_added.send(sender=Ticket, ticket=ticket, comment=comment, actor=actor)
    else:
        signals.note_added.send(sender=Ticket, ticket=ticket, comment=comment, actor=actor)
    return comment


@transaction.atomic
def add_system_note(*, ticket: Ticket, body: str, channel: str) -> Comment:
    """An internal note by Firstline itself (a bounce, an auto-reply): no author, no status
    change, never shown to requesters."""
    ticket = _lock(ticket)
    comment = Comment.objects.create(
        ticket=ticket,
        author=None,
        body=body.strip() or "—",
        is_public=False,
        channel=channel,
        created_at=clock.now(),
    )
    _record(
        ticket,
        actor=None,
        channel=channel,
        kind=EventKind.NOTE_ADDED,
        public=False,
        note=f"comment:{comment.pk}",
    )
    _save(ticket, [])
    signals.note_added.send(sender=Ticket, ticket=ticket, comment=comment, actor=None)
    return comment


@transaction.atomic(savepoint=False)
def add_participants(
    *, actor: User | None, ticket: Ticket, emails: Iterable[str], exclude: Iterable[str] = ()
) -> list[TicketParticipant]:
    """Copies people in (e-mail CC); the requester and addresses in `exclude` are skipped.
    No savepoint of its own (a round trip each way on PostgreSQL): inbound mail, its caller,
    runs it inside the block of the message, which a failure rolls back whole."""
    skip = {e.strip().lower() for e in exclude if e} | {ticket.requester.email.lower()}
    wanted = sorted({e.strip().lower() for e in emails if e and "@" in e} - skip)
    existing = set(ticket.participants.filter(email__in=wanted).values_list("email", flat=True))
    users = {u.email.lower(): u for u in account_selectors.users_with_addresses(wanted)}
    added = []
    for email in wanted:
        if email in existing or len(email) > 254:
            continue
        participant = TicketParticipant(ticket=ticket, email=email, user=users.get(email))
        insert_one(participant)  # no model signals: nothing listens to participants
        added.append(participant)
        _record(
            ticket,
            actor=actor,
            channel=Channel.EMAIL,
            kind=EventKind.PARTICIPANT_ADDED,
            public=False,
            new=email,
        )
    return added


def _status_after_reply(ticket: Ticket, actor: User, channel: str) -> list[str]:
    fields: list[str] = []
    if actor.is_agent and actor.pk != ticket.requester_id:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = clock.now()
            fields.append("first_responded_at")
        status = lifecycle.status_after_agent_reply(ticket.status)
    else:
        status = lifecycle.status_after_requester_reply(ticket.status)
    if status != ticket.status:
        _record(
            ticket,
            actor=actor,
            channel=channel,
            kind=EventKind.CHANGED,
            public=True,
            field="status",
            old=ticket.status,
            new=status,
        )
        fields += _apply_status(ticket, status)
    return fields


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def clean_filename(name: str) -> str:
    """A display name safe to show and to offer for download: no path, no control characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:140] + dot + ext[:9]) if dot and len(ext) < 10 else name[:150]
    return name or "attachment"


def _content_type(declared: str, filename: str) -> str:
    declared = (declared or "").split(";")[0].strip().lower()
    if _CONTENT_TYPE.match(declared):
        return declared
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


@transaction.atomic
def add_attachment(
    *,
    actor: User,
    ticket: Ticket,
    file: File,
    filename: str,
    channel: str,
    content_type: str = "",
    public: bool = True,
) -> Attachment:
    """Stores an upload under a generated name; link it to a reply with `add_comment`."""
    if not actor.is_agent and not public:
        raise NotAllowed(
            _("Requesters cannot add internal attachments."), {"public": [_("Not allowed.")]}
        )
    if file.size is None or file.size == 0:
        raise InvalidInput.for_field("file", _("The file is empty."))
    limit = settings.MAX_ATTACHMENT_SIZE
    if file.size > limit:
        message = _("The file is larger than the limit of %(limit)s.") % {
            "limit": filesizeformat(limit)
        }
        raise PayloadTooLarge.for_field("file", message)
    ticket = _lock(ticket)
    if ticket.status == Status.CLOSED:
        raise Conflict(_("This ticket is closed; please open a new request."))
    name = clean_filename(filename)
    attachment = Attachment(
        ticket=ticket,
        filename=name,
        content_type=_content_type(content_type, name),
        size=file.size,
        is_public=public,
        uploaded_by=actor,
        created_at=clock.now(),
    )
    attachment.file.save(name, file, save=False)
    try:
        insert_one(attachment)
        _record(
            ticket,
            actor=actor,
            channel=channel,
            kind=EventKind.ATTACHED,
            public=public,
            new=name,
            note=f"attachment:{attachment.pk}",
        )
        _save(ticket, [])
    except Exception:
        attachment.file.delete(save=False)
        raise
    return attachment


def _next_tier_group(ticket: Ticket, *, upwards: bool) -> Group | None:
    tier = ticket.group.tier if ticket.group else (0 if upwards else 1)
    serving = Q(organizations__isnull=True)
    if ticket.organization_id:
        serving |= Q(organizations=ticket.organization_id)
    groups = Group.objects.filter(serving, is_active=True)
    if upwards:
        return groups.filter(tier__gt=tier).order_by("tier", "name", "pk").first()
    return groups.filter(tier__lt=tier).order_by("-tier", "name", "pk").first()


@transaction.atomic
def escalate_ticket(
    *,
    actor: User | None,
    ticket: Ticket,
    reason: str,
    channel: str,
    group: Group | None = None,
    upwards: bool = True,
    expected_version: int | None = None,
    via: str = "",
) -> Ticket:
    """Moves a ticket to a higher tier (or, with `upwards=False`, a lower one), with a reason;
    `via` is kept as the note of the entries that have no reason of their own."""
    require_agent(actor)
    reason = _check_text("reason", reason, max_length=2000)
    ticket = _lock(ticket, expected_version)
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        raise Conflict(_("Only unresolved tickets can be escalated or de-escalated."))
    if group is None:
        group = _next_tier_group(ticket, upwards=upwards)
        if group is None:
            message = (
                _("No group of a higher tier serves this ticket's organization.")
                if upwards
                else _("No group of a lower tier serves this ticket's organization.")
            )
            raise InvalidInput.for_field("group", message)
    _check_group(group, ticket.organization)
    current_tier = ticket.group.tier if ticket.group else 0
    if (group.tier <= current_tier) if upwards else (group.tier >= current_tier):
        message = (
            _("'%(slug)s' (L%(tier)s) is not of a higher tier.")
            if upwards
            else _("'%(slug)s' (L%(tier)s) is not of a lower tier.")
        )
        raise InvalidInput.for_field("group", message % {"slug": group.slug, "tier": group.tier})
    old_group = ticket.group
    ticket.group = group
    fields = ["group"]
    _record(
        ticket,
        actor=actor,
        channel=channel,
        public=False,
        field="group",
        kind=EventKind.ESCALATED if upwards else EventKind.DEESCALATED,
        old=_display("group", old_group),
        new=group.slug,
        note=reason,
    )
    if ticket.assignee is not None and not _can_work_in(ticket.assignee, group):
        _record(
            ticket,
            actor=actor,
            channel=channel,
            kind=EventKind.CHANGED,
            public=False,
            field="assignee",
            old=ticket.assignee.username,
            new="",
            note=via,
        )
        ticket.assignee = None
        fields.append("assignee")
    _save(ticket, fields)
    signals.ticket_escalated.send(
        sender=Ticket, ticket=ticket, group=group, reason=reason, actor=actor, upwards=upwards
    )
    return ticket


@dataclass(frozen=True)
class AutoEscalation:
    """What an automatic escalation (an SLA breach) asks of one ticket."""

    ticket_id: int
    raise_priority: bool
    next_tier: bool
    reason: str


@dataclass
class _Escalated:
    ticket: Ticket
    fields: set[str]
    events: list[tuple]  # history rows, see `_event`
    group: Group | None = None


@transaction.atomic
def escalate_many(
    *,
    escalations: list[AutoEscalation],
    channel: str,
    via: str = "",
    locked: dict[int, Ticket] | None = None,
) -> int:
    """Escalates many tickets at once, as the system: the priority one step up and/or the
    next tier's group, with the same history as `update_ticket` and `escalate_ticket`, in a
    few set-based statements; listeners get one `tickets_changed` signal. Closed tickets,
    resolved ones (for the move) and tickets with no higher tier are left as they are.
    `locked`: tickets by id that the caller has locked in this transaction and read (all but
    the description), not read again (the sweep). Returns how many tickets changed."""
    wanted = {e.ticket_id: e for e in escalations}
    known = locked or {}
    tickets = [known[pk] for pk in wanted if pk in known]
    if unknown := [pk for pk in wanted if pk not in known]:
        tickets += Ticket.objects.select_for_update().defer("description").filter(pk__in=unknown)
    tickets = sorted((t for t in tickets if t.status != Status.CLOSED), key=lambda t: t.pk)
    groups, next_group = _next_tier_finder()
    _attach_people_and_groups(tickets, groups)
    changed = [
        done
        for ticket in tickets
        if (done := _escalate_one(ticket, wanted[ticket.pk], next_group, via))
    ]
    _unassign_outsiders(changed, via)
    now = clock.now()
    for done in changed:
        done.ticket.version += 1
        done.ticket.updated_at = now
    fields = sorted({f for done in changed for f in done.fields} | {"version", "updated_at"})
    update_rows(Ticket, [done.ticket for done in changed], fields)
    rows = [row for done in changed for row in done.events]  # see `_event`
    names = ("ticket_id", "kind", "field", "old_value", "new_value", "note", "is_public")
    history = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    n = len(rows)
    insert_columns(
        TicketEvent,
        {**history, "actor_id": [None] * n, "channel": [channel] * n, "created_at": [now] * n},
    )
    signals.tickets_changed.send(
        sender=Ticket,
        changes=[(d.ticket, frozenset(d.fields)) for d in changed],
        escalations=[(d.ticket, d.group, wanted[d.ticket.pk].reason) for d in changed if d.group],
    )
    return len(changed)


def _next_tier_finder():
    """The active groups by id, and `_next_tier_group(ticket, upwards=True)` for many
    tickets from that one read."""
    groups = list(
        Group.objects.filter(is_active=True)
        .prefetch_related("organizations")
        .order_by("tier", "name", "pk")
    )
    by_pk = {g.pk: g for g in groups}
    found: dict[tuple[int, int | None], Group | None] = {}

    def next_group(ticket: Ticket) -> Group | None:
        tier, organization_id = ticket.group.tier if ticket.group else 0, ticket.organization_id
        if (tier, organization_id) not in found:
            organization = Organization(pk=organization_id) if organization_id else None
            found[tier, organization_id] = next(
                (g for g in groups if g.tier > tier and g.serves(organization)), None
            )
        return found[tier, organization_id]

    return by_pk, next_group


def _attach_people_and_groups(tickets: list[Ticket], groups: dict[int, Group]) -> None:
    """Fills tickets' group and assignee from one read of each, not a join per ticket."""
    missing = {t.group_id for t in tickets if t.group_id and t.group_id not in groups}
    groups = {**groups, **Group.objects.in_bulk(missing)}
    people = User.objects.in_bulk({t.assignee_id for t in tickets if t.assignee_id})
    for ticket in tickets:
        ticket.group = groups.get(ticket.group_id)
        ticket.assignee = people.get(ticket.assignee_id)


def _escalate_one(ticket, escalation, next_group, via) -> _Escalated | None:
    done = _Escalated(ticket, set(), [])
    if escalation.raise_priority and ticket.priority < Priority.URGENT:
        old, ticket.priority = ticket.priority, ticket.priority + 1
        done.fields.add("priority")
        done.events.append(_event(ticket, EventKind.CHANGED, "priority", old, ticket.priority, via))
    if escalation.next_tier and ticket.status != Status.RESOLVED:
        group = next_group(ticket)
        if group is not None:
            done.events.append(
                _event(ticket, EventKind.ESCALATED, "group", ticket.group, group, escalation.reason)
            )
            ticket.group, done.group = group, group
            done.fields.add("group")
    return done if done.fields else None


def _event(ticket, kind, field, old, new, note) -> tuple:
    """A history entry of `escalate_many` as the values of its insert (ticket_id, kind, field,
    old_value, new_value, note, is_public): a TicketEvent instance each costs more."""
    public = kind == EventKind.CHANGED and field in PUBLIC_FIELDS
    return (ticket.pk, kind, field, _display(field, old), _display(field, new), note, public)


def _unassign_outsiders(changed: list[_Escalated], via: str) -> None:
    """An assignee who is not a member of the ticket's new group lets go of it."""
    moved = [d for d in changed if d.group and d.ticket.assignee]
    members = set(
        Group.members.through.objects.filter(group_id__in={d.group.pk for d in moved}).values_list(
            "group_id", "user_id"
        )
    )
    for done in moved:
        assignee = done.ticket.assignee
        if assignee.sees_all_tickets or (done.group.pk, assignee.pk) in members:
            continue
        done.events.append(_event(done.ticket, EventKind.CHANGED, "assignee", assignee, None, via))
        done.ticket.assignee = None
        done.fields.add("assignee")


@transaction.atomic
def merge_tickets(*, actor: User | None, source: Ticket, target: Ticket, channel: str) -> Ticket:
    """Moves the conversation of `source` into `target` and closes `source` with a link to it."""
    require_agent(actor)
    if source.pk == target.pk:
        raise InvalidInput.for_field("into", _("A ticket cannot be merged into itself."))
    locked = {t.pk: _lock(t) for t in sorted([source, target], key=lambda t: t.pk)}
    source, target = locked[source.pk], locked[target.pk]
    if Status.CLOSED in (source.status, target.status):
        raise Conflict(_("Closed tickets cannot be merged."))
    if source.organization_id != target.organization_id:
        raise InvalidInput.for_field(
            "into", _("Tickets of different organizations cannot be merged.")
        )
    Comment.objects.create(
        ticket=target,
        author=source.requester,
        body=f"#{source.pk} {source.subject}\n\n{source.description}".strip(),
        is_public=True,
        channel=source.channel,
        created_at=source.created_at,
    )
    Comment.objects.filter(ticket=source).update(ticket=target)
    Attachment.objects.filter(ticket=source).update(ticket=target)
    _record(
        source,
        actor=actor,
        channel=channel,
        kind=EventKind.MERGED_INTO,
        public=True,
        new=f"#{target.pk}",
    )
    _record(
        source,
        actor=actor,
        channel=channel,
        kind=EventKind.CHANGED,
        public=True,
        field="status",
        old=source.status,
        new=Status.CLOSED,
    )
    source.merged_into = target
    _save(source, ["merged_into", *_apply_status(source, Status.CLOSED)])
    _save(target, [])
    _record(
        target,
        actor=actor,
        channel=channel,
        kind=EventKind.MERGED_FROM,
        public=True,
        new=f"#{source.pk}",
    )
    return target


@transaction.atomic
def link_tickets(
    *, actor: User | None, ticket: Ticket, other: Ticket, channel: str, linked: bool = True
) -> None:
    """Marks two tickets as related (or, with `linked=False`, no longer related)."""
    require_agent(actor)
    if ticket.pk == other.pk:
        raise InvalidInput.for_field("number", _("A ticket cannot be linked to itself."))
    first, second = (_lock(t) for t in sorted([ticket, other], key=lambda t: t.pk))
    already = first.links.filter(pk=second.pk).exists()
    if already == linked:
        return
    (first.links.add if linked else first.links.remove)(second)
    for one, two in ((first, second), (second, first)):
        _record(
            one,
            actor=actor,
            channel=channel,
            public=False,
            kind=EventKind.LINKED if linked else EventKind.UNLINKED,
            new=f"#{two.pk}",
        )
        _save(one, [])


@transaction.atomic
def create_category(*, actor: User | None, name: str, parent: Category | None = None) -> Category:
    if actor is not None and not actor.sees_all_tickets:
        raise NotAllowed(_("Only supervisors and administrators can add categories."))
    name = _check_text("name", name, max_length=100)
    if parent is not None and not parent.is_active:
        raise InvalidInput.for_field("parent", _("The parent category is inactive."))
    if ">" in name:
        raise InvalidInput.for_field("name", _("A category name cannot contain '>'."))
    if Category.objects.filter(parent=parent, name__iexact=name).exists():
        message = _("The category '%(name)s' already exists there.") % {"name": name}
        raise Conflict.for_field("name", message)
    full_name = f"{parent.full_name} > {name}" if parent else name
    return Category.objects.create(name=name, parent=parent, full_name=full_name)


Upload = tuple[File, str, str]  # the file, the name the sender gave it, its declared type


def _inside(service):
    """`service` without the savepoint its own transaction.atomic would add: for the services
    below, whose transaction already makes the whole call all or nothing (a savepoint costs a
    round trip each way on PostgreSQL). It unwraps the outermost decorator, which must stay
    transaction.atomic: tests/tickets/test_services.py counts the savepoints of a reply."""
    return service.__wrapped__


def _store(actor: User, ticket: Ticket, upload: Upload, public: bool, channel: str):
    file, name, content_type = upload
    return _inside(add_attachment)(
        actor=actor,
        ticket=ticket,
        file=file,
        filename=name,
        content_type=content_type,
        public=public,
        channel=channel,
    )


@contextmanager
def _files_removed_on_failure(stored: list[Attachment]):
    """A rolled-back transaction takes the rows with it but not the files: remove those."""
    try:
        yield
    except BaseException:
        for attachment in stored:
            attachment.file.delete(save=False)
        raise


@transaction.atomic
def post_reply(
    *,
    actor: User,
    ticket: Ticket,
    body: str,
    channel: str,
    public: bool = True,
    uploads: Iterable[Upload] = (),
) -> Comment:
    """A reply with its files, all or nothing: what the web forms and e-mail send."""
    stored: list[Attachment] = []
    with _files_removed_on_failure(stored):
        for upload in uploads:
            stored.append(_store(actor, ticket, upload, public, channel))
        return _inside(add_comment)(
            actor=actor,
            ticket=ticket,
            body=body,
            channel=channel,
            public=public,
            attachments=stored,
        )


@transaction.atomic(savepoint=False)
def open_ticket_with_files(*, actor: User, uploads: Iterable[Upload] = (), **fields) -> Ticket:
    """A new ticket and the files that came with the request, all or nothing. Called inside
    a transaction (e-mail: one savepoint per message), it adds no savepoint of its own: a
    failure rolls back with the caller's block, so a caller must not catch it and go on."""
    ticket = _inside(create_ticket)(actor=actor, **fields)
    stored: list[Attachment] = []
    with _files_removed_on_failure(stored):
        for upload in uploads:
            stored.append(_store(actor or ticket.requester, ticket, upload, True, ticket.channel))
    return ticket


def bulk_update(
    *, actor: User, tickets: Iterable[Ticket], channel: str, **changes
) -> tuple[list[Ticket], list[tuple[Ticket, str]]]:
    """Applies the same change to many tickets, each in its own transaction, so that one
    refusal does not undo the others; returns the changed ones and the refused with why."""
    changed, refused = [], []
    for ticket in tickets:
        try:
            changed.append(update_ticket(actor=actor, ticket=ticket, channel=channel, **changes))
        except (InvalidInput, NotAllowed, Conflict) as exc:
            refused.append((ticket, exc.message))
    return changed, refused


def _renamed_descendants(category: Category) -> list[Category]:
    """The category's descendants with full names (and, if it is inactive, activity) updated;
    one query per level of the tree."""
    changed, level, by_id = [], [category], {category.pk: category}
    while level:
        children = list(Category.objects.filter(parent__in=level))
        for child in children:
            child.full_name = f"{by_id[child.parent_id].full_name} > {child.name}"
            child.is_active = child.is_active and category.is_active
            by_id[child.pk] = child
        changed += children
        level = children
    return changed


@transaction.atomic
def update_category(
    *, actor: User | None, category: Category, name: str, is_active: bool
) -> Category:
    """Renames a category and keeps the full names of all its descendants right; deactivating
    it deactivates them too, and it cannot be active below an inactive parent."""
    if actor is not None and not actor.sees_all_tickets:
        raise NotAllowed(_("Only supervisors and administrators can change categories."))
    name = _check_text("name", name, max_length=100)
    if ">" in name:
        raise InvalidInput.for_field("name", _("A category name cannot contain '>'."))
    siblings = Category.objects.filter(parent=category.parent_id).exclude(pk=category.pk)
    if siblings.filter(name__iexact=name).exists():
        message = _("The category '%(name)s' already exists there.") % {"name": name}
        raise Conflict.for_field("name", message)
    parent = Category.objects.filter(pk=category.parent_id).first()  # fresh: its full name
    if is_active and parent is not None and not parent.is_active:
        message = _("Its parent category '%(parent)s' is inactive.") % {"parent": parent}
        raise InvalidInput.for_field("is_active", message)
    category.name, category.is_active = name, is_active
    category.full_name = f"{parent.full_name} > {name}" if parent else name
    descendants = _renamed_descendants(category)
    if any(len(c.full_name) > 500 for c in [category, *descendants]):
        raise InvalidInput.for_field("name", _("The category path would be too long."))
    category.save(update_fields=["name", "full_name", "is_active"])
    Category.objects.bulk_update(descendants, ["full_name", "is_active"])
    return category
