from django.urls import path

from .views import actions, automation, counts, notifications, queue, ticket

app_name = "desk"
urlpatterns = [
    path("", queue.home, name="home"),
    path("queue/<str:key>/", queue.queue, name="queue"),
    path("filters/", queue.save_filter, name="save_filter"),
    path("filters/<int:pk>/delete/", queue.delete_filter, name="delete_filter"),
    path("bulk/", queue.bulk, name="bulk"),
    path("tickets/new/", actions.new_ticket, name="new_ticket"),
    path("tickets/<int:number>/", ticket.detail, name="ticket"),
    path("tickets/<int:number>/reply/", ticket.reply, name="reply"),
    path("tickets/<int:number>/update/", ticket.update, name="update"),
    path(
        "tickets/<int:number>/attachments/<int:attachment_id>/", ticket.download, name="attachment"
    ),
    path("tickets/<int:number>/escalate/<str:direction>/", actions.escalate, name="escalate"),
    path("tickets/<int:number>/merge/", actions.merge, name="merge"),
    path("tickets/<int:number>/links/", actions.link, name="link"),
    path("tickets/<int:number>/links/<int:other>/delete/", actions.unlink, name="unlink"),
    path("tickets/<int:number>/take/", actions.take, name="take"),
    path("tickets/<int:number>/macro/", automation.macro_insert, name="macro_insert"),
    path("availability/", automation.availability, name="availability"),
    path("counts/", counts.counts, name="counts"),
    path("notifications/", notifications.notifications, name="notifications"),
    path("notifications/badge/", notifications.badge, name="notification_badge"),
    path("notifications/read/", notifications.mark_read, name="notifications_read"),
]
