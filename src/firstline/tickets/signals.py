"""What happened to tickets, for other apps (the e-mail outbox) to act on.

Sent inside the transaction of the change: a receiver's writes commit or roll back with it,
so a rolled-back change notifies nobody and a committed one loses no notification.
"""

from django.dispatch import Signal

# ticket (unsaved): receivers fill in the columns they keep on the ticket row (its SLA due
# time), so that it is written once; their own rows wait for ticket_created.
ticket_creating = Signal()
ticket_created = Signal()  # ticket, actor
ticket_saved = Signal()  # ticket, fields (the columns that changed; may be empty)
reply_added = Signal()  # ticket, comment, actor (public replies only)
note_added = Signal()  # ticket, comment, actor (internal notes; actor None for system notes)
ticket_assigned = Signal()  # ticket, assignee, actor
ticket_escalated = Signal()  # ticket, group, reason, actor, upwards
# Many tickets changed at once (escalate_many): changes = [(ticket, fields)],
# escalations = [(ticket, group, reason)]. Listeners act on the lot, not ticket by ticket.
tickets_changed = Signal()
