from django.contrib import admin

from notifications.models import Kind, Notice


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """Read-only: who was told what, and whether the e-mail went (for support)."""

    list_display = ["title", "user", "kind", "created_at", "read_at", "email", "email_note"]
    list_filter = ["kind", "email"]
    search_fields = ["user__username", "title"]
    readonly_fields = [f.name for f in Notice._meta.fields]

    def get_queryset(self, request):
        # Whether someone takes part in a study is the study's to know, not the site's staff.
        return super().get_queryset(request).exclude(kind__in=[Kind.STUDY, Kind.INTERVIEW])

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
