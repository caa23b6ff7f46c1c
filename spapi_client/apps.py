from django.apps import AppConfig


class SpapiClientConfig(AppConfig):
    name = "spapi_client"
    default_auto_field = "django.db.models.BigAutoField"
