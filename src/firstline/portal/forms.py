"""Forms of the self-service portal: they parse and check input; the services decide."""

from django import forms
from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.template.defaultfilters import filesizeformat
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from firstline.accounts.selectors import organization_for_email
from firstline.core.forms import MultipleFileField
from firstline.tickets import selectors
from firstline.tickets.models import Category, Priority


class AttachmentsField(MultipleFileField):
    """Any number of files, each within settings.MAX_ATTACHMENT_SIZE (the service checks it
    again; checking here names every file that is too large, and keeps the rest of the form)."""

    def clean(self, data, initial=None):
        files = super().clean(data, initial)
        limit = settings.MAX_ATTACHMENT_SIZE
        too_large = [f.name for f in files if f.size > limit]
        if too_large:
            raise forms.ValidationError(
                [
                    forms.ValidationError(
                        _("“%(name)s” is larger than the limit of %(limit)s."),
                        code="file_too_large",
                        params={"name": name, "limit": filesizeformat(limit)},
                    )
                    for name in too_large
                ]
            )
        return files


def _attachments_help() -> str:
    limit = filesizeformat(settings.MAX_ATTACHMENT_SIZE)
    return gettext("Screenshots or documents, up to %(limit)s each.") % {"limit": limit}


def attachments_field() -> AttachmentsField:
    # Lazy: read in the reader's language and with the limit as it is when shown.
    return AttachmentsField(label=_("Attachments"), help_text=lazy(_attachments_help, str)())


class RequestForm(forms.Form):
    subject = forms.CharField(
        label=_("Subject"),
        max_length=255,
        help_text=_("A short summary, e.g. “Laptop does not start”."),
    )
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What happened, what you expected, and anything you already tried."),
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=_("Not sure"),
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=[(p.key, p.label) for p in Priority],
        initial=Priority.NORMAL.key,
        help_text=_("Urgent: you cannot work at all. High: your work is seriously hindered."),
    )
    attachments = attachments_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        categories = selectors.active_categories()
        if categories.exists():
            self.fields["category"].queryset = categories
        else:
            del self.fields["category"]


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 5}))
    attachments = attachments_field()


class SignupForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Letters, digits and @ . + - _ only. You can also log in with your e-mail."),
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, open_to_all: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_to_all = open_to_all
        self.organization = None

    def clean_email(self):
        email = self.cleaned_data["email"]
        self.organization = organization_for_email(email)
        if self.organization is None and not self.open_to_all:
            raise forms.ValidationError(
                _(
                    "Sign-up is only open to e-mail addresses of the organizations we support. "
                    "Use your work e-mail address, or ask your IT team for an account."
                ),
                code="signup_closed",
            )
        return email

    def clean(self):
        cleaned = super().clean()
        one, two = cleaned.get("password1"), cleaned.get("password2")
        if one and two and one != two:
            self.add_error("password2", _("The two passwords are different."))
        return cleaned
