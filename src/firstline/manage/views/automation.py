"""Automation pages (supervisors and administrators): rules, macros, assignment per group,
and agents' availability and skills."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts import selectors as account_selectors
from firstline.automation import placeholders, schema, selectors, services
from firstline.automation.models import RoutingMethod
from firstline.core.decorators import manager_required
from firstline.core.errors import ServiceError
from firstline.tickets.models import Channel, Priority, Status

from ..automation_forms import (
    AgentSkillsForm,
    MacroForm,
    RoutingForm,
    rule_forms,
    show_rule_error,
)
from ..forms import submit
from .common import found, render_page

# Rules.


@manager_required
def rule_list(request):
    rules = list(selectors.rules_with_activity(request.user))
    return render_page(request, "manage/automation_rule_list.html", "rules", {"rules": rules})


def _value_help() -> list[tuple[str, str]]:
    """What the value of a condition or an action may be, for the help beside the form."""
    return [
        (_("Status"), ", ".join(Status.values)),
        (_("Priority"), ", ".join(p.key for p in Priority)),
        (_("Channel"), ", ".join(Channel.values)),
        (_("Changed field"), ", ".join(schema.CHANGEABLE_FIELDS)),
        (_("Group, organization"), _("the short name, e.g. l2")),
        (_("Category"), _("the whole path, e.g. Hardware > Printer")),
        (_("Assignee"), _("the agent's username")),
        (_("Days"), _("a number, e.g. 5 or 0.5")),
    ]


def _rule_page(request, rule=None):
    form, conditions, actions = rule_forms(request.POST or None, rule)
    if request.method == "POST":
        valid = all([form.is_valid(), conditions.is_valid(), actions.is_valid()])
        if valid:
            arguments = {
                **form.cleaned_data,
                "conditions": conditions.rows(),
                "actions": actions.rows(),
            }
            try:
                if rule is None:
                    services.create_rule(actor=request.user, **arguments)
                else:
                    services.update_rule(actor=request.user, rule=rule, **arguments)
            except ServiceError as error:
                show_rule_error(form, error)
            else:
                messages.success(request, _("The rule was saved."))
                return redirect("manage:rules")
        elif form.is_valid():
            form.add_error(None, _("Some conditions or actions need a correction."))
    context = {
        "rule": rule,
        "form": form,
        "conditions": conditions,
        "actions": actions,
        "value_help": _value_help(),
        "placeholders": placeholders.NAMES.items(),
        "runs": selectors.recent_runs(request.user, rule) if rule else [],
    }
    return render_page(request, "manage/automation_rule_edit.html", "rules", context)


@manager_required
def rule_create(request):
    return _rule_page(request)


@manager_required
def rule_edit(request, rule_id):
    return _rule_page(request, found(selectors.get_rule, request.user, rule_id))


@manager_required
@require_POST
def rule_move(request, rule_id, direction):
    if direction not in ("up", "down"):
        raise Http404
    rule = found(selectors.get_rule, request.user, rule_id)
    services.move_rule(actor=request.user, rule=rule, up=direction == "up")
    return redirect("manage:rules")


@manager_required
@require_POST
def rule_toggle(request, rule_id):
    rule = found(selectors.get_rule, request.user, rule_id)
    rule = services.set_rule_active(actor=request.user, rule=rule, active=not rule.is_active)
    message = (
        _("The rule “%(name)s” is on.") if rule.is_active else _("The rule “%(name)s” is off.")
    )
    messages.success(request, message % {"name": rule.name})
    return redirect("manage:rules")


@manager_required
@require_POST
def rule_delete(request, rule_id):
    rule = found(selectors.get_rule, request.user, rule_id)
    services.delete_rule(actor=request.user, rule=rule)
    messages.success(request, _("The rule “%(name)s” was deleted.") % {"name": rule.name})
    return redirect("manage:rules")


# Macros.


@manager_required
def macro_list(request):
    macros = list(selectors.managed_macros(request.user))
    return render_page(request, "manage/automation_macro_list.html", "macros", {"macros": macros})


def _macro_page(request, macro=None):
    form = MacroForm(request.POST or None, macro=macro)
    if request.method == "POST":

        def save(_data):
            if macro is None:
                services.create_macro(actor=request.user, **form.service_arguments())
            else:
                services.update_macro(actor=request.user, macro=macro, **form.service_arguments())

        if submit(form, save):
            messages.success(request, _("The macro was saved."))
            return redirect("manage:macros")
    context = {"macro": macro, "form": form, "placeholders": placeholders.NAMES.items()}
    return render_page(request, "manage/automation_macro_edit.html", "macros", context)


def _managed_macro(user, macro_id):
    return selectors.get_macro(user, macro_id, to_manage=True)


@manager_required
def macro_create(request):
    return _macro_page(request)


@manager_required
def macro_edit(request, macro_id):
    return _macro_page(request, found(_managed_macro, request.user, macro_id))


@manager_required
@require_POST
def macro_delete(request, macro_id):
    macro = found(_managed_macro, request.user, macro_id)
    services.delete_macro(actor=request.user, macro=macro)
    messages.success(request, _("The macro “%(name)s” was deleted.") % {"name": macro.name})
    return redirect("manage:macros")


# Assignment per group.


@manager_required
def routing_list(request):
    groups = selectors.groups_with_routing(request.user)
    return render_page(
        request, "manage/automation_routing_list.html", "routing", {"groups": groups}
    )


@manager_required
def routing_edit(request, slug):
    group = found(account_selectors.get_group, request.user, slug)
    routing = selectors.routing_of(request.user, group)
    initial = {
        "method": routing.method if routing else RoutingMethod.MANUAL,
        "use_skills": bool(routing and routing.use_skills),
    }
    form = RoutingForm(request.POST or None, initial=initial)
    if request.method == "POST" and submit(
        form, lambda data: services.update_routing(actor=request.user, group=group, **data)
    ):
        messages.success(request, _("The assignment of %(group)s was saved.") % {"group": group})
        return redirect("manage:routing")
    context = {"group": group, "form": form}
    return render_page(request, "manage/automation_routing_edit.html", "routing", context)


# Agents: availability and skills.


@manager_required
def agent_list(request):
    agents = selectors.agents_with_availability(request.user)
    return render_page(
        request, "manage/automation_agent_list.html", "agent_skills", {"agents": agents}
    )


@manager_required
def agent_edit(request, username):
    agent = found(selectors.get_agent, request.user, username)
    row = selectors.availability(agent)
    initial = {
        "is_away": bool(row and row.is_away),
        "categories": list(row.categories.all()) if row else [],
        "languages": row.languages if row else [],
    }
    form = AgentSkillsForm(request.POST or None, initial=initial)
    if request.method == "POST" and submit(
        form, lambda data: services.update_skills(actor=request.user, user=agent, **data)
    ):
        messages.success(request, _("%(agent)s was saved.") % {"agent": agent.display_name})
        return redirect("manage:agent_skills")
    context = {"agent": agent, "form": form}
    return render_page(request, "manage/automation_agent_edit.html", "agent_skills", context)
