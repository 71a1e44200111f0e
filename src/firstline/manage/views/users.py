from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from firstline.accounts import selectors, services
from firstline.core.decorators import manager_required

from ..forms import UserCreateForm, UserEditForm, UserFilterForm, submit
from .common import found, render_page

PAGE_SIZE = 50


@manager_required
def user_list(request):
    filter_form = UserFilterForm(request.GET)
    users = selectors.managed_users(request.user, filter_form.filters())
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filter_form": filter_form, "page": page}
    return render_page(request, "manage/user_list.html", "users", context)


@manager_required
def user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and submit(
        form, lambda data: services.create_user(actor=request.user, **data)
    ):
        messages.success(request, _("The user was created."))
        return redirect("manage:user_edit", username=form.cleaned_data["username"].strip())
    return render_page(request, "manage/user_create.html", "users", {"form": form})


@manager_required
def user_edit(request, username):
    person = found(selectors.get_user, request.user, username)
    form = UserEditForm(request.POST or None, user=person)
    if request.method == "POST":
        if submit(form, lambda data: services.edit_user(actor=request.user, user=person, **data)):
            messages.success(request, _("The user was saved."))
            return redirect("manage:user_edit", username=person.username)
        person.refresh_from_db()  # a refused change may have altered it in memory
    context = {
        "person": person,
        "form": form,
        "can_manage": services.can_manage_user(request.user, person),
    }
    return render_page(request, "manage/user_edit.html", "users", context)
