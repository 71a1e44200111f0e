"""Writes of mailbox configuration."""

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from firstline.accounts.models import Group, Organization, User
from firstline.core.errors import Conflict, InvalidInput, NotAllowed

from .models import Mailbox

TOKEN_PREFIX = "flm_"


def require_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_("Only administrators can configure mailboxes."))


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_mailbox(
    *,
    actor: User | None,
    address: str,
    name: str = "",
    group: Group | None = None,
    organization: Organization | None = None,
    **settings,
) -> tuple[Mailbox, str]:
    """Returns the mailbox and its inbound token, which is shown once and never stored."""
    require_admin(actor)
    address = address.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidInput.for_field(
            "address", _("'%(address)s' is not an e-mail address.") % {"address": address}
        ) from None
    if Mailbox.objects.filter(address=address).exists():
        raise Conflict.for_field(
            "address", _("A mailbox '%(address)s' already exists.") % {"address": address}
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    mailbox = Mailbox.objects.create(
        address=address,
        name=name,
        group=group,
        organization=organization,
        inbound_token_digest=token_digest(secret),
        **settings,
    )
    return mailbox, secret


@transaction.atomic
def rotate_inbound_token(*, actor: User | None, mailbox: Mailbox) -> str:
    require_admin(actor)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    mailbox.inbound_token_digest = token_digest(secret)
    mailbox.save(update_fields=["inbound_token_digest"])
    return secret


# Administration pages: mailbox settings and e-mail templates.

MAILBOX_FIELDS = frozenset(
    {
        "address",
        "name",
        "is_active",
        "group",
        "organization",
        "category",
        "allowed_sender_domains",
        "imap_enabled",
        "imap_host",
        "imap_port",
        "imap_security",
        "imap_username",
        "imap_password",
        "imap_folder",
        "processed_folder",
        "after_import",
        "poll_interval",
    }
)
MIN_POLL_INTERVAL = 10  # seconds
EMAIL_TEMPLATE_KINDS = (
    "ack",
    "reply",
    "assigned",
    "escalated",
    "escalated_digest",
    "sla_warning",
    "sla_breach",
    "sla_warning_digest",
    "sla_breach_digest",
)


def _split_domains(value: str) -> list[str]:
    return [d.strip().lower() for d in value.replace("\n", ",").replace(" ", ",").split(",")]


def _clean_mailbox_fields(mailbox: Mailbox, fields: dict) -> dict[str, list[str]]:
    """Normalises `fields` in place; returns the errors by field of the mailbox they would
    make (the new values merged over the current ones)."""
    from django.core.validators import DomainNameValidator

    errors: dict[str, list[str]] = {}

    def error(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for key in ("address", "imap_host", "imap_username", "imap_folder", "processed_folder"):
        if key in fields:
            fields[key] = (fields[key] or "").strip()
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
    if "address" in fields:
        fields["address"] = fields["address"].lower()
        try:
            validate_email(fields["address"])
        except ValidationError:
            error(
                "address",
                _("'%(address)s' is not an e-mail address.") % {"address": fields["address"]},
            )
        else:
            taken = Mailbox.objects.filter(address=fields["address"]).exclude(pk=mailbox.pk)
            if taken.exists():
                error(
                    "address",
                    _("A mailbox '%(address)s' already exists.") % {"address": fields["address"]},
                )
    if "allowed_sender_domains" in fields:
        domains = []
        for domain in _split_domains(fields["allowed_sender_domains"] or ""):
            if not domain or domain in domains:
                continue
            try:
                DomainNameValidator()(domain)
            except ValidationError:
                error(
                    "allowed_sender_domains",
                    _("'%(domain)s' is not a domain name.") % {"domain": domain},
                )
            domains.append(domain)
        fields["allowed_sender_domains"] = ", ".join(domains)
    if "imap_port" in fields:
        port = fields["imap_port"]
        if port is None or not 1 <= port <= 65535:
            error("imap_port", _("The port must be a number from 1 to 65535."))
    if "poll_interval" in fields:
        interval = fields["poll_interval"]
        if interval is None or interval < MIN_POLL_INTERVAL:
            error(
                "poll_interval",
                _("Poll at most every %(seconds)s seconds.") % {"seconds": MIN_POLL_INTERVAL},
            )
    if "imap_security" in fields and fields["imap_security"] not in Mailbox.Security.values:
        error("imap_security", _("Choose how to connect to the IMAP server."))
    if "after_import" in fields and fields["after_import"] not in Mailbox.AfterImport.values:
        error("after_import", _("Choose what happens to a message after it is imported."))

    def value(key: str):
        return fields[key] if key in fields else getattr(mailbox, key)

    if value("imap_enabled"):
        if not value("imap_host"):
            error("imap_host", _("Enter the IMAP server to poll."))
        if not value("imap_username"):
            error("imap_username", _("Enter the user name to log in to the IMAP server with."))
        if not value("imap_folder"):
            error("imap_folder", _("Enter the folder to read new mail from."))
        if value("after_import") == Mailbox.AfterImport.MOVE and not value("processed_folder"):
            error("processed_folder", _("Enter the folder to move imported mail to."))
    return errors


@transaction.atomic
def update_mailbox(*, actor: User | None, mailbox: Mailbox, **fields) -> Mailbox:
    """Changes a mailbox's settings; only the fields given are written."""
    require_admin(actor)
    unknown = set(fields) - MAILBOX_FIELDS
    if unknown:
        raise TypeError(f"update_mailbox() got unknown fields: {', '.join(sorted(unknown))}")
    errors = _clean_mailbox_fields(mailbox, fields)
    if errors:
        first = next(iter(errors.values()))[0]
        raise InvalidInput(first if len(errors) == 1 else _("Check the mailbox settings."), errors)
    for key, new in fields.items():
        setattr(mailbox, key, new)
    if fields:
        mailbox.save(update_fields=sorted(fields))
    return mailbox


@transaction.atomic
def create_configured_mailbox(*, actor: User | None, address: str, **fields) -> tuple[Mailbox, str]:
    """create_mailbox, then every other setting checked as update_mailbox checks it; the
    inbound token is returned once, as create_mailbox returns it."""
    require_admin(actor)
    unknown = set(fields) - MAILBOX_FIELDS
    if unknown:
        raise TypeError(f"create_configured_mailbox() got unknown fields: {sorted(unknown)}")
    mailbox, secret = create_mailbox(actor=actor, address=address)
    update_mailbox(actor=actor, mailbox=mailbox, **fields)
    return mailbox, secret


def _require_template_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_("Only administrators can change e-mail templates."))


def _check_template_key(kind: str, language: str) -> None:
    from django.conf import settings as django_settings

    if kind not in EMAIL_TEMPLATE_KINDS:
        raise InvalidInput.for_field("kind", _("No e-mail template '%(kind)s'.") % {"kind": kind})
    if language not in dict(django_settings.LANGUAGES):
        raise InvalidInput.for_field(
            "language", _("No language '%(language)s'.") % {"language": language}
        )


def template_syntax_error(source: str) -> str | None:
    """Why `source` is not a valid Django template, or None if it compiles."""
    from django.template import Template, TemplateSyntaxError

    try:
        Template(source)
    except TemplateSyntaxError as exc:
        return _("Template error: %(error)s") % {"error": exc}
    return None


@transaction.atomic
def save_email_template(*, actor: User | None, kind: str, language: str, subject: str, body: str):
    """Stores the administrators' version of one notification in one language."""
    from firstline.core import clock

    from .models import EmailTemplate

    _require_template_admin(actor)
    _check_template_key(kind, language)
    subject = subject.replace("\r", " ").replace("\n", " ").strip()
    errors: dict[str, list[str]] = {}
    if not subject:
        errors["subject"] = [_("The subject cannot be empty.")]
    elif len(subject) > 255:
        errors["subject"] = [_("The subject can be at most 255 characters long.")]
    elif problem := template_syntax_error(subject):
        errors["subject"] = [problem]
    if not body.strip():
        errors["body"] = [_("The text cannot be empty.")]
    elif problem := template_syntax_error(body):
        errors["body"] = [problem]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors)
    template, _created = EmailTemplate.objects.update_or_create(
        kind=kind,
        language=language,
        defaults={"subject": subject, "body": body, "updated_at": clock.now()},
    )
    return template


@transaction.atomic
def reset_email_template(*, actor: User | None, kind: str, language: str) -> bool:
    """Back to the built-in text; returns whether there was an own version to remove."""
    from .models import EmailTemplate

    _require_template_admin(actor)
    _check_template_key(kind, language)
    deleted, _details = EmailTemplate.objects.filter(kind=kind, language=language).delete()
    return bool(deleted)
