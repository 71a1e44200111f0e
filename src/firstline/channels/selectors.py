"""Reads of the e-mail channel for the administration pages: only administrators see
mailboxes, messages and templates; everyone else gets nothing."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.core.errors import NotFound

from .models import EmailTemplate, InboundMessage, Mailbox, OutboundMessage


def _sees_mail(actor: User) -> bool:
    return bool(actor.is_authenticated and actor.is_admin)


def mailboxes(actor: User) -> QuerySet[Mailbox]:
    found = Mailbox.objects.select_related("group", "organization", "category").order_by("address")
    return found if _sees_mail(actor) else found.none()


def get_mailbox(actor: User, mailbox_id: int) -> Mailbox:
    mailbox = mailboxes(actor).filter(pk=mailbox_id).first()
    if mailbox is None:
        raise NotFound(_("No mailbox %(id)s.") % {"id": mailbox_id})
    return mailbox


@dataclass(frozen=True)
class InboundFilters:
    status: str = ""
    mailbox: Mailbox | None = None


def inbound_messages(actor: User, filters: InboundFilters | None = None):
    """Received messages, newest first, without their raw bytes."""
    filters = filters or InboundFilters()
    messages = (
        InboundMessage.objects.defer("raw")
        .select_related("mailbox")
        .order_by("-received_at", "-pk")
    )
    if not _sees_mail(actor):
        return messages.none()
    if filters.status:
        messages = messages.filter(status=filters.status)
    if filters.mailbox is not None:
        messages = messages.filter(mailbox=filters.mailbox)
    return messages


def get_inbound_message(actor: User, message_id: int, *, with_raw: bool = True) -> InboundMessage:
    messages = InboundMessage.objects.select_related("mailbox")
    if not with_raw:
        messages = messages.defer("raw")
    if not _sees_mail(actor):
        messages = messages.none()
    message = messages.filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("No message %(id)s.") % {"id": message_id})
    return message


@dataclass(frozen=True)
class OutboundFilters:
    status: str = ""
    kind: str = ""


def outbound_messages(actor: User, filters: OutboundFilters | None = None):
    """The outbox, newest first, without the message bodies."""
    filters = filters or OutboundFilters()
    messages = OutboundMessage.objects.defer("body", "headers").order_by("-created_at", "-pk")
    if not _sees_mail(actor):
        return messages.none()
    if filters.status:
        messages = messages.filter(status=filters.status)
    if filters.kind:
        messages = messages.filter(kind=filters.kind)
    return messages


def get_outbound_message(actor: User, message_id: int) -> OutboundMessage:
    message = outbound_messages(actor).filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("No message %(id)s.") % {"id": message_id})
    return message


def email_templates(actor: User) -> dict[tuple[str, str], EmailTemplate]:
    """The administrators' own versions, by (kind, language)."""
    if not _sees_mail(actor):
        return {}
    return {(t.kind, t.language): t for t in EmailTemplate.objects.all()}


def get_email_template(actor: User, kind: str, language: str) -> EmailTemplate | None:
    """The own version of one template, or None while the built-in text is used."""
    if not _sees_mail(actor):
        return None
    return EmailTemplate.objects.filter(kind=kind, language=language).first()


def problem_counts(actor: User) -> dict[str, int]:
    """What needs an administrator: quarantined incoming and failed outgoing messages."""
    if not _sees_mail(actor):
        return {"quarantined": 0, "failed_outbound": 0}
    quarantined = InboundMessage.objects.filter(status=InboundMessage.Status.QUARANTINED)
    failed = OutboundMessage.objects.filter(status=OutboundMessage.Status.FAILED)
    return {"quarantined": quarantined.count(), "failed_outbound": failed.count()}
