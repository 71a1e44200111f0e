from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import ApiToken, Group, Organization, User


@admin.register(User)
class FirstlineUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "organization", "is_active")
    list_filter = ("role", "organization", "is_active")
    fieldsets = (
        *UserAdmin.fieldsets,
        (
            "Help desk",
            {"fields": ("role", "organization", "is_org_manager", "language", "time_zone")},
        ),
    )


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "is_active")
    search_fields = ("slug", "name")


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "tier", "is_active")
    filter_horizontal = ("members", "organizations")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
