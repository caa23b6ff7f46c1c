from django.apps import AppConfig


class BrandsConfig(AppConfig):
    name = "brands"
    default_auto_field = "django.db.models.BigAutoField"
