"""GET /tickets/{number}/sla: a ticket's SLA timeline, the same numbers the desk shows.

Requesters may read the due times and whether each target is met, running, paused or
breached; the policy, calendar, warning times, time used and explanations are internal and
come back empty for them (null, or [] for pauses), as `group` does in the ticket itself.
"""

from datetime import datetime
from typing import Literal

from ninja import Field, Router, Schema

from . import selectors

router = Router(tags=["sla"])

TargetName = Literal["first_response", "next_response", "resolution"]
StateName = Literal["running", "warning", "breached", "paused", "met", "met_late"]
INTERNAL = "Not shown to requesters."


class SlaTargetOut(Schema):
    target: TargetName
    state: StateName = Field(description="`warning` is shown to requesters as `running`.")
    cycle: int = Field(description="Next response: which requester reply it answers.")
    started_at: datetime
    due_at: datetime | None = Field(description="Null while the clock is paused.")
    met_at: datetime | None
    minutes: int | None = Field(description=f"The target in business minutes. {INTERNAL}")
    warning_at: datetime | None = Field(description=INTERNAL)
    business_seconds_spent: int | None = Field(description=INTERNAL)
    business_seconds_remaining: int | None = Field(description=f"Negative when overdue. {INTERNAL}")
    explanation: str | None = Field(description=f"Why the due time is what it is. {INTERNAL}")


class SlaPauseOut(Schema):
    start: datetime
    end: datetime | None
    reason: str


class TicketSlaOut(Schema):
    number: int
    has_sla: bool = Field(description="False when no policy applies: then the rest is empty.")
    state: StateName | None
    paused_since: datetime | None
    policy: str | None = Field(description=INTERNAL)
    calendar: str | None = Field(description=INTERNAL)
    time_zone: str | None = Field(description=INTERNAL)
    warning_percent: int | None = Field(description=INTERNAL)
    targets: list[SlaTargetOut]
    pauses: list[SlaPauseOut] = Field(description=INTERNAL)


def _target_out(line: selectors.TargetLine, staff: bool) -> dict:
    data = {
        "target": line.target,
        "state": line.state if staff or line.state != "warning" else "running",
        "cycle": line.cycle,
        "started_at": line.started_at,
        "due_at": line.due_at,
        "met_at": line.met_at,
        "minutes": None,
        "warning_at": None,
        "business_seconds_spent": None,
        "business_seconds_remaining": None,
        "explanation": None,
    }
    if staff:
        data |= {
            "minutes": line.minutes,
            "warning_at": line.warning_at,
            "business_seconds_spent": int(line.spent.total_seconds()),
            "business_seconds_remaining": int(line.remaining.total_seconds()),
            "explanation": line.explanation,
        }
    return data


def timeline_out(number: int, timeline: selectors.Timeline | None, staff: bool) -> dict:
    if timeline is None:
        empty = dict.fromkeys(["state", "paused_since", "policy", "calendar", "time_zone"])
        return {"number": number, "has_sla": False, "warning_percent": None, "targets": [],
                "pauses": [], **empty}  # fmt: skip
    state = timeline.state if staff or timeline.state != "warning" else "running"
    return {
        "number": number,
        "has_sla": True,
        "state": state,
        "paused_since": timeline.paused_since,
        "policy": timeline.policy_name if staff else None,
        "calendar": timeline.calendar_name if staff else None,
        "time_zone": timeline.time_zone if staff else None,
        "warning_percent": timeline.warning_percent if staff else None,
        "targets": [_target_out(line, staff) for line in timeline.targets],
        "pauses": [{"start": p.start, "end": p.end, "reason": p.reason} for p in timeline.pauses]
        if staff
        else [],
    }


@router.get("/tickets/{number}/sla", response=TicketSlaOut)
def ticket_sla(request, number: int):
    """404 for a ticket the caller may not see, as every ticket endpoint."""
    timeline = selectors.ticket_timeline(request.user, number)
    return timeline_out(number, timeline, request.user.is_agent)
