"""Forms of the knowledge base pages: they parse input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Organization
from firstline.tickets import selectors as ticket_selectors
from firstline.tickets.models import Category

from .models import ArticleStatus, Language, Visibility


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=255)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 18}),
        max_length=200_000,
        help_text=_("Markdown: ## heading, **bold**, 1. numbered steps, [link](https://...)."),
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.none(), required=False
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separated by commas."), max_length=500
    )
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    visibility = forms.ChoiceField(
        label=_("Who may read it"), choices=Visibility.choices, widget=forms.RadioSelect
    )
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organizations"),
        queryset=Organization.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only for articles limited to some organizations."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = ticket_selectors.active_categories()

    @classmethod
    def for_article(cls, article) -> "ArticleForm":
        return cls(
            initial={
                "title": article.title,
                "body": article.body,
                "category": article.category_id,
                "tags": ", ".join(t.name for t in article.tags.all()),
                "language": article.language,
                "visibility": article.visibility,
                "organizations": list(article.organizations.all()),
                "version": article.version,
            }
        )

    def values(self) -> dict:
        """What the services take, from the cleaned data."""
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data["tags"] = [t for t in data["tags"].split(",") if t.strip()]
        data["organizations"] = list(data["organizations"])
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=ArticleStatus.choices)


class RatingForm(forms.Form):
    helpful = forms.TypedChoiceField(
        label=_("Did this help?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ArticleListFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *ArticleStatus.choices]
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("Any")), *Language.choices]
    )
    visibility = forms.ChoiceField(
        label=_("Visibility"), required=False, choices=[("", _("Any")), *Visibility.choices]
    )
