import base64
from datetime import datetime
from typing import Literal

from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status as Reply

from firstline.accounts import selectors as account_selectors
from firstline.accounts.api import StrictSchema
from firstline.accounts.models import display_name_of
from firstline.core.errors import InvalidInput, as_field_error

from . import selectors, services
from .downloads import attachment_response
from .models import Channel, Priority, Status

router = Router(tags=["tickets"])

StatusName = Literal["new", "open", "pending", "on_hold", "resolved", "closed"]
PriorityName = Literal["low", "normal", "high", "urgent"]
ChannelName = Literal["web", "email", "phone", "chat", "walk_in", "api"]


class UserRef(Schema):
    username: str
    name: str = Field(alias="display_name")


class OrganizationRef(Schema):
    slug: str
    name: str


class GroupRef(Schema):
    slug: str
    name: str
    tier: int


class CategoryOut(Schema):
    id: int
    name: str
    full_name: str
    parent: int | None = Field(None, alias="parent_id")


class TicketOut(Schema):
    number: int
    subject: str
    description: str
    status: StatusName
    priority: PriorityName
    channel: ChannelName
    category: CategoryOut | None
    requester: UserRef
    organization: OrganizationRef | None
    group: GroupRef | None = Field(description="Not shown to requesters.")
    assignee: UserRef | None
    tags: list[str] = Field(description="Not shown to requesters.")
    merged_into: int | None
    version: int
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


class TicketDetailOut(TicketOut):
    links: list[int] = Field(description="Related tickets; not shown to requesters.")


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class TicketIn(StrictSchema):
    subject: str = Field(max_length=255)
    description: str = Field("", max_length=100_000)
    priority: PriorityName = "normal"
    category: int | None = None
    channel: ChannelName = "api"
    requester: str | None = Field(None, description="Username; agents only.")
    organization: str | None = Field(None, description="Slug; agents only.")
    group: str | None = Field(None, description="Slug; agents only.")
    assignee: str | None = Field(None, description="Username; agents only.")
    tags: list[str] = Field([], description="Agents only.")


class TicketPatch(StrictSchema):
    version: int | None = Field(None, description="The version you read; refused if stale.")
    subject: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=100_000)
    status: StatusName | None = None
    priority: PriorityName | None = None
    category: int | None = None
    group: str | None = None
    assignee: str | None = None
    tags: list[str] | None = None


class TicketQuery(Schema):
    status: list[str] = Field([], description="Repeat or separate with commas.")
    priority: list[str] = Field([], description="Repeat or separate with commas.")
    group: str | None = None
    assignee: str | None = Field(None, description="A username, `me` or `none`.")
    organization: str | None = None
    requester: str | None = None
    category: int | None = None
    tag: str | None = None
    channel: ChannelName | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    q: str | None = Field(None, max_length=200)
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    public: bool = Field(alias="is_public")
    comment: int | None = Field(None, alias="comment_id")
    created_at: datetime


class CommentOut(Schema):
    id: int
    author: UserRef | None
    body: str
    public: bool = Field(alias="is_public")
    channel: ChannelName
    created_at: datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(comment) -> list:
        return list(comment.attachments.all())


class CommentIn(StrictSchema):
    body: str = Field(max_length=100_000)
    public: bool = True
    attachments: list[int] = Field([], description="Ids of your uploads to this ticket.")


class EventOut(Schema):
    id: int
    kind: str
    field: str
    old_value: str
    new_value: str
    note: str
    actor: UserRef | None
    channel: str
    created_at: datetime


class EscalationIn(StrictSchema):
    reason: str = Field(max_length=2000)
    group: str | None = Field(None, description="Slug; default: the next tier serving the ticket.")
    version: int | None = None


class MergeIn(StrictSchema):
    into: int = Field(description="The number of the ticket that remains.")


class LinkIn(StrictSchema):
    number: int


class CategoryIn(StrictSchema):
    name: str = Field(max_length=100)
    parent: int | None = None


def _ref(obj, *fields: str) -> dict | None:
    return None if obj is None else {name: getattr(obj, name) for name in fields}


def _user_ref(user) -> dict | None:
    return None if user is None else {"username": user.username, "name": user.display_name}


def _category_out(category) -> dict | None:
    if category is None:
        return None
    names = {"name": category.name, "full_name": category.full_name}
    return {"id": category.pk, **names, "parent": category.parent_id}


def _ticket_out(ticket, user, *, detail: bool = False) -> dict:
    """The ticket as TicketOut (TicketDetailOut with `detail`) shows it, built as it is sent:
    django-ninja validating our own answer against its schema cost more than building it
    (tests/tickets/test_api_output.py holds the two together). Requesters get the same shape
    with internal routing (group, tags, links) left empty."""
    staff = user.is_agent
    data = {
        "number": ticket.pk,
        "subject": ticket.subject,
        "description": ticket.description,
        "status": ticket.status,
        "priority": Priority(ticket.priority).key,
        "channel": ticket.channel,
        "category": _category_out(ticket.category),
        "requester": _user_ref(ticket.requester),
        "organization": _ref(ticket.organization, "slug", "name"),
        "group": _ref(ticket.group, "slug", "name", "tier") if staff else None,
        "assignee": _user_ref(ticket.assignee),
        "tags": [t.name for t in ticket.tags.all()] if staff else [],
        "merged_into": ticket.merged_into_id,
    }
    for name in ("version", "created_at", "updated_at"):
        data[name] = getattr(ticket, name)
    for name in ("first_responded_at", "resolved_at", "closed_at"):
        data[name] = getattr(ticket, name)
    if detail:
        data["links"] = sorted(t.pk for t in ticket.links.all()) if staff else []
    return data


PRIORITY_KEYS = {p.value: p.key for p in Priority}

_PERSON = ("username", "first_name", "last_name")
_LIFECYCLE = ("first_responded_at", "resolved_at", "closed_at")
# The columns a listed ticket shows (what _listed_out reads): not whole related rows.
LIST_VALUES = (
    *("pk", "subject", "description", "status", "priority", "channel"),
    *("category_id", "category__name", "category__full_name", "category__parent_id"),
    *(f"requester__{name}" for name in _PERSON),
    *("organization_id", "organization__slug", "organization__name"),
    *("group_id", "group__slug", "group__name", "group__tier"),
    *("assignee_id", *(f"assignee__{name}" for name in _PERSON)),
    *("merged_into_id", "version", "created_at", "updated_at", *_LIFECYCLE),
)


def _person(row: dict, prefix: str) -> dict:
    """UserRef from a row's columns."""
    names = (row[prefix + name] for name in ("username", "first_name", "last_name"))
    return {"username": row[prefix + "username"], "name": display_name_of(*names)}


def _listed_out(row: dict, tags: list[str] | None) -> dict:
    """What _ticket_out gives, from a row of LIST_VALUES; `tags` is None for requesters
    (internal routing, group and tags, left empty as _ticket_out does)."""
    category, group = row["category_id"], row["group_id"]
    organization = row["organization_id"]
    data = {
        "number": row["pk"],
        "subject": row["subject"],
        "description": row["description"],
        "status": row["status"],
        "priority": PRIORITY_KEYS[row["priority"]],
        "channel": row["channel"],
        "category": None
        if category is None
        else {
            "id": category,
            "name": row["category__name"],
            "full_name": row["category__full_name"],
            "parent": row["category__parent_id"],
        },
        "requester": _person(row, "requester__"),
        "organization": None
        if organization is None
        else {"slug": row["organization__slug"], "name": row["organization__name"]},
        "group": None
        if group is None or tags is None
        else {"slug": row["group__slug"], "name": row["group__name"], "tier": row["group__tier"]},
        "assignee": None if row["assignee_id"] is None else _person(row, "assignee__"),
        "tags": [] if tags is None else tags,
        "merged_into": row["merged_into_id"],
    }
    for name in ("version", "created_at", "updated_at", *_LIFECYCLE):
        data[name] = row[name]
    return data


def _answer(request, data: dict, status: int = 200):
    """`data`, already in its documented shape, rendered as every answer of the API is."""
    from firstline.api import api  # imported late: firstline.api mounts this module's router

    return api.create_response(request, data, status=status)


def _encode_cursor(number: int) -> str:
    return base64.urlsafe_b64encode(f"n:{number}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _sep, value = raw.partition(":")
        if kind != "n" or not value.isdigit():
            raise ValueError
        return int(value)
    except ValueError:
        raise InvalidInput.for_field("cursor", _("This cursor is not valid.")) from None


def _choices(values: list[str], allowed: list[str], field: str) -> list[str] | None:
    items = [v.strip() for value in values for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in allowed]
    if unknown:
        messages = {
            "status": _("Unknown status: %(values)s."),
            "priority": _("Unknown priority: %(values)s."),
        }
        message = messages.get(field, _("Unknown %(field)s: %(values)s."))
        raise InvalidInput.for_field(
            field, message % {"field": field, "values": ", ".join(unknown)}
        )
    return items or None


def _filters(user, query: TicketQuery) -> selectors.TicketFilters:
    priorities = _choices(query.priority, [p.key for p in Priority], "priority")
    refs: dict = {}
    with as_field_error("group"):
        if query.group:
            refs["group_id"] = account_selectors.get_group(user, query.group).pk
    with as_field_error("organization"):
        if query.organization:
            refs["organization_id"] = account_selectors.get_organization(
                user, query.organization
            ).pk
    with as_field_error("requester"):
        if query.requester:
            refs["requester_id"] = account_selectors.get_user(user, query.requester).pk
    with as_field_error("assignee"):
        if query.assignee == "me":
            refs["assignee_id"] = user.pk
        elif query.assignee == "none":
            refs["unassigned"] = True
        elif query.assignee:
            refs["assignee_id"] = account_selectors.get_user(user, query.assignee).pk
    return selectors.TicketFilters(
        status=_choices(query.status, Status.values, "status"),
        priority=[Priority.from_key(p) for p in priorities] if priorities else None,
        category_id=query.category,
        tag=query.tag,
        channel=query.channel,
        created_after=query.created_after,
        created_before=query.created_before,
        q=query.q,
        **refs,
    )


@router.get("/tickets", response=TicketPage)
def list_tickets(request, query: Query[TicketQuery]):
    """A page read as the columns it shows (LIST_VALUES) and the tags as (ticket, name)
    pairs: building model instances for every related row cost more than the rest."""
    user = request.user
    before = _decode_cursor(query.cursor) if query.cursor else None
    rows = selectors.list_ticket_values(
        user, _filters(user, query), LIST_VALUES, limit=query.limit + 1, before_number=before
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    tags = selectors.tag_names([row["pk"] for row in rows]) if user.is_agent else None
    items = [_listed_out(row, None if tags is None else tags.get(row["pk"], [])) for row in rows]
    next_cursor = _encode_cursor(rows[-1]["pk"]) if more else None
    return _answer(request, {"items": items, "next_cursor": next_cursor})


def _category(category_id: int | None):
    if category_id is None:
        return None
    with as_field_error("category"):
        return selectors.get_category(category_id)


def _given(payload: Schema) -> set[str]:
    return {k for k in payload.model_fields_set if getattr(payload, k) not in (None, [], "")}


@router.post("/tickets", response={201: TicketDetailOut})
def create_ticket(request, payload: TicketIn):
    user = request.user
    services.check_fields_allowed(user, _given(payload), creating=True)
    refs: dict = {}
    with as_field_error("requester"):
        if payload.requester:
            refs["requester"] = account_selectors.get_user(user, payload.requester)
    with as_field_error("organization"):
        if payload.organization:
            refs["organization"] = account_selectors.get_organization(user, payload.organization)
    with as_field_error("group"):
        if payload.group:
            refs["group"] = account_selectors.get_group(user, payload.group)
    with as_field_error("assignee"):
        if payload.assignee:
            refs["assignee"] = account_selectors.get_user(user, payload.assignee)
    ticket = services.create_ticket(
        actor=user,
        subject=payload.subject,
        description=payload.description,
        priority=payload.priority,
        category=_category(payload.category),
        channel=payload.channel,
        tags=payload.tags,
        **refs,
    )
    return _answer(request, _ticket_out(ticket, user, detail=True), 201)


@router.get("/tickets/{number}", response=TicketDetailOut)
def get_ticket(request, number: int):
    ticket = selectors.get_ticket(request.user, number)
    return _answer(request, _ticket_out(ticket, request.user, detail=True))


def _expected_version(request, body_version: int | None) -> int | None:
    if body_version is not None:
        return body_version
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if not header:
        return None
    if not header.isdigit():
        raise InvalidInput.for_field("If-Match", _("Send the ticket version as a number."))
    return int(header)


@router.patch("/tickets/{number}", response=TicketDetailOut)
def update_ticket(request, number: int, payload: TicketPatch):
    user = request.user
    ticket = selectors.get_ticket(user, number)
    changes = payload.dict(exclude_unset=True)
    version = _expected_version(request, changes.pop("version", None))
    services.check_fields_allowed(user, changes, creating=False)
    if "category" in changes:
        changes["category"] = _category(changes["category"])
    with as_field_error("group"):
        if changes.get("group"):
            changes["group"] = account_selectors.get_group(user, changes["group"])
    with as_field_error("assignee"):
        if changes.get("assignee"):
            changes["assignee"] = account_selectors.get_user(user, changes["assignee"])
    ticket = services.update_ticket(
        actor=user, ticket=ticket, channel=Channel.API, expected_version=version, **changes
    )
    return _answer(request, _ticket_out(ticket, user, detail=True))


@router.get("/tickets/{number}/comments", response=list[CommentOut])
def list_comments(request, number: int):
    ticket = selectors.get_ticket(request.user, number)
    return list(selectors.ticket_comments(request.user, ticket))


@router.post("/tickets/{number}/comments", response={201: CommentOut})
def add_comment(request, number: int, payload: CommentIn):
    user = request.user
    ticket = selectors.get_ticket(user, number)
    attachments = list(
        selectors.ticket_attachments(user, ticket).filter(pk__in=payload.attachments)
    )
    if len(attachments) != len(set(payload.attachments)):
        raise InvalidInput.for_field("attachments", _("Attachment not found on this ticket."))
    comment = services.add_comment(
        actor=user,
        ticket=ticket,
        body=payload.body,
        public=payload.public,
        channel=Channel.API,
        attachments=attachments,
    )
    return Reply(201, comment)


@router.get("/tickets/{number}/attachments", response=list[AttachmentOut])
def list_attachments(request, number: int):
    ticket = selectors.get_ticket(request.user, number)
    return list(selectors.ticket_attachments(request.user, ticket))


@router.post("/tickets/{number}/attachments", response={201: AttachmentOut})
def upload_attachment(request, number: int, file: File[UploadedFile], public: Form[bool] = True):
    ticket = selectors.get_ticket(request.user, number)
    attachment = services.add_attachment(
        actor=request.user,
        ticket=ticket,
        file=file,
        filename=file.name or "",
        content_type=file.content_type or "",
        public=public,
        channel=Channel.API,
    )
    return Reply(201, attachment)


@router.get("/tickets/{number}/attachments/{attachment_id}", response={200: None})
def download_attachment(request, number: int, attachment_id: int):
    ticket = selectors.get_ticket(request.user, number)
    attachment = selectors.get_attachment(request.user, ticket, attachment_id)
    return attachment_response(attachment)


@router.get("/tickets/{number}/history", response=list[EventOut])
def ticket_history(request, number: int):
    ticket = selectors.get_ticket(request.user, number)
    events = list(selectors.ticket_history(request.user, ticket))
    if not request.user.is_agent:
        for event in events:  # notes name rules, macros and internal comments
            event.note = ""
    return events


def _escalate(request, number: int, payload: EscalationIn, *, upwards: bool):
    user = request.user
    ticket = selectors.get_ticket(user, number)
    services.require_agent(user)
    group = None
    with as_field_error("group"):
        if payload.group:
            group = account_selectors.get_group(user, payload.group)
    ticket = services.escalate_ticket(
        actor=user,
        ticket=ticket,
        reason=payload.reason,
        group=group,
        upwards=upwards,
        channel=Channel.API,
        expected_version=_expected_version(request, payload.version),
    )
    return _answer(request, _ticket_out(ticket, user, detail=True))


@router.post("/tickets/{number}/escalate", response=TicketDetailOut)
def escalate_ticket(request, number: int, payload: EscalationIn):
    return _escalate(request, number, payload, upwards=True)


@router.post("/tickets/{number}/deescalate", response=TicketDetailOut)
def deescalate_ticket(request, number: int, payload: EscalationIn):
    return _escalate(request, number, payload, upwards=False)


@router.post("/tickets/{number}/merge", response=TicketDetailOut)
def merge_ticket(request, number: int, payload: MergeIn):
    user = request.user
    source = selectors.get_ticket(user, number)
    target = selectors.get_ticket(user, payload.into)
    target = services.merge_tickets(actor=user, source=source, target=target, channel=Channel.API)
    return _answer(request, _ticket_out(selectors.get_ticket(user, target.pk), user, detail=True))


@router.post("/tickets/{number}/links", response=TicketDetailOut)
def link_ticket(request, number: int, payload: LinkIn):
    return _link(request, number, payload.number, linked=True)


@router.delete("/tickets/{number}/links/{other}", response=TicketDetailOut)
def unlink_ticket(request, number: int, other: int):
    return _link(request, number, other, linked=False)


def _link(request, number: int, other_number: int, *, linked: bool):
    user = request.user
    ticket = selectors.get_ticket(user, number)
    other = selectors.get_ticket(user, other_number)
    services.link_tickets(
        actor=user, ticket=ticket, other=other, channel=Channel.API, linked=linked
    )
    return _answer(request, _ticket_out(selectors.get_ticket(user, number), user, detail=True))


@router.get("/categories", response=list[CategoryOut])
def list_categories(request):
    return list(selectors.active_categories())


@router.post("/categories", response={201: CategoryOut})
def create_category(request, payload: CategoryIn):
    parent = _category(payload.parent)
    return Reply(
        201, services.create_category(actor=request.user, name=payload.name, parent=parent)
    )
