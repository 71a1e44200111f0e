from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from firstline.accounts import selectors, services
from firstline.core.decorators import manager_required

from ..forms import GroupCreateForm, GroupEditForm, submit
from .common import found, render_page


@manager_required
def group_list(request):
    groups = selectors.managed_groups(request.user)
    return render_page(request, "manage/group_list.html", "groups", {"groups": groups})


@manager_required
def group_create(request):
    form = GroupCreateForm(request.POST or None)
    if request.method == "POST" and submit(
        form, lambda data: services.create_group(actor=request.user, **data)
    ):
        messages.success(request, _("The group was created."))
        return redirect("manage:group_edit", slug=form.cleaned_data["slug"])
    return render_page(request, "manage/group_create.html", "groups", {"form": form})


@manager_required
def group_edit(request, slug):
    group = found(selectors.get_group, request.user, slug)
    form = GroupEditForm(request.POST or None, group=group)
    if request.method == "POST":
        if submit(
            form, lambda data: services.update_group(actor=request.user, group=group, **data)
        ):
            messages.success(request, _("The group was saved."))
            return redirect("manage:group_edit", slug=slug)
        group.refresh_from_db()  # a refused change may have altered it in memory
    context = {"group": group, "form": form}
    return render_page(request, "manage/group_edit.html", "groups", context)
