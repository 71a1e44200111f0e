from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from firstline.core.decorators import manager_required
from firstline.tickets import services

from .. import selectors
from ..forms import CategoryCreateForm, CategoryEditForm, submit
from .common import found, render_page


@manager_required
def category_list(request):
    categories = selectors.category_tree(request.user)
    context = {"categories": categories}
    return render_page(request, "manage/category_list.html", "categories", context)


@manager_required
def category_create(request):
    form = CategoryCreateForm(request.POST or None)
    if request.method == "POST" and submit(
        form, lambda data: services.create_category(actor=request.user, **data)
    ):
        messages.success(request, _("The category was created."))
        return redirect("manage:categories")
    return render_page(request, "manage/category_create.html", "categories", {"form": form})


@manager_required
def category_edit(request, category_id):
    category = found(selectors.get_managed_category, request.user, category_id)
    initial = {"name": category.name, "is_active": category.is_active}
    form = CategoryEditForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if submit(
            form,
            lambda data: services.update_category(actor=request.user, category=category, **data),
        ):
            messages.success(request, _("The category was saved."))
            return redirect("manage:categories")
        category.refresh_from_db()
    context = {"category": category, "form": form}
    return render_page(request, "manage/category_edit.html", "categories", context)
