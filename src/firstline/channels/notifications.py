"""Who is told what by e-mail when tickets change; internal notes never leave the desk."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.dispatch import receiver

from firstline.core import clock
from firstline.tickets import signals
from firstline.tickets.models import Channel

from . import notices, outbound
from .models import OutboundMessage

ACK_INTERVAL = timedelta(minutes=10)  # at most one automatic answer per sender in this time


def _language(user) -> str:
    return (user.language if user is not None else "") or settings.LANGUAGE_CODE


def _links(ticket) -> dict:
    base = getattr(settings, "FIRSTLINE_BASE_URL", "").rstrip("/")
    if not base:
        return {"portal_url": "", "desk_url": ""}
    return {
        "portal_url": f"{base}/requests/{ticket.pk}/",
        "desk_url": f"{base}/desk/tickets/{ticket.pk}/",
    }


def _recently_answered(address: str) -> bool:
    """Asked for every new ticket: in plain SQL, since building the ORM query cost several
    times what the (indexed) query itself does."""
    since = connection.ops.adapt_datetimefield_value(clock.now() - ACK_INTERVAL)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {OutboundMessage._meta.db_table} WHERE kind = %s"
            " AND primary_recipient = %s AND created_at >= %s LIMIT 1",
            ["ack", address, since],
        )
        return cursor.fetchone() is not None


@receiver(signals.ticket_created)
def acknowledge(sender, ticket, actor, **kwargs):
    requester = ticket.requester
    if not requester.email or ticket.channel not in (Channel.EMAIL, Channel.WEB, Channel.API):
        return
    if _recently_answered(requester.email.lower()):
        return
    outbound.queue(
        kind="ack",
        ticket=ticket,
        recipients=[requester.email],
        language=_language(requester),
        context={"ticket": ticket, "recipient_name": requester.display_name, **_links(ticket)},
    )


@receiver(signals.reply_added)
def send_reply(sender, ticket, comment, actor, **kwargs):
    """A public reply reaches the requester and everyone copied in, but not its author."""
    if comment.channel == Channel.EMAIL and actor is not None and actor.pk == ticket.requester_id:
        return  # the requester's own mail: those they copied have it from them
    author_email = (actor.email if actor is not None else "").lower()
    people = [ticket.requester.email, *ticket.participants.values_list("email", flat=True)]
    recipients = [p for p in people if p and p.lower() != author_email]
    if not recipients:
        return
    outbound.queue(
        kind="reply",
        ticket=ticket,
        recipients=recipients,
        language=_language(ticket.requester),
        context={
            "ticket": ticket,
            "comment": comment,
            "author_name": actor.display_name if actor else "",
            **_links(ticket),
        },
    )


@receiver(signals.ticket_assigned)
def tell_assignee(sender, ticket, assignee, actor, **kwargs):
    if assignee == actor or not assignee.email:
        return
    outbound.queue(
        kind="assigned",
        ticket=ticket,
        recipients=[assignee.email],
        language=_language(assignee),
        context={"ticket": ticket, **_links(ticket)},
    )


@receiver(signals.ticket_escalated)
def tell_group(sender, ticket, group, reason, actor, upwards, **kwargs):
    members = group.members.filter(is_active=True).exclude(email="")
    if actor is not None:
        members = members.exclude(pk=actor.pk)
    for member in members:
        outbound.queue(
            kind="escalated",
            ticket=ticket,
            recipients=[member.email],
            language=_language(member),
            context={"ticket": ticket, "group": group, "reason": reason, **_links(ticket)},
        )


@receiver(signals.tickets_changed)
def tell_groups(sender, escalations, **kwargs):
    """Escalations of many tickets at once: each new group's members hear of their tickets,
    in a digest when there are many (see notices.py)."""
    members = {}
    for group in {group for _ticket, group, _reason in escalations}:
        members[group.pk] = list(group.members.filter(is_active=True).exclude(email=""))
    batch = [
        notices.Notice(
            kind="escalated",
            ticket=ticket,
            people=members[group.pk],
            context=_escalation_context(ticket, group, reason),
        )
        for ticket, group, reason in escalations
    ]
    notices.queue_emails(notices.plan(batch), digest_context=lambda _language: {})


def _escalation_context(ticket, group, reason):
    return lambda _language: {"ticket": ticket, "group": group, "reason": reason, **_links(ticket)}
