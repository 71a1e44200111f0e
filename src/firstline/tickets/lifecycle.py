"""The ticket state machine: the only place that knows which status may follow which."""

from django.utils.translation import gettext as _

from firstline.core.errors import InvalidInput

from .models import Status

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.RESOLVED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.RESOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.RESOLVED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}

# A requester may mark their request solved, or reopen it while it is resolved.
REQUESTER_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.RESOLVED}),
    Status.OPEN: frozenset({Status.RESOLVED}),
    Status.PENDING: frozenset({Status.RESOLVED}),
    Status.ON_HOLD: frozenset({Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.OPEN}),
    Status.CLOSED: frozenset(),
}

ACTIVE_STATUSES = frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD})


def check_transition(current: str, target: str, *, by_requester: bool = False) -> None:
    if target not in Status.values:
        message = _("Unknown status '%(status)s'.") % {"status": target}
        raise InvalidInput.for_field("status", message)
    allowed = (REQUESTER_TRANSITIONS if by_requester else TRANSITIONS)[current]
    if target not in allowed:
        names = ", ".join(sorted(allowed)) or _("none: the ticket is closed")
        message = _("A ticket cannot go from '%(current)s' to '%(target)s' (allowed: %(names)s).")
        raise InvalidInput.for_field(
            "status", message % {"current": current, "target": target, "names": names}
        )


def status_after_requester_reply(current: str) -> str:
    """A requester's answer ends the wait on them and reopens a resolved ticket."""
    if current in (Status.PENDING, Status.RESOLVED):
        return Status.OPEN
    return current


def status_after_agent_reply(current: str) -> str:
    return Status.OPEN if current == Status.NEW else current
