from django.urls import path

from . import views

app_name = "ops"

urlpatterns = [
    path("", views.index, name="index"),
    path("audit/", views.audit_log, name="audit"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("audit/verify/", views.audit_verify, name="audit_verify"),
    path("sync-runs/", views.sync_runs, name="sync_runs"),
    path("sync-runs/<uuid:run_id>/", views.sync_run, name="sync_run"),
]
