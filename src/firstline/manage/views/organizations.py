from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts import selectors, services
from firstline.core.decorators import manager_required
from firstline.core.errors import ServiceError

from ..forms import DomainForm, OrganizationCreateForm, OrganizationForm, submit
from .common import found, render_page


@manager_required
def organization_list(request):
    organizations = selectors.managed_organizations(request.user)
    context = {"organizations": organizations}
    return render_page(request, "manage/organization_list.html", "organizations", context)


@manager_required
def organization_create(request):
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and submit(
        form, lambda data: services.create_organization(actor=request.user, **data)
    ):
        messages.success(request, _("The organization was created."))
        return redirect("manage:organization_edit", slug=form.cleaned_data["slug"])
    return render_page(request, "manage/organization_create.html", "organizations", {"form": form})


def _organization_form(organization, data=None):
    initial = {"name": organization.name, "is_active": organization.is_active}
    return OrganizationForm(data, initial=initial)


def _organization_page(request, organization, form=None, domain_form=None):
    context = {
        "organization": organization,
        "domains": organization.domains.all(),
        "form": form if form is not None else _organization_form(organization),
        "domain_form": domain_form if domain_form is not None else DomainForm(),
    }
    return render_page(request, "manage/organization_edit.html", "organizations", context)


@manager_required
def organization_edit(request, slug):
    organization = found(selectors.get_organization, request.user, slug)
    form = _organization_form(organization, request.POST or None)
    if request.method == "POST" and submit(
        form,
        lambda data: services.update_organization(
            actor=request.user, organization=organization, **data
        ),
    ):
        messages.success(request, _("The organization was saved."))
        return redirect("manage:organization_edit", slug=slug)
    return _organization_page(request, organization, form=form)


@manager_required
@require_POST
def domain_add(request, slug):
    organization = found(selectors.get_organization, request.user, slug)
    form = DomainForm(request.POST)
    if submit(
        form,
        lambda data: services.add_organization_domain(
            actor=request.user, organization=organization, **data
        ),
    ):
        messages.success(request, _("The domain was added."))
        return redirect("manage:organization_edit", slug=slug)
    return _organization_page(request, organization, domain_form=form)


@manager_required
@require_POST
def domain_remove(request, slug):
    organization = found(selectors.get_organization, request.user, slug)
    try:
        services.remove_organization_domain(
            actor=request.user, organization=organization, domain=request.POST.get("domain", "")
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The domain was removed."))
    return redirect("manage:organization_edit", slug=slug)
