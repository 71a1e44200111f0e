"""Service level agreements: business calendars, policies with targets, organization contracts,
and each ticket's SLA clock with the warnings and breaches already acted on."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Group, Organization
from firstline.core import clock
from firstline.tickets.models import Category, Channel, Priority, Ticket

WEEKDAY_NAMES = [
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
]


class Target(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class Calendar(models.Model):
    """Business hours in one time zone: weekly intervals, holidays, one-off closures."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Every hour of every day counts (except closed days): the 24/7 calendar.
    always_open = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    """One working interval of a weekday, e.g. Monday 09:00-12:00. An end of 00:00 is 24:00."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=list(enumerate(WEEKDAY_NAMES)))
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["weekday", "start"]

    def __str__(self) -> str:
        return f"{self.weekday} {self.start:%H:%M}-{self.end:%H:%M}"


class CalendarDay(models.Model):
    """A date that differs from the weekly hours: closed (a holiday, a one-off closure) or open
    (an official make-up working day, with the calendar's usual hours unless given)."""

    class Kind(models.TextChoices):
        CLOSED = "closed", _("Closed")
        OPEN = "open", _("Working day")

    class Source(models.TextChoices):
        HOLIDAY = "holiday", _("Imported public holiday")
        MANUAL = "manual", _("Added by hand")

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField()
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CLOSED)
    name = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    # For open days: "09:00-12:00, 13:00-18:00"; empty means the calendar's usual working day.
    intervals = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="sla_calendar_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.kind} {self.name}".strip()


class Policy(models.Model):
    """Targets per priority, in business minutes of a calendar, for the tickets it matches.

    Policies are tried in `position` order; the first active one whose conditions all hold
    applies. An empty condition matches everything.
    """

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="policies")
    warning_percent = models.PositiveSmallIntegerField(default=75)
    pause_when_pending = models.BooleanField(default=True)
    pause_when_on_hold = models.BooleanField(default=True)
    # Conditions.
    organizations = models.ManyToManyField(Organization, blank=True, related_name="+")
    categories = models.ManyToManyField(Category, blank=True, related_name="+")
    groups = models.ManyToManyField(Group, blank=True, related_name="+")
    priorities = models.JSONField(default=list, blank=True)  # [1, 2, 3, 4]; empty: any
    channels = models.JSONField(default=list, blank=True)  # ["email", ...]; empty: any
    # Escalation actions on a breach (once per ticket and target).
    raise_priority = models.BooleanField(default=False)
    escalate_to_next_tier = models.BooleanField(default=False)
    notify_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.name

    @property
    def priority_names(self) -> list[str]:
        return [str(Priority(p).label) for p in self.priorities if p in Priority.values]

    @property
    def channel_names(self) -> list[str]:
        return [str(Channel(c).label) for c in self.channels if c in Channel.values]


class PolicyTarget(models.Model):
    """The business minutes a policy allows for one priority; empty means no target."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="targets")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["policy", "-priority"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority"], name="sla_target_unique")
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.priority}"


class Contract(models.Model):
    """An organization's own agreement: its policy and/or calendar win over the general rules."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="sla_contract"
    )
    policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.PROTECT, related_name="contracts"
    )
    calendar = models.ForeignKey(
        Calendar, null=True, blank=True, on_delete=models.PROTECT, related_name="contracts"
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["organization__name"]

    def __str__(self) -> str:
        return f"{self.organization}"


class TicketSla(models.Model):
    """A ticket's SLA clock: its policy, the due times of its targets and what is pending.

    `next_check_at` is the earliest warning or breach not yet acted on: the periodic sweep
    finds due tickets with one indexed range query. `pauses` keeps every period the ticket
    spent in a non-running status as [start, end or null, status]; which of them stop the
    clock is the policy's choice, so a re-targeted ticket keeps its true history.
    """

    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="sla"
    )
    policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    calendar = models.ForeignKey(
        Calendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    status = models.CharField(max_length=16)  # the ticket status the pauses were kept up to
    started_at = models.DateTimeField()
    pauses = models.JSONField(default=list, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)  # clock stopped by the policy
    warning_percent = models.PositiveSmallIntegerField(default=75)

    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    first_response_met_at = models.DateTimeField(null=True, blank=True)

    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_cycle = models.PositiveIntegerField(default=0)
    next_response_started_at = models.DateTimeField(null=True, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_warn_at = models.DateTimeField(null=True, blank=True)
    next_response_met_at = models.DateTimeField(null=True, blank=True)

    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_met_at = models.DateTimeField(null=True, blank=True)

    fired = models.PositiveSmallIntegerField(default=0)  # bits of warnings/breaches acted on
    next_due_at = models.DateTimeField(null=True, blank=True)  # earliest unmet due time
    next_check_at = models.DateTimeField(null=True, blank=True)
    business_seconds_used = models.PositiveIntegerField(default=0)  # resolution clock
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_check_at", "ticket"],
                name="sla_next_check_idx",
                condition=Q(next_check_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"SLA of #{self.ticket_id}"

    @property
    def state(self) -> str:
        """breached, warning, running, paused or met: what the agent queue shows."""
        from .tracking import overall_state

        return overall_state(self, clock.now())


class SlaEvent(models.Model):
    """A warning, breach or escalation acted on. Inserted before acting: the unique constraint
    makes each happen once per ticket and target (and reply cycle, for next response),
    however many sweeps or escalation tasks run at once."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        BREACH = "breach", _("Breach")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="sla_events", db_index=False
    )  # indexed by sla_event_once
    target = models.CharField(max_length=16, choices=Target.choices)
    cycle = models.PositiveIntegerField(default=0)  # next response: the requester reply's number
    kind = models.CharField(max_length=8, choices=Kind.choices)
    due_at = models.DateTimeField()  # the moment that was crossed
    claim = models.UUIDField()  # the sweep that inserted it
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "target", "cycle", "kind"], name="sla_event_once"
            )
        ]
        indexes = [models.Index(fields=["claim"], name="sla_event_claim_idx")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.target} {self.kind}"
