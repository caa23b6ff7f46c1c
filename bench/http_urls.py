"""The product's URLs plus the floor: a bare Django view (no DRF, no authentication, no
throttle) that runs the check's single SQL query and returns the same JSON. It lives here, in
bench/, never in the product."""
import floor_sql
from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone

from config.urls import urlpatterns as product_urlpatterns

COMPACT = {"separators": (",", ":")}  # as DRF renders JSON


def floor(request):
    params = request.GET
    row = floor_sql.fetch_one(connection, params["seller_id"], params["asin"], params["marketplace"])
    if row is None:
        return JsonResponse({"authorized": False, "grant_id": None, "status": None, "valid_until": None},
                            json_dumps_params=COMPACT)
    grant_id, status, valid_from, valid_until, registry_status = row[:5]
    now = timezone.now()
    if valid_until is not None and valid_until <= now:
        status = "EXPIRED"
    authorized = status == "ACTIVE" and registry_status == "ACTIVE" and valid_from <= now
    until = None if valid_until is None else valid_until.isoformat().replace("+00:00", "Z")  # as DRF prints it
    return JsonResponse({"authorized": authorized, "grant_id": grant_id, "status": status, "valid_until": until},
                        json_dumps_params=COMPACT)


urlpatterns = [path("bench/floor", floor), *product_urlpatterns]
