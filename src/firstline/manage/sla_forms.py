"""Forms of the SLA administration pages: calendars, policies and organization contracts."""

import zoneinfo
from datetime import time

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Group, Organization, User
from firstline.sla import business_time as bt
from firstline.sla.models import WEEKDAY_NAMES, Calendar, CalendarDay, Policy, Target
from firstline.sla.services import TargetMinutes
from firstline.tickets.models import Category, Channel, Priority

HOURS_HELP = _("Working hours, e.g. 09:00-12:00, 13:00-18:00; empty: closed.")


def _zones() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(zoneinfo.available_timezones()) if "/" in z or z == "UTC"]


def _hours_text(start: time, end: time) -> str:
    return f"{start:%H:%M}-{'24:00' if end == time(0) else f'{end:%H:%M}'}"


class CalendarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    time_zone = forms.ChoiceField(label=_("Time zone"), initial="UTC")
    always_open = forms.BooleanField(
        label=_("Open 24/7"),
        required=False,
        help_text=_(
            "Every hour of every day counts, except closed days; weekly hours are ignored."
        ),
    )

    def __init__(self, *args, calendar: Calendar | None = None, **kwargs):
        if calendar is not None:
            initial = {
                "name": calendar.name,
                "time_zone": calendar.time_zone,
                "always_open": calendar.always_open,
            }
            for key in bt.WEEKDAYS:
                initial[key] = ""
            for h in calendar.hours.all():
                key = bt.WEEKDAYS[h.weekday]
                text = _hours_text(h.start, h.end)
                initial[key] = f"{initial[key]}, {text}" if initial[key] else text
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _zones()
        for weekday, key in enumerate(bt.WEEKDAYS):
            self.fields[key] = forms.CharField(
                label=WEEKDAY_NAMES[weekday],
                required=False,
                max_length=200,
                help_text=HOURS_HELP if weekday == 0 else "",
            )

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "time_zone": data["time_zone"],
            "always_open": data["always_open"],
            "hours": {day: data.get(key, "") for day, key in enumerate(bt.WEEKDAYS)},
        }


class HolidayImportForm(forms.Form):
    country = forms.CharField(
        label=_("Country"),
        max_length=3,
        help_text=_("ISO code, e.g. CN, US, DE, GB."),
    )
    subdivision = forms.CharField(
        label=_("Region"),
        max_length=10,
        required=False,
        help_text=_("Optional: a state or province code, e.g. CA for California."),
    )
    first_year = forms.IntegerField(label=_("From year"), min_value=1990, max_value=2100)
    last_year = forms.IntegerField(label=_("To year"), min_value=1990, max_value=2100)

    def __init__(self, *args, **kwargs):
        year = timezone.now().year
        kwargs.setdefault("initial", {"first_year": year, "last_year": year + 1})
        super().__init__(*args, prefix="holidays", **kwargs)


class CalendarDayForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(
        label=_("Kind"), choices=CalendarDay.Kind.choices, initial=CalendarDay.Kind.CLOSED
    )
    name = forms.CharField(
        label=_("Name"), max_length=200, required=False, help_text=_("E.g. Office move.")
    )
    intervals = forms.CharField(
        label=_("Hours"),
        max_length=200,
        required=False,
        help_text=_("Working days only; empty: the usual hours."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="day", **kwargs)


TARGET_FIELDS = [t.value for t in Target]


def target_field_name(priority: Priority, target: str) -> str:
    return f"{priority.key}_{target}"


def _staff_to_notify():
    return User.objects.filter(is_active=True, role__in=["supervisor", "admin", "agent"]).order_by(
        "first_name", "username"
    )


class NotifyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.display_name} ({obj.username})"


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    calendar = forms.ModelChoiceField(label=_("Calendar"), queryset=Calendar.objects.all())
    warning_percent = forms.IntegerField(
        label=_("Warning at"),
        min_value=0,
        max_value=100,
        initial=75,
        help_text=_("Percent of a target's time used when agents are warned; 0: no warning."),
    )
    pause_when_pending = forms.BooleanField(
        label=_("Pause while pending"),
        required=False,
        initial=True,
        help_text=_("While the ticket waits on the requester."),
    )
    pause_when_on_hold = forms.BooleanField(
        label=_("Pause while on hold"), required=False, initial=True
    )
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organizations"),
        queryset=Organization.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any."),
    )
    categories = forms.ModelMultipleChoiceField(
        label=_("Categories"),
        queryset=Category.objects.order_by("full_name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any. A category covers its subcategories."),
    )
    priorities = forms.TypedMultipleChoiceField(
        label=_("Priorities"),
        choices=Priority.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any."),
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any."),
    )
    groups = forms.ModelMultipleChoiceField(
        label=_("Groups"),
        queryset=Group.objects.order_by("tier", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any."),
    )
    raise_priority = forms.BooleanField(label=_("Raise the priority one step"), required=False)
    escalate_to_next_tier = forms.BooleanField(
        label=_("Move to the next tier's group"), required=False
    )
    notify_user = NotifyChoiceField(
        label=_("Also notify"),
        queryset=None,
        required=False,
        empty_label=_("Nobody else"),
        help_text=_("A supervisor told of every breach, besides the assignee and the group."),
    )

    DETAILS = ("name", "is_active", "calendar", "warning_percent")
    PAUSES = ("pause_when_pending", "pause_when_on_hold")
    CONDITIONS = ("organizations", "categories", "priorities", "channels", "groups")
    ACTIONS = ("raise_priority", "escalate_to_next_tier", "notify_user")

    def __init__(self, *args, policy: Policy | None = None, **kwargs):
        if policy is not None:
            initial = {
                name: getattr(policy, name)
                for name in (*self.DETAILS, *self.PAUSES, "priorities", "channels")
            }
            initial |= {name: getattr(policy, name) for name in self.ACTIONS}
            for name in ("organizations", "categories", "groups"):
                initial[name] = list(getattr(policy, name).all())
            for t in policy.targets.all():
                for target in TARGET_FIELDS:
                    key = target_field_name(Priority(t.priority), target)
                    initial[key] = getattr(t, f"{target}_minutes")
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields["notify_user"].queryset = _staff_to_notify()
        for priority in Priority:
            for target in TARGET_FIELDS:
                self.fields[target_field_name(priority, target)] = forms.IntegerField(
                    label=f"{priority.label}: {Target(target).label}",
                    min_value=1,
                    required=False,
                )

    def _group(self, names):
        return [self[name] for name in names]

    def details(self):
        return self._group(self.DETAILS)

    def pauses(self):
        return self._group(self.PAUSES)

    def conditions(self):
        return self._group(self.CONDITIONS)

    def actions(self):
        return self._group(self.ACTIONS)

    def target_rows(self):
        """(priority label, [its three target fields])."""
        return [(p.label, [self[target_field_name(p, t)] for t in TARGET_FIELDS]) for p in Priority]

    def values(self) -> dict:
        data = self.cleaned_data
        values = {name: data[name] for name in (*self.DETAILS, *self.PAUSES, *self.ACTIONS)}
        values |= {name: data[name] for name in self.CONDITIONS}
        values["organizations"] = list(data["organizations"])
        values["categories"] = list(data["categories"])
        values["groups"] = list(data["groups"])
        values["targets"] = {
            int(p): TargetMinutes(*(data.get(target_field_name(p, t)) for t in TARGET_FIELDS))
            for p in Priority
        }
        return values


class ContractForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=Organization.objects.order_by("name")
    )
    policy = forms.ModelChoiceField(
        label=_("Policy"),
        queryset=Policy.objects.order_by("position", "pk"),
        required=False,
        empty_label=_("The general rules"),
        help_text=_("Applies to every ticket of the organization, whatever the conditions."),
    )
    calendar = forms.ModelChoiceField(
        label=_("Calendar"),
        queryset=Calendar.objects.all(),
        required=False,
        empty_label=_("The policy's calendar"),
        help_text=_("The organization's own business hours, for whichever policy applies."),
    )
    starts_on = forms.DateField(
        label=_("Starts on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("Ends on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, contract=None, **kwargs):
        if contract is not None:
            kwargs.setdefault(
                "initial",
                {
                    "organization": contract.organization,
                    "policy": contract.policy,
                    "calendar": contract.calendar,
                    "starts_on": contract.starts_on,
                    "ends_on": contract.ends_on,
                    "notes": contract.notes,
                },
            )
        super().__init__(*args, **kwargs)
