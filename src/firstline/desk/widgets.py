"""The queue page's long option lists (hundreds of agents and organizations on a large desk)
built from the cached reference lists as ready-made HTML, instead of one template (and one
escaping) per <option> on every page."""

from django import forms
from django.core.cache import cache
from django.forms.utils import flatatt
from django.forms.widgets import Input
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from . import selectors

OPTIONS_CACHE_KEY = selectors.CHOICES_CACHE_KEY + ":html"


def _options(choices) -> str:
    return "".join(f'<option value="{escape(v)}">{escape(label)}</option>' for v, label in choices)


def cached_options() -> dict[str, str]:
    """The <option>s of each reference list, escaped once; forgotten with the lists."""
    options = cache.get(OPTIONS_CACHE_KEY)
    if options is None:
        lists = selectors.reference_choices()
        options = {name: _options(choices) for name, choices in lists.items()}
        cache.set(OPTIONS_CACHE_KEY, options, selectors.CHOICES_TTL)
    return options


class FastSelect(forms.Select):
    """A single <select> from ready-made options (`html`, after the `head` choices); marks
    the selected one. Same markup as Django's Select."""

    def __init__(self, attrs=None, head=(), html=""):
        super().__init__(attrs, choices=head)
        self.html = html

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        options = _options(self.choices) + self.html
        for selected in self.format_value(value):
            plain = f'<option value="{escape(selected)}">'
            options = options.replace(plain, plain[:-1] + " selected>", 1)
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe(options))


class FastInput(Input):
    """An <input> (text, hidden) written in Python: the markup of Django's input.html and
    attrs.html templates, without two template renders per field."""

    def __init__(self, attrs=None, input_type="text"):
        super().__init__(attrs)
        self.input_type = input_type

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        html = f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"'
        if widget["value"] is not None:
            html += f' value="{escape(widget["value"])}"'
        for key, item in widget["attrs"].items():
            if item is not False:
                html += f" {escape(key)}" if item is True else f' {escape(key)}="{escape(item)}"'
        return mark_safe(f"{html}>")


def _use(field, html: str) -> None:
    blank = getattr(field, "empty_label", None)
    head = [("", blank)] if blank is not None else []
    field.widget = FastSelect(attrs=field.widget.attrs, head=head, html=html)


def lighten(filter_form, bulk_form) -> None:
    """Gives the long lists of the filter and bulk forms cached options and a fast widget,
    and the text fields a widget without templates; validation still reads the database
    through each field's queryset."""
    options = cached_options()
    _use(filter_form.fields["category"], options["category"])
    _use(filter_form.fields["organization"], options["organization"])
    assignee = filter_form.fields["assignee"]
    head = assignee.choices[:2]  # anyone, unassigned; then the agents (forms.py)
    assignee.widget = FastSelect(attrs=assignee.widget.attrs, head=head, html=options["agent"])
    _use(bulk_form.fields["assignee"], options["agent"])
    _use(bulk_form.fields["group"], options["group"])
    for form in (filter_form, bulk_form):  # the short fixed lists: no template per <option>
        for field in form.fields.values():
            if type(field.widget) is forms.Select:
                field.widget = FastSelect(attrs=field.widget.attrs, head=field.choices)
            elif type(field.widget) in (forms.TextInput, forms.HiddenInput):
                field.widget = FastInput(field.widget.attrs, field.widget.input_type)
