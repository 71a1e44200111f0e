"""What rules and macros may say: the conditions, actions and field changes they are made of,
and the checks that keep their stored JSON valid.

A rule's conditions are a list of `{"field": ..., "op": ..., "value": ...}`; its actions a list
of `{"type": ..., "value": ..., "to": ..., "subject": ..., "text": ...}` (only the keys the type
uses). References to groups, categories, organizations and people are stored as ids.
"""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from firstline.accounts.models import Group, Organization, User
from firstline.core.errors import InvalidInput
from firstline.tickets.models import Category, Channel, Priority, Status

from . import placeholders

# Condition fields: the operators each takes, and the kind of value it compares with.
CONDITION_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "status": (("is", "is_not"), "status"),
    "priority": (("is", "is_not", "at_least", "at_most"), "priority"),
    "category": (("is", "is_not", "under", "is_set", "is_not_set"), "category"),
    "group": (("is", "is_not"), "group"),
    "organization": (("is", "is_not", "is_set", "is_not_set"), "organization"),
    "channel": (("is", "is_not"), "channel"),
    "assignee": (("is", "is_not", "is_set", "is_not_set"), "agent"),
    "tags": (("includes", "excludes"), "text"),
    "subject": (("contains", "not_contains"), "text"),
    "description": (("contains", "not_contains"), "text"),
    "text": (("contains", "not_contains"), "text"),
    "changed": (("includes", "excludes"), "field"),
    "days_in_status": (("at_least", "less_than"), "days"),
    "days_since_update": (("at_least", "less_than"), "days"),
    "days_since_created": (("at_least", "less_than"), "days"),
}
NO_VALUE_OPS = frozenset({"is_set", "is_not_set"})
# What the `changed` condition can name: the ticket columns an update reports.
CHANGEABLE_FIELDS = (
    "status",
    "priority",
    "category",
    "group",
    "assignee",
    "subject",
    "description",
)

ACTION_TYPES = (
    "set_status",
    "set_priority",
    "set_category",
    "assign",
    "unassign",
    "move_group",
    "add_tag",
    "remove_tag",
    "add_note",
    "send_email",
    "close",
)
EMAIL_RECIPIENTS = ("requester", "assignee", "group")
# A rule sets any status but closed: closing has its own action, which resolves first.
RULE_STATUSES = tuple(s for s in Status.values if s != Status.CLOSED)
MAX_TEXT = 20_000


def field_labels() -> dict[str, str]:
    return {
        "status": _("Status"),
        "priority": _("Priority"),
        "category": _("Category"),
        "group": _("Group"),
        "organization": _("Organization"),
        "channel": _("Channel"),
        "assignee": _("Assignee"),
        "tags": _("Tags"),
        "subject": _("Subject"),
        "description": _("Description"),
        "text": _("Subject or description"),
        "changed": _("Changed field"),
        "days_in_status": _("Days in the current status"),
        "days_since_update": _("Days since the last update"),
        "days_since_created": _("Days since it was opened"),
    }


OPERATOR_LABELS = {
    "is": gettext_lazy("is"),
    "is_not": gettext_lazy("is not"),
    "at_least": gettext_lazy("at least"),
    "at_most": gettext_lazy("at most"),
    "less_than": gettext_lazy("less than"),
    "under": gettext_lazy("is or is below"),
    "is_set": gettext_lazy("is set"),
    "is_not_set": gettext_lazy("is not set"),
    "includes": gettext_lazy("includes"),
    "excludes": gettext_lazy("does not include"),
    "contains": gettext_lazy("contains"),
    "not_contains": gettext_lazy("does not contain"),
}

ACTION_LABELS = {
    "set_status": gettext_lazy("Set status"),
    "set_priority": gettext_lazy("Set priority"),
    "set_category": gettext_lazy("Set category"),
    "assign": gettext_lazy("Assign to"),
    "unassign": gettext_lazy("Unassign"),
    "move_group": gettext_lazy("Move to group"),
    "add_tag": gettext_lazy("Add tag"),
    "remove_tag": gettext_lazy("Remove tag"),
    "add_note": gettext_lazy("Add an internal note"),
    "send_email": gettext_lazy("Send an e-mail"),
    "close": gettext_lazy("Close"),
}

RECIPIENT_LABELS = {
    "requester": gettext_lazy("The requester"),
    "assignee": gettext_lazy("The assignee"),
    "group": gettext_lazy("The group's members"),
}


class _Problems:
    """Collects what is wrong with a list of rows, each message naming its row."""

    def __init__(self, key: str, label: str):
        self.key, self.label, self.messages = key, label, []

    def add(self, row: int, message: str) -> None:
        self.messages.append(
            _("%(what)s %(n)s: %(problem)s") % {"what": self.label, "n": row, "problem": message}
        )

    def raise_if_any(self) -> None:
        if self.messages:
            raise InvalidInput(self.messages[0], {self.key: self.messages})


def _days(value) -> float | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0 or number > 3650:
        return None
    return float(number)


def _reference_exists(kind: str, value) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    if kind == "category":
        return Category.objects.filter(pk=value).exists()
    if kind == "group":
        return Group.objects.filter(pk=value).exists()
    if kind == "organization":
        return Organization.objects.filter(pk=value).exists()
    if kind == "agent":
        return User.objects.filter(pk=value, role__in=["agent", "supervisor", "admin"]).exists()
    return False


def _check_value(kind: str, value) -> str | None:
    """What is wrong with `value` for a condition of this kind, or None."""
    if kind == "status":
        return None if value in Status.values else _("unknown status.")
    if kind == "priority":
        return None if value in [p.key for p in Priority] else _("unknown priority.")
    if kind == "channel":
        return None if value in Channel.values else _("unknown channel.")
    if kind == "field":
        return None if value in CHANGEABLE_FIELDS else _("unknown field.")
    if kind == "days":
        return None if _days(value) is not None else _("give a number of days from 0 to 3650.")
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            return _("a text is needed.")
        return None if len(value) <= 500 else _("the text is too long.")
    return None if _reference_exists(kind, value) else _("not found.")


def validate_conditions(conditions) -> list[dict]:
    """The conditions, cleaned; InvalidInput naming every wrong row otherwise."""
    if not isinstance(conditions, list):
        raise InvalidInput.for_field("conditions", _("The conditions must be a list."))
    problems = _Problems("conditions", _("Condition"))
    cleaned = []
    for row, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict) or condition.get("field") not in CONDITION_FIELDS:
            problems.add(row, _("unknown field."))
            continue
        field, op = condition["field"], condition.get("op")
        ops, kind = CONDITION_FIELDS[field]
        if op not in ops:
            problems.add(row, _("this operator does not apply to this field."))
            continue
        if op in NO_VALUE_OPS:
            cleaned.append({"field": field, "op": op})
            continue
        value = condition.get("value")
        if kind == "text" and isinstance(value, str):
            value = value.strip()
        if kind == "days" and _days(value) is not None:
            value = _days(value)
        problem = _check_value(kind, value)
        if problem:
            problems.add(row, problem)
            continue
        cleaned.append({"field": field, "op": op, "value": value})
    problems.raise_if_any()
    return cleaned


def _check_template(text: str) -> str | None:
    unknown = placeholders.unknown(text)
    if unknown:
        return _("unknown placeholder %(name)s.") % {"name": ", ".join(unknown)}
    return None


def _check_action(action: dict) -> tuple[dict | None, str | None]:
    kind = action.get("type")
    value = action.get("value")
    if kind == "set_status":
        if value not in RULE_STATUSES:
            return None, _("unknown status (use the close action to close).")
        return {"type": kind, "value": value}, None
    if kind == "set_priority":
        if value not in [p.key for p in Priority]:
            return None, _("unknown priority.")
        return {"type": kind, "value": value}, None
    if kind in ("set_category", "assign", "move_group"):
        reference = {"set_category": "category", "assign": "agent", "move_group": "group"}[kind]
        if not _reference_exists(reference, value):
            return None, _("not found.")
        cleaned = {"type": kind, "value": value}
        if kind == "move_group" and (action.get("text") or "").strip():
            cleaned["text"] = action["text"].strip()[:2000]
        return cleaned, None
    if kind in ("add_tag", "remove_tag"):
        name = (value or "").strip().lower() if isinstance(value, str) else ""
        if not name or len(name) > 50 or "," in name:
            return None, _("give one tag of at most 50 characters.")
        return {"type": kind, "value": name}, None
    if kind in ("unassign", "close"):
        return {"type": kind}, None
    if kind == "add_note":
        text = (action.get("text") or "").strip() if isinstance(action.get("text"), str) else ""
        if not text or len(text) > MAX_TEXT:
            return None, _("the note needs a text.")
        return {"type": kind, "text": text}, _check_template(text)
    if kind == "send_email":
        subject = action.get("subject") if isinstance(action.get("subject"), str) else ""
        text = action.get("text") if isinstance(action.get("text"), str) else ""
        if action.get("to") not in EMAIL_RECIPIENTS:
            return None, _("choose who receives the e-mail.")
        if not subject.strip() or len(subject) > 255 or not text.strip() or len(text) > MAX_TEXT:
            return None, _("the e-mail needs a subject and a text.")
        cleaned = {"type": kind, "to": action["to"], "subject": subject.strip(), "text": text}
        return cleaned, _check_template(subject) or _check_template(text)
    return None, _("unknown action.")


def validate_actions(actions) -> list[dict]:
    """The actions, cleaned; InvalidInput naming every wrong row otherwise. A rule without
    actions does nothing, so at least one is needed."""
    if not isinstance(actions, list):
        raise InvalidInput.for_field("actions", _("The actions must be a list."))
    problems = _Problems("actions", _("Action"))
    cleaned = []
    for row, action in enumerate(actions, start=1):
        result, problem = _check_action(action if isinstance(action, dict) else {})
        if problem or result is None:
            problems.add(row, problem or _("unknown action."))
        else:
            cleaned.append(result)
    problems.raise_if_any()
    if not cleaned:
        raise InvalidInput.for_field("actions", _("A rule needs at least one action."))
    return cleaned


# Macros: the reply text, and the field changes applied when the reply is sent.
MACRO_CHANGE_KEYS = ("status", "priority", "add_tags", "assign_to_me")


def validate_macro_changes(changes) -> dict:
    if not isinstance(changes, dict) or set(changes) - set(MACRO_CHANGE_KEYS):
        raise InvalidInput.for_field("changes", _("Unknown field change."))
    cleaned: dict = {}
    status = changes.get("status")
    if status:
        if status not in RULE_STATUSES:
            raise InvalidInput.for_field("status", _("A macro cannot set this status."))
        cleaned["status"] = status
    priority = changes.get("priority")
    if priority:
        if priority not in [p.key for p in Priority]:
            raise InvalidInput.for_field("priority", _("Unknown priority."))
        cleaned["priority"] = priority
    tags = changes.get("add_tags") or []
    if not isinstance(tags, list) or any(not isinstance(t, str) for t in tags):
        raise InvalidInput.for_field("add_tags", _("The tags must be a list of names."))
    tags = sorted({t.strip().lower() for t in tags if t.strip()})
    if any(len(t) > 50 for t in tags):
        raise InvalidInput.for_field("add_tags", _("A tag has at most 50 characters."))
    if tags:
        cleaned["add_tags"] = tags
    if changes.get("assign_to_me"):
        cleaned["assign_to_me"] = True
    return cleaned
