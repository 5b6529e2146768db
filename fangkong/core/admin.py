from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import ApiToken, AuditEntry, Division, Job, Organization, User


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "division")
    list_filter = ("kind",)
    search_fields = ("name",)
    raw_id_fields = ("division",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "role", "division", "organization", "is_active")
    list_filter = ("role", "is_active")
    raw_id_fields = ("division", "organization")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Role and jurisdiction"), {"fields": ("role", "division", "organization", "phone")}),
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "action", "target_type", "target_id", "origin", "ip_address")
    list_filter = ("action", "origin")
    search_fields = ("target_id", "actor_label", "action")


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "status", "done", "total")
    list_filter = ("kind", "status")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
