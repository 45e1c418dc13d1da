from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from lims.models import ApiToken, Attachment, Membership, Team, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin, SimpleHistoryAdmin):
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_instrument"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("LIMS", {"fields": ("is_instrument",)}))  # type: ignore[misc]
    inlines = [MembershipInline]


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    """Memberships are edited inline with their team or user; listed here so that their history can be read."""

    list_display = ["user", "team", "role"]
    list_filter = ["role", "team"]


@admin.register(Attachment)
class AttachmentAdmin(SimpleHistoryAdmin):
    """Files attached to records (served to their teams by the app's views, never from here)."""

    list_display = ["caption", "kind", "team", "content_type", "object_id", "created_at"]
    list_filter = ["kind"]
    readonly_fields = ["file", "content_type", "object_id", "team", "created_at", "created_by"]


@admin.register(ApiToken)
class ApiTokenAdmin(SimpleHistoryAdmin):
    list_display = ["name", "user", "key_prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_prefix", "key_hash", "created_at", "last_used_at"]
    list_filter = ["scope"]

    def has_add_permission(self, request: object) -> bool:
        return False  # tokens are issued through the API or the app, where the key is shown once
