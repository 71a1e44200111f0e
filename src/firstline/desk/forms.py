from django import forms
from django.db.models import F, Q
from django.db.models.expressions import OrderBy
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Group, Organization
from firstline.automation import selectors as automation_selectors
from firstline.automation.models import Macro
from firstline.core.forms import MultipleFileField
from firstline.tickets import lifecycle
from firstline.tickets.models import Category, Channel, Priority, Status
from firstline.tickets.selectors import TicketFilters

from . import selectors

SORTS = {
    "number": ("pk",),
    "subject": ("subject", "pk"),
    "status": ("status", "-pk"),
    "priority": ("priority", "-pk"),
    "requester": ("requester__username", "-pk"),
    "assignee": ("assignee__username", "-pk"),
    "updated": ("updated_at", "pk"),
    "created": ("created_at", "pk"),
    # The earliest SLA due time not met yet (the SLA's copy on the ticket row, in the work
    # index); tickets without one (no SLA, paused) come last.
    "due": (F("sla_due_at").asc(nulls_last=True), "pk"),
}
DEFAULT_SORT = "-priority"
PRIORITY_CHOICES = [(p.key, p.label) for p in Priority]


def sort_order(sort: str) -> list[str]:
    descending = sort.startswith("-")
    fields = SORTS.get(sort.lstrip("-"), SORTS["priority"])
    if not descending:
        return list(fields)
    return [_reversed(f) for f in fields]


def _reversed(field):
    if isinstance(field, OrderBy):  # an expression: nulls stay last either way
        expression = field.expression
        if field.descending:
            return expression.asc(nulls_last=True)
        return expression.desc(nulls_last=True)
    return field[1:] if field.startswith("-") else f"-{field}"


_ASSIGNEE = {"label": _("Assignee"), "required": False}


class _AgentFilterField(forms.ChoiceField):
    """The assignee filter: anyone, unassigned, or one of the agents. Its choices are only
    the first two; the agents (hundreds on a large desk, the same cached list for everyone)
    are checked as a set and shown from cached HTML (widgets.lighten), instead of being
    copied and normalized choice by choice on every page."""

    def __init__(self, agents: list[tuple[str, str]], **kwargs):
        super().__init__(choices=[("", _("Anyone")), ("none", _("Unassigned"))], **kwargs)
        self.agent_values = {value for value, _label in agents}

    def valid_value(self, value) -> bool:
        return str(value) in self.agent_values or super().valid_value(value)


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Unresolved")), ("any", _("Any status")), *Status.choices],
    )
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("Any")), *PRIORITY_CHOICES]
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        required=False,
        queryset=Category.objects.filter(is_active=True),
        empty_label=_("Any"),
    )
    organization = forms.ModelChoiceField(
        label=_("Organization"),
        required=False,
        queryset=Organization.objects.all(),
        to_field_name="slug",
        empty_label=_("Any"),
    )
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)  # see __init__
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("Any")), *Channel.choices]
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    sort = forms.ChoiceField(
        required=False,
        choices=[(s, s) for key in SORTS for s in (key, f"-{key}")],
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        agents = selectors.reference_choices()["agent"]
        self.fields["assignee"] = _AgentFilterField(agents, **_ASSIGNEE)

    def filters(self) -> TicketFilters:
        data = getattr(self, "cleaned_data", {})
        status = data.get("status")
        statuses = (
            None if status == "any" else [status] if status else list(lifecycle.ACTIVE_STATUSES)
        )
        assignee = data.get("assignee")
        return TicketFilters(
            status=statuses,
            priority=[Priority.from_key(data["priority"])] if data.get("priority") else None,
            category_id=data["category"].pk if data.get("category") else None,
            organization_id=data["organization"].pk if data.get("organization") else None,
            unassigned=assignee == "none",
            assignee_id=int(assignee) if assignee and assignee != "none" else None,
            channel=data.get("channel") or None,
            tag=data.get("tag") or None,
            q=data.get("q") or None,
        )

    def sort_key(self) -> str:
        return getattr(self, "cleaned_data", {}).get("sort") or DEFAULT_SORT


def _groups_serving(organization, **filters):
    serving = Q(organizations__isnull=True)
    if organization is not None:
        serving |= Q(organizations=organization)
    return Group.objects.filter(serving, is_active=True, **filters).distinct().order_by("name")


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class TicketPropertiesForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    seen_event = forms.IntegerField(widget=forms.HiddenInput, required=False)
    status = forms.ChoiceField(label=_("Status"))
    priority = forms.ChoiceField(label=_("Priority"), choices=PRIORITY_CHOICES)
    category = forms.ModelChoiceField(
        label=_("Category"),
        required=False,
        queryset=Category.objects.filter(is_active=True),
        empty_label=_("None"),
    )
    group = forms.ModelChoiceField(label=_("Group"), queryset=None, required=False)
    assignee = AgentChoiceField(
        label=_("Assignee"), queryset=None, required=False, empty_label=_("Unassigned")
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=500, help_text=_("Separate with commas.")
    )

    def __init__(self, *args, ticket, seen_event=None, **kwargs):
        self.ticket = ticket
        kwargs.setdefault("initial", self.initial_for(ticket, seen_event))
        super().__init__(*args, **kwargs)
        allowed = sorted(lifecycle.TRANSITIONS[ticket.status])
        self.fields["status"].choices = [(s, Status(s).label) for s in [ticket.status, *allowed]]
        tier = {"tier": ticket.group.tier} if ticket.group else {}
        self.fields["group"].queryset = _groups_serving(ticket.organization, **tier)
        self.fields["assignee"].queryset = selectors.assignable_agents(ticket.group)

    @staticmethod
    def initial_for(ticket, seen_event):
        return {
            "version": ticket.version,
            "seen_event": seen_event,
            "status": ticket.status,
            "priority": Priority(ticket.priority).key,
            "category": ticket.category_id,
            "group": ticket.group_id,
            "assignee": ticket.assignee_id,
            "tags": ", ".join(t.name for t in ticket.tags.all()),
        }

    def changes(self) -> dict:
        """Only what the agent actually changed, so the history records nothing else."""
        data, t = self.cleaned_data, self.ticket
        current = {
            "status": t.status,
            "priority": Priority(t.priority).key,
            "category": t.category,
            "group": t.group,
            "assignee": t.assignee,
        }
        changes = {k: data[k] for k, v in current.items() if data.get(k) != v}
        if changes.get("group", False) is None:
            del changes["group"]
        tags = sorted({x.strip().lower() for x in data["tags"].split(",") if x.strip()})
        if tags != sorted(x.name for x in t.tags.all()):
            changes["tags"] = tags
        return changes


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply"), widget=forms.Textarea(attrs={"rows": 6}), max_length=100_000
    )
    visibility = forms.ChoiceField(
        label=_("Visibility"),
        choices=[("public", _("Public reply")), ("internal", _("Internal note"))],
        initial="public",
        widget=forms.RadioSelect,
    )
    files = MultipleFileField()
    # Macros whose field changes are applied when the reply is sent (see desk/_macros.html).
    macros = forms.ModelMultipleChoiceField(
        queryset=Macro.objects.filter(is_active=True),
        required=False,
        widget=forms.MultipleHiddenInput,
    )

    def chosen_macros(self) -> list[Macro]:
        """The macros ticked to apply with this reply, in the order they were chosen; no query
        when there are none."""
        ids = [int(i) for i in (self["macros"].value() or []) if str(i).isdigit()]
        if not ids:
            return []
        found = {m.pk: m for m in Macro.objects.filter(pk__in=ids, is_active=True)}
        return [found[i] for i in dict.fromkeys(ids) if i in found]


def reply_form_with_macro(data, *, user, ticket) -> ReplyForm:
    """The reply form as the agent filled it, with the chosen macro's text added after what
    they typed (never instead of it) and the macro among those to apply."""
    body = data.get("body", "")
    ids = [i for i in data.getlist("macros") if i.isdigit()]
    pick = data.get("macro_pick", "")
    macro = (
        automation_selectors.macros_for(user).filter(pk=pick).first() if pick.isdigit() else None
    )
    if macro is not None:
        text = automation_selectors.render_macro(user, ticket, macro)
        body = f"{body.rstrip()}\n\n{text}" if body.strip() else text
        if macro.changes and str(macro.pk) not in ids:
            ids.append(str(macro.pk))
    visibility = data.get("visibility") if data.get("visibility") == "internal" else "public"
    return ReplyForm(initial={"body": body, "macros": ids, "visibility": visibility})


class EscalationForm(forms.Form):
    group = forms.ModelChoiceField(label=_("To group"), queryset=None, required=False)
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(self, *args, ticket, upwards: bool, **kwargs):
        super().__init__(*args, prefix="up" if upwards else "down", **kwargs)
        tier = ticket.group.tier if ticket.group else 0
        bound = {"tier__gt": tier} if upwards else {"tier__lt": tier}
        self.fields["group"].queryset = _groups_serving(ticket.organization, **bound)
        self.fields["group"].empty_label = (
            _("The next tier up") if upwards else _("The next tier down")
        )


class MergeForm(forms.Form):
    into = forms.IntegerField(label=_("Merge into ticket number"), min_value=1)


class LinkForm(forms.Form):
    number = forms.IntegerField(label=_("Related ticket number"), min_value=1)


class NewTicketForm(forms.Form):
    requester = forms.CharField(
        label=_("Requester"), max_length=254, help_text=_("Username or e-mail address.")
    )
    channel = forms.ChoiceField(
        label=_("Received by"),
        choices=[(c, Channel(c).label) for c in ("phone", "walk_in", "email", "chat", "web")],
    )
    subject = forms.CharField(label=_("Subject"), max_length=255)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea, max_length=100_000
    )
    category = forms.ModelChoiceField(
        label=_("Category"), required=False, queryset=Category.objects.filter(is_active=True)
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=PRIORITY_CHOICES, initial="normal")
    group = forms.ModelChoiceField(
        label=_("Group"),
        required=False,
        queryset=None,
        help_text=_("Empty: the first-line group serving the requester."),
    )
    assignee = AgentChoiceField(label=_("Assignee"), required=False, queryset=None)
    files = MultipleFileField()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["group"].queryset = Group.objects.filter(is_active=True)
        self.fields["assignee"].queryset = selectors.all_agents()

    def clean_requester(self):
        found = selectors.find_person(self.user, self.cleaned_data["requester"])
        if found is None:
            raise forms.ValidationError(_("Nobody with this username or e-mail address."))
        return found


class SaveFilterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    queue = forms.CharField(widget=forms.HiddenInput, max_length=80)
    query = forms.CharField(widget=forms.HiddenInput, required=False, max_length=1000)


class BulkForm(forms.Form):
    tickets = forms.TypedMultipleChoiceField(coerce=int, choices=())
    assignee = AgentChoiceField(label=_("Assign to"), required=False, queryset=None)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", "—"), *Status.choices]
    )
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", "—"), *PRIORITY_CHOICES]
    )
    group = forms.ModelChoiceField(label=_("Move to group"), required=False, queryset=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = self.data.getlist("tickets") if hasattr(self.data, "getlist") else []
        self.fields["tickets"].choices = [(n, n) for n in numbers]
        self.fields["tickets"].error_messages["required"] = _("Select at least one ticket.")
        self.fields["assignee"].queryset = selectors.all_agents()
        self.fields["group"].queryset = Group.objects.filter(is_active=True)

    def changes(self) -> dict:
        data = self.cleaned_data
        return {k: data[k] for k in ("assignee", "status", "priority", "group") if data.get(k)}
