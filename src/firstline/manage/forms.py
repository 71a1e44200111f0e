"""Forms of the administration pages: they parse input; the services decide what is allowed."""

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import STAFF_ROLES, Group, Organization, Role, User
from firstline.accounts.selectors import UserFilters
from firstline.core.errors import ServiceError
from firstline.core.forms import add_service_error
from firstline.tickets.models import Category


def submit(form: forms.Form, action) -> bool:
    """Runs `action(cleaned_data)` if the form is valid; a refusal becomes form errors."""
    if not form.is_valid():
        return False
    try:
        action(form.cleaned_data)
    except ServiceError as error:
        add_service_error(form, error)
        return False
    return True


class PersonChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: User) -> str:
        label = f"{obj.display_name} ({obj.username}, {obj.get_role_display()})"
        if obj.is_active:
            return label
        return _("%(person)s · inactive") % {"person": label}


def _organizations():
    return Organization.objects.order_by("name")


class OrganizationCreateForm(forms.Form):
    slug = forms.CharField(
        label=_("Short name"),
        max_length=50,
        help_text=_("Letters, numbers, hyphens and underscores, used in addresses; it stays."),
    )
    name = forms.CharField(label=_("Name"), max_length=200)


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    is_active = forms.BooleanField(label=_("Active"), required=False)


class DomainForm(forms.Form):
    domain = forms.CharField(
        label=_("E-mail domain"),
        max_length=253,
        help_text=_("People with an address at this domain may sign up into the organization."),
    )


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices]
    )
    organization = forms.ModelChoiceField(
        label=_("Organization"),
        required=False,
        queryset=_organizations(),
        empty_label=_("All organizations"),
    )
    active = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Active and inactive")), ("yes", _("Active")), ("no", _("Inactive"))],
    )

    def filters(self) -> UserFilters:
        """The valid filters; a bad value is reported next to its field and ignored."""
        self.is_valid()
        data = self.cleaned_data
        active = {"yes": True, "no": False}.get(data.get("active", ""))
        return UserFilters(
            role=data.get("role", ""),
            organization=data.get("organization"),
            active=active,
            text=data.get("q", ""),
        )


class UserDetailsForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), required=False)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.REQUESTER)
    organization = forms.ModelChoiceField(
        label=_("Organization"),
        required=False,
        queryset=_organizations(),
        empty_label=_("No organization"),
    )
    is_org_manager = forms.BooleanField(
        label=_("Organization manager"),
        required=False,
        help_text=_("A requester who sees every ticket of their organization."),
    )


class UserCreateForm(UserDetailsForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Letters, digits and @ . + - _ only."),
    )
    password = forms.CharField(
        label=_("Initial password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Optional: without one, the person cannot log in with a password yet."),
    )
    field_order = ["username", "email", "first_name", "last_name", "role", "organization"]


class UserEditForm(UserDetailsForm):
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("Inactive people cannot log in, and their API tokens are revoked."),
    )

    def __init__(self, *args, user: User, **kwargs):
        initial = {
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "role": user.role,
            "organization": user.organization,
            "is_org_manager": user.is_org_manager,
            "is_active": user.is_active,
        }
        super().__init__(*args, initial=initial, **kwargs)
        if user.is_agent:
            self.fields["groups"] = forms.ModelMultipleChoiceField(
                label=_("Groups"),
                required=False,
                queryset=Group.objects.order_by("tier", "name"),
                widget=forms.CheckboxSelectMultiple,
                initial=list(user.support_groups.all()),
            )


class GroupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    tier = forms.IntegerField(label=_("Tier"), min_value=1, max_value=99, initial=1)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    members = PersonChoiceField(
        label=_("Members"),
        required=False,
        queryset=User.objects.filter(role__in=STAFF_ROLES).order_by("username"),
        help_text=_("Agents, supervisors and administrators."),
    )
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organizations served"),
        required=False,
        queryset=_organizations(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: the group serves every organization."),
    )


class GroupCreateForm(GroupForm):
    slug = forms.CharField(
        label=_("Short name"),
        max_length=50,
        help_text=_("Letters, numbers, hyphens and underscores, used in addresses; it stays."),
    )
    field_order = ["slug", "name"]


class GroupEditForm(GroupForm):
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args, group: Group, **kwargs):
        initial = {
            "name": group.name,
            "tier": group.tier,
            "description": group.description,
            "members": list(group.members.all()),
            "organizations": list(group.organizations.all()),
            "is_active": group.is_active,
        }
        super().__init__(*args, initial=initial, **kwargs)


class CategoryCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    parent = forms.ModelChoiceField(
        label=_("Parent category"),
        required=False,
        queryset=Category.objects.filter(is_active=True).order_by("full_name"),
        empty_label=_("None: a top-level category"),
    )


class CategoryEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("Deactivating a category also deactivates the categories below it."),
    )
