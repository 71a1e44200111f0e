"""Writes of the agent workspace's own data (saved filters, in-app notifications)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.core import clock
from firstline.core.bulk import insert_rows
from firstline.core.errors import Conflict, InvalidInput

from .models import Notification, SavedFilter

if TYPE_CHECKING:
    from firstline.channels.notices import Plan

DIGEST_TICKETS = 50  # ticket numbers a digest notification keeps


@transaction.atomic
def save_filter(*, user: User, name: str, queue: str, query: str) -> SavedFilter:
    name = name.strip()
    if not name:
        raise InvalidInput.for_field("name", _("Give the filter a name."))
    if len(name) > 80 or len(query) > 1000:
        raise InvalidInput.for_field("name", _("The name or the filter is too long."))
    if SavedFilter.objects.filter(user=user, name__iexact=name).exists():
        raise Conflict.for_field("name", _("You already have a filter with this name."))
    return SavedFilter.objects.create(user=user, name=name, queue=queue, query=query)


@transaction.atomic
def delete_filter(*, user: User, saved_filter_id: int) -> None:
    SavedFilter.objects.filter(user=user, pk=saved_filter_id).delete()


@transaction.atomic
def notify_in_app(*, plan: Plan) -> int:
    """Stores a notices plan (see channels.notices) as notifications for the agents in it:
    one per ticket, or one digest per person and kind. Returns how many were stored."""
    now = clock.now()
    rows = [
        Notification(
            recipient=person,
            kind=notice.kind,
            ticket=notice.ticket,
            data=notice.data,
            created_at=now,
        )
        for notice, people in plan.single
        for person in people
        if person.is_agent
    ]
    for (_pk, kind), (person, notices) in plan.digests.items():
        if person.is_agent:
            numbers = [n.ticket.pk for n in notices[:DIGEST_TICKETS]]
            rows.append(
                Notification(
                    recipient=person,
                    kind=kind,
                    count=len(notices),
                    data={"tickets": numbers},
                    created_at=now,
                )
            )
    insert_rows(Notification, rows)
    return len(rows)


@transaction.atomic
def mark_notifications_read(*, user: User, notification_id: int | None = None) -> int:
    """Marks one of the user's notifications, or all of them, as read."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=clock.now())
