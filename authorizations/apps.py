from django.apps import AppConfig


class AuthorizationsConfig(AppConfig):
    name = "authorizations"
    default_auto_field = "django.db.models.BigAutoField"
