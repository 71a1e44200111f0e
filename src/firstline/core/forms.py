from django import forms
from django.utils.translation import gettext_lazy as _

from firstline.core.errors import ServiceError


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list (empty when none were chosen)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attachments"))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


def add_service_error(
    form: forms.Form, exc: ServiceError, rename: dict[str, str] | None = None
) -> None:
    """Shows a service's refusal on the form: field errors next to their fields, anything
    else (or a refusal without field errors) at the top of the form."""
    unplaced = False
    for field, messages in exc.errors.items():
        target = (rename or {}).get(field, field)
        if target in form.fields:
            for message in messages:
                form.add_error(target, message)
        else:
            unplaced = True
    if unplaced or not exc.errors:
        form.add_error(None, exc.message)
