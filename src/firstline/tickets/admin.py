from django.contrib import admin

from .models import Category, Ticket, TicketEvent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("full_name", "is_active")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-only: changes go through the product so that the history stays complete."""

    list_display = ("id", "subject", "status", "priority", "organization", "group", "assignee")
    list_filter = ("status", "priority", "channel", "group")
    search_fields = ("subject",)
    list_select_related = ("organization", "group", "assignee")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    list_display = ("ticket", "kind", "field", "old_value", "new_value", "actor", "created_at")
    list_select_related = ("ticket", "actor")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
