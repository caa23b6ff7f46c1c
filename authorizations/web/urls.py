from django.urls import path

from . import views

app_name = "grants"

urlpatterns = [
    path("grants/", views.grant_list, name="list"),
    path("grants/new/", views.grant_new, name="new"),
    path("grants/new/preview/", views.grant_preview, name="preview"),
    path("grants/new/sellers/", views.seller_suggestions, name="seller_suggestions"),
    path("grants/new/marketplaces/", views.grant_marketplaces, name="marketplaces"),
    path("grants/new/catalog/", views.grant_catalog, name="catalog"),
    path("grants/approve/", views.grant_action, {"action": "approve"}, name="approve"),
    path("grants/reject/", views.grant_action, {"action": "reject"}, name="reject"),
    path("grants/revoke/", views.grant_action, {"action": "revoke"}, name="revoke"),
    path("grants/suspend/", views.grant_action, {"action": "suspend"}, name="suspend"),
    path("grants/reinstate/", views.grant_action, {"action": "reinstate"}, name="reinstate"),
    path("approvals/", views.approvals, name="approvals"),
    path("requests/approve/", views.request_approve, name="request_approve"),
    path("requests/reject/", views.request_reject, name="request_reject"),
    path("sellers/<str:seller_id>/", views.seller_detail, name="seller"),
    path("sellers/<str:seller_id>/revoke-all/", views.seller_revoke_all, name="revoke_all"),
]
