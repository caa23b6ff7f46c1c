"""The partner pages, mounted at /partner/ (namespace ``partner``)."""
from django.urls import path

from . import views

app_name = "partner"

urlpatterns = [
    path("sellers/", views.seller_list, name="sellers"),
    path("sellers/connect/", views.connect, name="connect"),
    path("sellers/<str:seller_id>/", views.seller_detail, name="seller"),
    path("sellers/<str:seller_id>/sync/", views.seller_sync, name="seller_sync"),
    path("sellers/<str:seller_id>/sync/runs/", views.seller_sync_runs, name="seller_sync_runs"),
    path("sellers/<str:seller_id>/home-marketplace/", views.seller_home_marketplace, name="seller_home_marketplace"),
    path("sellers/<str:seller_id>/disconnect/", views.seller_disconnect, name="seller_disconnect"),
    path("authorizations/", views.authorization_list, name="authorizations"),
    path("requests/", views.request_list, name="requests"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/new/brands/", views.brand_search, name="brand_search"),
    path("diagnosis/", views.diagnosis, name="diagnosis"),
]
