from django.urls import path

from .views import (
    automation,
    categories,
    email_templates,
    groups,
    home,
    mail,
    organizations,
    users,
)
from .views import sla as sla_views

app_name = "manage"
urlpatterns = [
    path("", home.home, name="home"),
    path("organizations/", organizations.organization_list, name="organizations"),
    path("organizations/new/", organizations.organization_create, name="organization_create"),
    path(
        "organizations/<slug:slug>/edit/", organizations.organization_edit, name="organization_edit"
    ),
    path("organizations/<slug:slug>/domains/", organizations.domain_add, name="domain_add"),
    path(
        "organizations/<slug:slug>/domains/remove/",
        organizations.domain_remove,
        name="domain_remove",
    ),
    path("users/", users.user_list, name="users"),
    path("users/new/", users.user_create, name="user_create"),
    path("users/<path:username>/edit/", users.user_edit, name="user_edit"),
    path("groups/", groups.group_list, name="groups"),
    path("groups/new/", groups.group_create, name="group_create"),
    path("groups/<slug:slug>/edit/", groups.group_edit, name="group_edit"),
    path("categories/", categories.category_list, name="categories"),
    path("categories/new/", categories.category_create, name="category_create"),
    path("categories/<int:category_id>/edit/", categories.category_edit, name="category_edit"),
    # Automation: rules, macros, assignment and agents' skills.
    path("automation/rules/", automation.rule_list, name="rules"),
    path("automation/rules/new/", automation.rule_create, name="rule_create"),
    path("automation/rules/<int:rule_id>/edit/", automation.rule_edit, name="rule_edit"),
    path(
        "automation/rules/<int:rule_id>/move/<str:direction>/",
        automation.rule_move,
        name="rule_move",
    ),
    path("automation/rules/<int:rule_id>/toggle/", automation.rule_toggle, name="rule_toggle"),
    path("automation/rules/<int:rule_id>/delete/", automation.rule_delete, name="rule_delete"),
    path("automation/macros/", automation.macro_list, name="macros"),
    path("automation/macros/new/", automation.macro_create, name="macro_create"),
    path("automation/macros/<int:macro_id>/edit/", automation.macro_edit, name="macro_edit"),
    path("automation/macros/<int:macro_id>/delete/", automation.macro_delete, name="macro_delete"),
    path("automation/assignment/", automation.routing_list, name="routing"),
    path("automation/assignment/<slug:slug>/", automation.routing_edit, name="routing_edit"),
    path("automation/agents/", automation.agent_list, name="agent_skills"),
    path("automation/agents/<path:username>/", automation.agent_edit, name="agent_edit"),
    # The e-mail channel (administrators only).
    path("mail/mailboxes/", mail.mailbox_list, name="mailboxes"),
    path("mail/mailboxes/new/", mail.mailbox_create, name="mailbox_create"),
    path("mail/mailboxes/<int:mailbox_id>/edit/", mail.mailbox_edit, name="mailbox_edit"),
    path("mail/mailboxes/<int:mailbox_id>/token/", mail.mailbox_token, name="mailbox_token"),
    path("mail/messages/", mail.message_list, name="mail_messages"),
    path("mail/messages/<int:message_id>/", mail.message_detail, name="mail_message"),
    path("mail/messages/<int:message_id>/raw/", mail.message_raw, name="mail_message_raw"),
    path(
        "mail/messages/<int:message_id>/process/",
        mail.message_process,
        name="mail_message_process",
    ),
    path("mail/outbox/", mail.outbox_list, name="outbox"),
    path("mail/outbox/<int:message_id>/send/", mail.outbox_send, name="outbox_send"),
    path("mail/templates/", email_templates.template_list, name="email_templates"),
    path(
        "mail/templates/<slug:kind>/<slug:language>/",
        email_templates.template_edit,
        name="email_template_edit",
    ),
    path(
        "mail/templates/<slug:kind>/<slug:language>/reset/",
        email_templates.template_reset,
        name="email_template_reset",
    ),
    # SLA: calendars, policies, organization contracts (supervisors and admins).
    path("sla/", sla_views.sla_home, name="sla"),
    path("sla/calendars/new/", sla_views.calendar_create, name="sla_calendar_create"),
    path("sla/calendars/<int:calendar_id>/", sla_views.calendar_edit, name="sla_calendar_edit"),
    path(
        "sla/calendars/<int:calendar_id>/holidays/",
        sla_views.calendar_holidays,
        name="sla_calendar_holidays",
    ),
    path(
        "sla/calendars/<int:calendar_id>/days/",
        sla_views.calendar_day_add,
        name="sla_calendar_day_add",
    ),
    path(
        "sla/calendars/<int:calendar_id>/days/remove/",
        sla_views.calendar_day_remove,
        name="sla_calendar_day_remove",
    ),
    path("sla/policies/new/", sla_views.policy_create, name="sla_policy_create"),
    path("sla/policies/<int:policy_id>/", sla_views.policy_edit, name="sla_policy_edit"),
    path(
        "sla/policies/<int:policy_id>/move/<str:direction>/",
        sla_views.policy_move,
        name="sla_policy_move",
    ),
    path("sla/policies/<int:policy_id>/delete/", sla_views.policy_delete, name="sla_policy_delete"),
    path("sla/contracts/new/", sla_views.contract_create, name="sla_contract_create"),
    path("sla/contracts/<int:contract_id>/", sla_views.contract_edit, name="sla_contract_edit"),
    path(
        "sla/contracts/<int:contract_id>/delete/",
        sla_views.contract_delete,
        name="sla_contract_delete",
    ),
]
