"""Admin pieces shared by the apps: the admin never writes what services own."""
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Changes go through services (authority checks, locks, audit), never through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
