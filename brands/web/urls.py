from django.urls import path

from . import views

app_name = "brands"

urlpatterns = [
    path("", views.brand_list, name="list"),
    path("new/", views.brand_create, name="create"),
    path("<int:brand_id>/", views.dashboard, name="dashboard"),
    path("<int:brand_id>/sync/", views.brand_sync, name="sync"),
    path("<int:brand_id>/asins/", views.asins, name="asins"),
    path("<int:brand_id>/asins/import/", views.asins_import, name="asins_import"),
    path("<int:brand_id>/findings/", views.findings, name="findings"),
    path("<int:brand_id>/findings/export.csv", views.findings_export, name="findings_export"),
    path("<int:brand_id>/members/", views.members, name="members"),
    path("<int:brand_id>/members/remove/", views.member_remove, name="member_remove"),
    path("<int:brand_id>/settings/", views.brand_settings, name="settings"),
    path("<int:brand_id>/audit/", views.brand_audit, name="audit"),
]
