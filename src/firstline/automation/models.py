from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Group
from firstline.core import clock
from firstline.core.errors import InvalidInput
from firstline.tickets.models import Category, Priority, Status, Ticket

from . import schema


class RoutingMethod(models.TextChoices):
    MANUAL = "manual", _("Manual")
    ROUND_ROBIN = "round_robin", _("Round-robin")
    LEAST_LOADED = "least_loaded", _("Least-loaded")


class GroupRouting(models.Model):
    """How a group's new tickets find an agent; a group without one is routed by hand."""

    group = models.OneToOneField(
        Group, on_delete=models.CASCADE, primary_key=True, related_name="routing"
    )
    method = models.CharField(
        max_length=16, choices=RoutingMethod.choices, default=RoutingMethod.MANUAL
    )
    # Only agents whose skills (categories, languages) fit the ticket are candidates.
    use_skills = models.BooleanField(default=False)
    # Round-robin: the next ticket goes to the next available member after this one.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.group} ({self.method})"


class AgentAvailability(models.Model):
    """An agent's presence and skills for automatic assignment. No row: available, and able
    to handle every category and language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="availability",
    )
    is_away = models.BooleanField(default=False)
    away_since = models.DateTimeField(null=True, blank=True)
    # Empty: every category. A category includes the ones below it.
    categories = models.ManyToManyField(Category, blank=True, related_name="+")
    # Language codes (settings.LANGUAGES) of the requesters the agent can answer; empty: all.
    languages = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name_plural = "agent availabilities"

    def __str__(self) -> str:
        return f"{self.user} ({'away' if self.is_away else 'available'})"


class Trigger(models.TextChoices):
    CREATED = "created", _("Ticket created")
    UPDATED = "updated", _("Ticket updated")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACH = "sla_breach", _("SLA breach")
    TIME = "time", _("Time-based (checked every few minutes)")


class Match(models.TextChoices):
    ALL = "all", _("All conditions")
    ANY = "any", _("Any condition")


def _as_validation_error(error: InvalidInput) -> ValidationError:
    return ValidationError({key: messages for key, messages in error.errors.items()})


class Rule(models.Model):
    """When something happens to a ticket (trigger) and it matches (conditions), do this
    (actions). Rules run in `position` order."""

    name = models.CharField(max_length=200)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [
            models.Index(fields=["trigger", "is_active", "position"], name="rule_trigger_idx")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        try:
            self.conditions = schema.validate_conditions(self.conditions)
            self.actions = schema.validate_actions(self.actions)
        except InvalidInput as error:
            raise _as_validation_error(error) from None


class RuleRun(models.Model):
    """One execution of a rule on a ticket: what the rules list counts, how failures are
    seen, and what keeps a time-based rule from acting twice on the same wait."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    depth = models.PositiveSmallIntegerField(default=1)
    ran_at = models.DateTimeField(default=clock.now)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-ran_at", "-pk"]
        indexes = [
            models.Index(fields=["rule", "ticket", "ran_at"], name="rulerun_rule_ticket_idx")
        ]

    def __str__(self) -> str:
        return f"{self.rule} on #{self.ticket_id}"


class Macro(models.Model):
    """A canned response: reply text with placeholders, and field changes applied with it."""

    name = models.CharField(max_length=200, unique=True)
    body = models.TextField()
    changes = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def change_summary(self) -> list[str]:
        """The field changes in words, e.g. ["status: Pending", "tags: + vpn"]."""
        changes, parts = self.changes or {}, []
        if changes.get("status"):
            parts.append(gettext("status: %(v)s") % {"v": Status(changes["status"]).label})
        if changes.get("priority"):
            label = Priority.from_key(changes["priority"]).label
            parts.append(gettext("priority: %(v)s") % {"v": label})
        if changes.get("add_tags"):
            tags = ", ".join(changes["add_tags"])
            parts.append(gettext("tags: + %(v)s") % {"v": tags})
        if changes.get("assign_to_me"):
            parts.append(gettext("assign to me"))
        return parts

    def clean(self):
        try:
            self.changes = schema.validate_macro_changes(self.changes)
        except InvalidInput as error:
            raise _as_validation_error(error) from None
        unknown = schema.placeholders.unknown(self.body)
        if unknown:
            raise ValidationError(
                {"body": _("Unknown placeholder %(name)s.") % {"name": unknown[0]}}
            )
