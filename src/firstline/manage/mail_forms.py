"""Forms of the e-mail administration pages: they parse input; the services check it."""

from django import forms
from django.conf import settings
from django.template import Template, TemplateSyntaxError
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Group, Organization
from firstline.channels.models import InboundMessage, Mailbox, OutboundMessage
from firstline.channels.selectors import InboundFilters, OutboundFilters
from firstline.channels.services import EMAIL_TEMPLATE_KINDS
from firstline.tickets.models import Category

GENERAL_FIELDS = [
    "address",
    "name",
    "is_active",
    "group",
    "organization",
    "category",
    "allowed_sender_domains",
]
IMAP_FIELDS = [
    "imap_enabled",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_password",
    "imap_folder",
    "processed_folder",
    "after_import",
    "poll_interval",
]


def kind_labels() -> dict[str, str]:
    return {
        "ack": _("Confirmation of a new request"),
        "reply": _("Public reply to the requester"),
        "assigned": _("Ticket assigned to an agent"),
        "escalated": _("Ticket escalated to a group"),
        "escalated_digest": _("Many tickets escalated at once (digest)"),
        "sla_warning": _("SLA warning"),
        "sla_breach": _("SLA breached"),
        "sla_warning_digest": _("SLA warnings on many tickets (digest)"),
        "sla_breach_digest": _("SLA breaches on many tickets (digest)"),
    }


class MailboxForm(forms.Form):
    address = forms.EmailField(label=_("E-mail address"), max_length=254)
    name = forms.CharField(
        label=_("Display name"),
        max_length=200,
        required=False,
        help_text=_("For example “IT help desk”."),
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("An inactive mailbox is not polled and its inbound token is refused."),
    )
    group = forms.ModelChoiceField(
        label=_("Group for new tickets"),
        required=False,
        queryset=Group.objects.filter(is_active=True).order_by("tier", "name"),
        empty_label=_("None: the usual routing"),
    )
    organization = forms.ModelChoiceField(
        label=_("Organization of unknown senders"),
        required=False,
        queryset=Organization.objects.filter(is_active=True).order_by("name"),
        empty_label=_("None"),
        help_text=_("Used when the sender belongs to no organization."),
    )
    category = forms.ModelChoiceField(
        label=_("Category for new tickets"),
        required=False,
        queryset=Category.objects.filter(is_active=True).order_by("full_name"),
        empty_label=_("None"),
    )
    allowed_sender_domains = forms.CharField(
        label=_("Allowed sender domains"),
        required=False,
        help_text=_(
            "Comma-separated, for example “example.com, example.org”. Empty: anyone may write."
        ),
    )
    imap_enabled = forms.BooleanField(
        label=_("Poll this mailbox over IMAP"),
        required=False,
        help_text=_("Leave unticked when the mail server pushes mail to the inbound endpoint."),
    )
    imap_host = forms.CharField(label=_("IMAP server"), max_length=255, required=False)
    imap_port = forms.IntegerField(label=_("Port"), initial=993)
    imap_security = forms.ChoiceField(
        label=_("Connection security"),
        choices=Mailbox.Security.choices,
        initial=Mailbox.Security.SSL,
    )
    imap_username = forms.CharField(label=_("User name"), max_length=255, required=False)
    imap_password = forms.CharField(
        label=_("Password"),
        max_length=255,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    imap_folder = forms.CharField(
        label=_("Folder"), max_length=255, required=False, initial="INBOX"
    )
    processed_folder = forms.CharField(
        label=_("Processed folder"),
        max_length=255,
        required=False,
        initial="Processed",
        help_text=_("Where imported messages are moved to, if they are moved."),
    )
    after_import = forms.ChoiceField(
        label=_("After import"),
        choices=Mailbox.AfterImport.choices,
        initial=Mailbox.AfterImport.MOVE,
    )
    poll_interval = forms.IntegerField(
        label=_("Poll interval"),
        initial=60,
        help_text=_("Seconds between two polls; at least 10."),
    )

    def __init__(self, *args, mailbox: Mailbox | None = None, **kwargs):
        if mailbox is not None:
            initial = {
                name: getattr(mailbox, name)
                for name in GENERAL_FIELDS + IMAP_FIELDS
                if name != "imap_password"
            }
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        if mailbox is not None:  # a deactivated group (...) the mailbox still uses stays valid
            for name in ("group", "organization", "category"):
                field = self.fields[name]
                current = getattr(mailbox, f"{name}_id")
                if current is not None:
                    field.queryset |= field.queryset.model.objects.filter(pk=current)
        password = self.fields["imap_password"]
        if mailbox is not None and mailbox.imap_password:
            password.help_text = _("A password is set. Leave empty to keep it.")
        elif mailbox is not None:
            password.help_text = _("No password is set.")

    def general_fields(self):
        return [self[name] for name in GENERAL_FIELDS]

    def imap_fields(self):
        return [self[name] for name in IMAP_FIELDS]

    def settings(self) -> dict:
        """The cleaned values; an empty password means "keep the current one"."""
        data = dict(self.cleaned_data)
        if not data.get("imap_password"):
            data.pop("imap_password", None)
        return data


class InboundFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *InboundMessage.Status.choices],
    )
    mailbox = forms.ModelChoiceField(
        label=_("Mailbox"), required=False, queryset=Mailbox.objects.none(), empty_label=_("All")
    )

    def __init__(self, *args, mailboxes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mailbox"].queryset = mailboxes

    def filters(self) -> InboundFilters:
        """The valid filters; a bad value is reported next to its field and ignored."""
        self.is_valid()
        data = self.cleaned_data
        return InboundFilters(status=data.get("status", ""), mailbox=data.get("mailbox"))


class OutboundFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *OutboundMessage.Status.choices],
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All")), *kind_labels().items()]

    def filters(self) -> OutboundFilters:
        self.is_valid()
        data = self.cleaned_data
        return OutboundFilters(status=data.get("status", ""), kind=data.get("kind", ""))


def _compiles(source: str) -> str:
    try:
        Template(source)
    except TemplateSyntaxError as exc:
        raise forms.ValidationError(
            _("Template error: %(error)s"), code="template", params={"error": exc}
        ) from None
    return source


class EmailTemplateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=255)
    body = forms.CharField(
        label=_("Text"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
    )

    def clean_subject(self):
        return _compiles(self.cleaned_data["subject"])

    def clean_body(self):
        body = self.cleaned_data["body"].replace("\r\n", "\n")
        if not body.strip():
            raise forms.ValidationError(_("The text cannot be empty."), code="required")
        return _compiles(body)


def template_key_valid(kind: str, language: str) -> bool:
    return kind in EMAIL_TEMPLATE_KINDS and language in dict(settings.LANGUAGES)
