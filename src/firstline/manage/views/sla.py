"""SLA settings: business calendars (hours, holidays, closures), policies and contracts."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.core.decorators import manager_required
from firstline.core.errors import ServiceError
from firstline.sla import selectors, services

from ..forms import submit
from ..sla_forms import CalendarDayForm, CalendarForm, ContractForm, HolidayImportForm, PolicyForm
from .common import found, render_page

SECTION = "sla"


@manager_required
def sla_home(request):
    user = request.user
    context = {
        "calendars": selectors.calendars(user),
        "policies": selectors.policies(user),
        "contracts": selectors.contracts(user),
    }
    return render_page(request, "manage/sla_home.html", SECTION, context)


# --- Calendars --------------------------------------------------------------------------------


@manager_required
def calendar_create(request):
    form = CalendarForm(request.POST or None)
    created = []
    if request.method == "POST" and submit(
        form,
        lambda data: created.append(services.create_calendar(actor=request.user, **form.values())),
    ):
        messages.success(request, _("The calendar was created."))
        return redirect("manage:sla_calendar_edit", calendar_id=created[0].pk)
    return render_page(request, "manage/sla_calendar.html", SECTION, {"form": form})


def _calendar_page(request, calendar, form=None, day_form=None, holiday_form=None, status=200):
    context = {
        "calendar": calendar,
        "form": form or CalendarForm(calendar=calendar),
        "days": selectors.calendar_days(request.user, calendar),
        "day_form": day_form or CalendarDayForm(),
        "holiday_form": holiday_form or HolidayImportForm(),
    }
    response = render_page(request, "manage/sla_calendar.html", SECTION, context)
    response.status_code = status
    return response


@manager_required
def calendar_edit(request, calendar_id):
    calendar = found(selectors.get_calendar, request.user, calendar_id)
    form = CalendarForm(request.POST or None, calendar=calendar)
    if request.method == "POST":
        if submit(
            form,
            lambda data: services.update_calendar(
                actor=request.user, calendar=calendar, **form.values()
            ),
        ):
            messages.success(request, _("The calendar was saved."))
            return redirect("manage:sla_calendar_edit", calendar_id=calendar.pk)
        calendar.refresh_from_db()
    return _calendar_page(request, calendar, form=form)


@manager_required
@require_POST
def calendar_holidays(request, calendar_id):
    calendar = found(selectors.get_calendar, request.user, calendar_id)
    form = HolidayImportForm(request.POST)
    added = []
    if submit(
        form,
        lambda data: added.append(
            services.import_holidays(actor=request.user, calendar=calendar, **data)
        ),
    ):
        closed, opened = added[0]
        messages.success(
            request,
            _("%(closed)d holidays and %(opened)d make-up working days were added.")
            % {"closed": closed, "opened": opened},
        )
        return redirect("manage:sla_calendar_edit", calendar_id=calendar.pk)
    return _calendar_page(request, calendar, holiday_form=form, status=400)


@manager_required
@require_POST
def calendar_day_add(request, calendar_id):
    calendar = found(selectors.get_calendar, request.user, calendar_id)
    form = CalendarDayForm(request.POST)
    if submit(
        form,
        lambda data: services.add_calendar_day(
            actor=request.user,
            calendar=calendar,
            day=data["date"],
            kind=data["kind"],
            name=data["name"],
            intervals=data["intervals"],
        ),
    ):
        messages.success(request, _("The date was added."))
        return redirect("manage:sla_calendar_edit", calendar_id=calendar.pk)
    return _calendar_page(request, calendar, day_form=form, status=400)


@manager_required
@require_POST
def calendar_day_remove(request, calendar_id):
    calendar = found(selectors.get_calendar, request.user, calendar_id)
    ids = [int(v) for v in request.POST.getlist("day") if v.isdigit()]
    removed = services.remove_calendar_days(actor=request.user, calendar=calendar, day_ids=ids)
    messages.success(request, _("%(n)d dates were removed.") % {"n": removed})
    return redirect("manage:sla_calendar_edit", calendar_id=calendar.pk)


# --- Policies ---------------------------------------------------------------------------------


@manager_required
def policy_create(request):
    form = PolicyForm(request.POST or None)
    created = []
    if request.method == "POST" and submit(
        form,
        lambda data: created.append(services.create_policy(actor=request.user, **form.values())),
    ):
        messages.success(request, _("The policy was created."))
        return redirect("manage:sla_policy_edit", policy_id=created[0].pk)
    return render_page(request, "manage/sla_policy.html", SECTION, {"form": form})


@manager_required
def policy_edit(request, policy_id):
    policy = found(selectors.get_policy, request.user, policy_id)
    form = PolicyForm(request.POST or None, policy=policy)
    if request.method == "POST" and submit(
        form,
        lambda data: services.update_policy(actor=request.user, policy=policy, **form.values()),
    ):
        messages.success(request, _("The policy was saved."))
        return redirect("manage:sla_policy_edit", policy_id=policy.pk)
    context = {"policy": policy, "form": form}
    return render_page(request, "manage/sla_policy.html", SECTION, context)


@manager_required
@require_POST
def policy_move(request, policy_id, direction):
    policy = found(selectors.get_policy, request.user, policy_id)
    services.move_policy(actor=request.user, policy=policy, up=direction == "up")
    return redirect("manage:sla")


@manager_required
@require_POST
def policy_delete(request, policy_id):
    policy = found(selectors.get_policy, request.user, policy_id)
    try:
        services.delete_policy(actor=request.user, policy=policy)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("manage:sla_policy_edit", policy_id=policy.pk)
    messages.success(request, _("The policy was deleted."))
    return redirect("manage:sla")


# --- Contracts --------------------------------------------------------------------------------


@manager_required
def contract_create(request):
    form = ContractForm(request.POST or None)
    if request.method == "POST" and submit(
        form, lambda data: services.save_contract(actor=request.user, **data)
    ):
        messages.success(request, _("The contract was saved."))
        return redirect("manage:sla")
    return render_page(request, "manage/sla_contract.html", SECTION, {"form": form})


@manager_required
def contract_edit(request, contract_id):
    contract = found(selectors.get_contract, request.user, contract_id)
    form = ContractForm(request.POST or None, contract=contract)
    if request.method == "POST" and submit(
        form,
        lambda data: services.save_contract(actor=request.user, contract=contract, **data),
    ):
        messages.success(request, _("The contract was saved."))
        return redirect("manage:sla")
    context = {"contract": contract, "form": form}
    return render_page(request, "manage/sla_contract.html", SECTION, context)


@manager_required
@require_POST
def contract_delete(request, contract_id):
    contract = found(selectors.get_contract, request.user, contract_id)
    services.delete_contract(actor=request.user, contract=contract)
    messages.success(request, _("The contract was removed."))
    return redirect("manage:sla")
