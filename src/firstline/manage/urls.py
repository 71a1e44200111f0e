from django.urls import path

from .views import categories, email_templates, groups, home, mail, organizations, users

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
]
