"""Forms of the automation pages: rules as rows of conditions and actions, macros, routing and
skills. They turn what people type (a group's short name, a username, a category path) into
the ids rules store, and back; the services check the result."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from firstline.accounts.models import STAFF_ROLES, Group, Organization, User
from firstline.automation import schema
from firstline.automation.models import Match, RoutingMethod, Trigger
from firstline.core.errors import ServiceError
from firstline.tickets.models import Category, Channel, Priority, Status

# Rules.

CONDITION_FIELD_CHOICES = [("", "—")]
ACTION_CHOICES = [("", "—"), *schema.ACTION_LABELS.items()]
RECIPIENT_CHOICES = [("", "—"), *schema.RECIPIENT_LABELS.items()]


def _condition_field_choices():
    return [("", "—"), *schema.field_labels().items()]


def _operator_choices():
    return [("", "—"), *schema.OPERATOR_LABELS.items()]


def _by_key_or_label(value: str, choices) -> str | None:
    wanted = value.strip().casefold()
    for key, label in choices:
        if wanted in (str(key).casefold(), str(label).casefold()):
            return key
    return None


def _number(value: Decimal | float) -> str:
    number = Decimal(str(value))
    return str(number.quantize(Decimal(1))) if number == number.to_integral() else str(number)


def parse_value(kind: str, text: str):
    """The stored value for what was typed; ValueError with a message when unknown."""
    text = (text or "").strip()
    if kind == "status":
        found = _by_key_or_label(text, Status.choices)
    elif kind == "priority":
        found = _by_key_or_label(text, [(p.key, p.label) for p in Priority])
    elif kind == "channel":
        found = _by_key_or_label(text, Channel.choices)
    elif kind == "field":
        found = text.lower() if text.lower() in schema.CHANGEABLE_FIELDS else None
    elif kind == "text":
        found = text or None
    elif kind == "days":
        try:
            found = float(Decimal(text.replace(",", ".")))
        except (InvalidOperation, ValueError):
            found = None
    elif kind == "category":
        category = Category.objects.filter(full_name__iexact=text).first()
        found = category.pk if category else None
    elif kind == "group":
        group = Group.objects.filter(slug__iexact=text).first()
        found = group.pk if group else None
    elif kind == "organization":
        organization = Organization.objects.filter(slug__iexact=text).first()
        found = organization.pk if organization else None
    elif kind == "agent":
        agent = User.objects.filter(username__iexact=text, role__in=sorted(STAFF_ROLES)).first()
        found = agent.pk if agent else None
    else:
        found = None
    if found is None:
        raise ValueError(_("“%(value)s” is not known here.") % {"value": text} if text else "")
    return found


def display_value(kind: str, value) -> str:
    """What to show in the form for a stored value."""
    if value is None:
        return ""
    if kind == "days":
        return _number(value)
    if kind == "category":
        category = Category.objects.filter(pk=value).first()
        return category.full_name if category else ""
    if kind == "group":
        group = Group.objects.filter(pk=value).first()
        return group.slug if group else ""
    if kind == "organization":
        organization = Organization.objects.filter(pk=value).first()
        return organization.slug if organization else ""
    if kind == "agent":
        agent = User.objects.filter(pk=value).first()
        return agent.username if agent else ""
    return str(value)


class RuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    trigger = forms.ChoiceField(
        label=gettext_lazy("Trigger"),
        choices=Trigger.choices,
        help_text=gettext_lazy(
            "When the rule is checked. Time-based rules act once on each ticket for each stay "
            "in a status."
        ),
    )
    match = forms.ChoiceField(
        label=gettext_lazy("Run when"),
        choices=Match.choices,
        initial=Match.ALL,
        widget=forms.RadioSelect,
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)


class ConditionForm(forms.Form):
    field = forms.ChoiceField(label=gettext_lazy("Field"), required=False, choices=())
    op = forms.ChoiceField(label=gettext_lazy("Operator"), required=False, choices=())
    value = forms.CharField(label=gettext_lazy("Value"), required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = _condition_field_choices()
        self.fields["op"].choices = _operator_choices()

    def clean(self):
        data = super().clean()
        name = data.get("field")
        if not name:
            return {}  # an empty row, or one emptied to remove it
        ops, kind = schema.CONDITION_FIELDS[name]
        op = data.get("op")
        if op not in ops:
            labels = ", ".join(str(schema.OPERATOR_LABELS[o]) for o in ops)
            self.add_error("op", _("Choose one of: %(ops)s.") % {"ops": labels})
            return data
        row = {"field": name, "op": op}
        if op not in schema.NO_VALUE_OPS:
            try:
                row["value"] = parse_value(kind, data.get("value", ""))
            except ValueError as error:
                self.add_error("value", str(error) or _("A value is needed."))
                return data
        return row

    @staticmethod
    def initial_for(condition: dict) -> dict:
        kind = schema.CONDITION_FIELDS.get(condition.get("field"), ((), ""))[1]
        return {
            "field": condition.get("field"),
            "op": condition.get("op"),
            "value": display_value(kind, condition.get("value")),
        }


# What the `value` of each action refers to.
ACTION_VALUE_KINDS = {
    "set_status": "status",
    "set_priority": "priority",
    "set_category": "category",
    "assign": "agent",
    "move_group": "group",
    "add_tag": "text",
    "remove_tag": "text",
}


class ActionForm(forms.Form):
    type = forms.ChoiceField(label=gettext_lazy("Action"), required=False, choices=ACTION_CHOICES)
    value = forms.CharField(label=gettext_lazy("Value"), required=False, max_length=200)
    to = forms.ChoiceField(
        label=gettext_lazy("Recipient"), required=False, choices=RECIPIENT_CHOICES
    )
    subject = forms.CharField(label=gettext_lazy("Subject"), required=False, max_length=255)
    text = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        max_length=schema.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        data = super().clean()
        kind = data.get("type")
        if not kind:
            return {}
        row = {"type": kind}
        if kind in ACTION_VALUE_KINDS:
            value_kind = ACTION_VALUE_KINDS[kind]
            if kind in ("add_tag", "remove_tag"):
                row["value"] = (data.get("value") or "").strip().lower()
            else:
                try:
                    row["value"] = parse_value(value_kind, data.get("value", ""))
                except ValueError as error:
                    self.add_error("value", str(error) or _("A value is needed."))
                    return data
        if kind in ("move_group", "add_note", "send_email"):
            row["text"] = data.get("text", "")
        if kind == "send_email":
            row["to"], row["subject"] = data.get("to", ""), data.get("subject", "")
        return row

    @staticmethod
    def initial_for(action: dict) -> dict:
        kind = ACTION_VALUE_KINDS.get(action.get("type"), "")
        return {
            "type": action.get("type"),
            "value": display_value(kind, action.get("value")) if kind else "",
            "to": action.get("to", ""),
            "subject": action.get("subject", ""),
            "text": action.get("text", ""),
        }


class _RowsFormSet(forms.BaseFormSet):
    def rows(self) -> list[dict]:
        return [form.cleaned_data for form in self.forms if form.cleaned_data]


ConditionFormSet = forms.formset_factory(ConditionForm, formset=_RowsFormSet, extra=3)
ActionFormSet = forms.formset_factory(ActionForm, formset=_RowsFormSet, extra=2)


def rule_forms(data=None, rule=None) -> tuple[RuleForm, ConditionFormSet, ActionFormSet]:
    if rule is None:
        return (
            RuleForm(data),
            ConditionFormSet(data, prefix="conditions"),
            ActionFormSet(data, prefix="actions"),
        )
    initial = {
        "name": rule.name,
        "trigger": rule.trigger,
        "match": rule.match,
        "is_active": rule.is_active,
    }
    return (
        RuleForm(data, initial=initial),
        ConditionFormSet(
            data,
            prefix="conditions",
            initial=[ConditionForm.initial_for(c) for c in rule.conditions],
        ),
        ActionFormSet(
            data, prefix="actions", initial=[ActionForm.initial_for(a) for a in rule.actions]
        ),
    )


def show_rule_error(form: forms.Form, error: ServiceError) -> None:
    """Every message of a refusal at the top of the form (rows are named in them)."""
    placed = False
    for key, messages in error.errors.items():
        for message in messages:
            form.add_error(key if key in form.fields else None, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


# Macros.


class MacroForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=schema.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy("Placeholders such as {{ requester.first_name }} are filled in."),
    )
    status = forms.ChoiceField(label=gettext_lazy("Set status"), required=False, choices=())
    priority = forms.ChoiceField(
        label=gettext_lazy("Set priority"),
        required=False,
        choices=[("", gettext_lazy("No change")), *[(p.key, p.label) for p in Priority]],
    )
    add_tags = forms.CharField(
        label=gettext_lazy("Add tags"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Separate with commas."),
    )
    assign_to_me = forms.BooleanField(
        label=gettext_lazy("Assign the ticket to the agent who sends it"), required=False
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args, macro=None, **kwargs):
        if macro is not None:
            changes = macro.changes or {}
            kwargs["initial"] = {
                "name": macro.name,
                "body": macro.body,
                "status": changes.get("status", ""),
                "priority": changes.get("priority", ""),
                "add_tags": ", ".join(changes.get("add_tags", [])),
                "assign_to_me": bool(changes.get("assign_to_me")),
                "is_active": macro.is_active,
            }
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            ("", _("No change")),
            *[(s, Status(s).label) for s in schema.RULE_STATUSES],
        ]

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        tags = [t for t in (x.strip().lower() for x in data["add_tags"].split(",")) if t]
        return {
            "name": data["name"],
            "body": data["body"],
            "is_active": data["is_active"],
            "changes": {
                "status": data["status"],
                "priority": data["priority"],
                "add_tags": tags,
                "assign_to_me": data["assign_to_me"],
            },
        }


# Routing and skills.


class RoutingForm(forms.Form):
    method = forms.ChoiceField(
        label=gettext_lazy("Assignment"),
        choices=RoutingMethod.choices,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "Round-robin: each new ticket to the next available member in turn. Least-loaded: "
            "to the available member with the fewest unresolved tickets."
        ),
    )
    use_skills = forms.BooleanField(
        label=gettext_lazy("Only agents whose skills fit the ticket"),
        required=False,
        help_text=gettext_lazy("Their categories and the requester's language."),
    )


class AgentSkillsForm(forms.Form):
    is_away = forms.BooleanField(
        label=gettext_lazy("Away"),
        required=False,
        help_text=gettext_lazy("Away agents get no automatically assigned tickets."),
    )
    categories = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Categories handled"),
        required=False,
        queryset=Category.objects.filter(is_active=True).order_by("full_name"),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every category. A category includes those below it."),
    )
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Languages"),
        required=False,
        choices=settings.LANGUAGES,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("The requesters' languages the agent answers; none ticked: all."),
    )
