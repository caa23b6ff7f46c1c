"""Partners' pages: their seller accounts, the authorizations those hold, their requests and the
diagnosis ("why can't I sell X in M?").

Every page starts from the user's own sellers (:func:`sellers.selectors.partner_sellers`):
another partner's seller is a 404 and a user without sellers sees empty states. Views parse
input with a form and call the services the REST API calls; the services decide."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from authorizations import services as grant_services
from authorizations.amazon import amazon_restrictions
from authorizations.models import LIVE_STATUS_VALUES, GrantStatus, RequestStatus
from authorizations.rules import RULE_TITLES, Code
from authorizations.selectors import diagnose
from authorizations.timeutil import business_days_between
from config.errors import ApplicationError
from config.webkit import (
    actor_for,
    apply_errors,
    paginate,
    query_without,
    render_page,
    sort_from,
)
from sellers import oauth, services
from sellers.models import Marketplace, Seller
from sellers.selectors import (
    grant_status_q,
    partner_grants,
    partner_requests,
    partner_sellers,
    partner_sellers_overview,
    requestable_brand,
    requestable_brands,
)
from sellers.sync import seller_sync_request
from spapi_client.models import SyncKind, SyncRun, SyncStatus

from .forms import (
    DiagnosisForm,
    DisconnectForm,
    GrantFilterForm,
    HomeMarketplaceForm,
    RequestFilterForm,
    RequestForm,
)
from .presenters import breakdown_of, health_verdict

RECENT_RUNS = 8
IN_FLIGHT = (SyncStatus.PENDING, SyncStatus.RUNNING)
GRANT_ACTIONS = {
    "grant.created": gettext_lazy("Granted"),
    "grant.approved": gettext_lazy("Approved"),
    "grant.rejected": gettext_lazy("Rejected"),
    "grant.revoked": gettext_lazy("Revoked"),
    "grant.suspended": gettext_lazy("Suspended"),
    "grant.reinstated": gettext_lazy("Reinstated"),
    "grant.expired": gettext_lazy("Expired"),
}


def _my_seller(request, seller_id: str) -> Seller:
    """One of the user's own sellers, else 404 (another partner's seller is not even named)."""
    return get_object_or_404(partner_sellers(request.user).select_related("connection", "home_marketplace"),
                             seller_id=seller_id)


def _connected(seller: Seller) -> bool:
    connection = getattr(seller, "connection", None)
    return bool(connection and connection.is_active)


# -- my sellers ---------------------------------------------------------------------------------

@login_required
@require_GET
def seller_list(request):
    now = timezone.now()
    sellers = list(partner_sellers_overview(request.user, now=now).order_by("name", "seller_id"))
    rows = [{"seller": s, "verdict": health_verdict(s, now=now), "connected": _connected(s)} for s in sellers]
    return render(request, "sellers/list.html", {"rows": rows, "min_score": settings.MIN_HEALTH_SCORE})


@login_required
@require_POST
def connect(request):
    """Start SP-API website authorization: the browser goes to Seller Central's consent page,
    which sends it back to /spapi/callback (sellers.api.connect.SpapiCallbackView)."""
    try:
        consent_url, _state = oauth.connect_start(user=request.user)
    except ApplicationError as exc:
        for item in exc.errors:
            messages.error(request, item.detail)
        return redirect("partner:sellers")
    response = HttpResponseRedirect(consent_url)
    response["Cache-Control"] = "no-store"
    return response


# -- one seller ---------------------------------------------------------------------------------

def _recent_runs(seller: Seller) -> list[SyncRun]:
    return list(SyncRun.objects.filter(seller=seller, kind=SyncKind.SELLER).select_related("requested_by")
                .order_by("-created_at")[:RECENT_RUNS])


def _sync_context(seller: Seller) -> dict:
    runs = _recent_runs(seller)
    return {"seller": seller, "runs": runs, "latest_run": runs[0] if runs else None,
            "in_flight": any(r.status in IN_FLIGHT for r in runs)}


@login_required
@require_GET
def seller_detail(request, seller_id: str):
    seller = _my_seller(request, seller_id)
    now = timezone.now()
    participations = list(seller.participations.filter(is_participating=True).select_related("marketplace")
                          .order_by("marketplace_id"))
    live_grants = partner_grants(request.user).filter(seller=seller).filter(
        status__in=LIVE_STATUS_VALUES).exclude(valid_until__lte=now).count()
    context = {
        **_sync_context(seller),
        "verdict": health_verdict(seller, now=now),
        "breakdown": breakdown_of(seller),
        "connected": _connected(seller),
        "participations": participations,
        "live_grants": live_grants,
        "home_form": HomeMarketplaceForm(seller=seller) if participations else None,
        "min_score": settings.MIN_HEALTH_SCORE,
        "max_age_days": settings.HEALTH_MAX_AGE_DAYS,
    }
    return render(request, "sellers/detail.html", context)


@login_required
@require_POST
def seller_sync(request, seller_id: str):
    """"Sync now": the API's path (``POST /api/v1/sellers/{id}/sync``): a SyncRun, enqueued on commit."""
    seller = _my_seller(request, seller_id)
    try:
        run = seller_sync_request(actor=actor_for(request), seller=seller)
    except ApplicationError as exc:
        for item in exc.errors:
            messages.error(request, item.detail)
        return redirect("partner:seller", seller_id=seller.seller_id)
    run.refresh_from_db()  # with an eager Celery (no broker) the sync has already run
    if run.status == SyncStatus.SUCCESS:
        messages.success(request, _("Sync finished: the seller's marketplaces and health are up to date."))
    elif run.status == SyncStatus.FAILURE:
        messages.error(request, _("The sync failed. Nothing was changed; see the latest runs below."))
    else:
        messages.info(request, _("Sync started. This page shows its progress and updates when it finishes."))
    return redirect("partner:seller", seller_id=seller.seller_id)


@login_required
@require_GET
def seller_sync_runs(request, seller_id: str):
    """The sync panel, polled by htmx while a run is in flight; when the run the page was
    waiting for has finished, the whole page reloads (its figures changed)."""
    seller = _my_seller(request, seller_id)
    context = _sync_context(seller)
    if getattr(request, "htmx", False) and request.GET.get("waiting") and not context["in_flight"]:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render_page(request, "sellers/sync_runs.html", context, partial="sellers/_sync_panel.html")


@login_required
@require_POST
def seller_home_marketplace(request, seller_id: str):
    seller = _my_seller(request, seller_id)
    form = HomeMarketplaceForm(request.POST, seller=seller)
    if form.is_valid():
        try:
            services.seller_update(actor=actor_for(request), seller=seller,
                                   home_marketplace=form.cleaned_data["home_marketplace"])
        except ApplicationError as exc:
            for item in exc.errors:
                messages.error(request, item.detail)
        else:
            messages.success(request, _("Home marketplace set to %(code)s.") % {"code": form.cleaned_data["home_marketplace"]})
    else:
        messages.error(request, _("Choose one of the marketplaces the seller participates in."))
    return redirect("partner:seller", seller_id=seller.seller_id)


@login_required
@require_http_methods(["GET", "POST"])
def seller_disconnect(request, seller_id: str):
    """A confirmation page (what will happen, a required reason), then the service."""
    seller = _my_seller(request, seller_id)
    form = DisconnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.seller_disconnect(actor=actor_for(request), seller=seller, reason=form.cleaned_data["reason"])
        messages.success(request, _("%(name)s is disconnected: its Seller Central authorization was deleted.")
                         % {"name": seller.name})
        return redirect("partner:seller", seller_id=seller.seller_id)
    return render(request, "sellers/disconnect.html",
                  {"seller": seller, "form": form, "connected": _connected(seller)},
                  status=400 if form.errors else 200)


# -- my authorizations --------------------------------------------------------------------------

GRANT_SORTS = {
    "asin": ("asin__asin", "marketplace_id"),
    "brand": ("brand__name", "asin__asin"),
    "seller": ("seller__name", "asin__asin"),
    "marketplace": ("marketplace_id", "asin__asin"),
    "status": ("status", "asin__asin"),
    "valid_from": "valid_from",
    "valid_until": "valid_until",
}


@login_required
@require_GET
def authorization_list(request):
    user = request.user
    now = timezone.now()
    soon = now + dt.timedelta(days=settings.EXPIRING_SOON_DAYS)
    sellers = list(partner_sellers(user).order_by("name", "seller_id"))
    grants = partner_grants(user)
    brands = [{"id": row["brand_id"], "name": row["brand__name"]} for row in
              grants.order_by("brand__name", "brand_id").values("brand_id", "brand__name").distinct()]
    markets = list(Marketplace.objects.filter(code__in=grants.order_by().values("marketplace_id")).order_by("code"))
    form = GrantFilterForm(request.GET or None, sellers=sellers, brands=brands, marketplaces=markets)
    filters = form.filters() if request.GET else {}

    if "seller" in filters:
        grants = grants.filter(seller__seller_id=filters["seller"])
    if "brand" in filters:
        grants = grants.filter(brand_id=filters["brand"])
    if "marketplace" in filters:
        grants = grants.filter(marketplace_id=filters["marketplace"])
    if "status" in filters:
        grants = grants.filter(grant_status_q(filters["status"], now))
    if "asin" in filters:
        grants = grants.filter(asin__asin__startswith=filters["asin"])
    if filters.get("expiring"):
        grants = grants.filter(status=GrantStatus.ACTIVE, valid_until__gt=now, valid_until__lte=soon)

    sort = sort_from(request, GRANT_SORTS, default="asin")
    grants = grants.select_related("brand", "seller", "asin", "marketplace").order_by(*sort.order_by, "id")
    page = paginate(request, grants)
    labels = dict(GrantStatus.choices)
    for grant in page:
        grant.shown_status = grant_services.effective_status(grant, now)
        grant.shown_status_label = labels.get(grant.shown_status, grant.shown_status)
        grant.expiring_soon = (grant.shown_status == GrantStatus.ACTIVE and grant.valid_until is not None
                               and grant.valid_until <= soon)
        grant.days_left = (grant.valid_until.date() - now.date()).days if grant.expiring_soon else None  # UTC days
    context = {
        "form": form, "page": page, "sort": sort, "sellers": sellers, "filtered": bool(filters),
        "query": query_without(request, "page"), "query_nosort": query_without(request, "page", "sort"),
        "expiring_days": settings.EXPIRING_SOON_DAYS, "now": now,
    }
    return render_page(request, "sellers/authorizations.html", context, partial="sellers/_grant_results.html")


# -- requests -----------------------------------------------------------------------------------

@login_required
@require_GET
def request_list(request):
    user = request.user
    sellers = list(partner_sellers(user).order_by("name", "seller_id"))
    form = RequestFilterForm(request.GET or None, sellers=sellers)
    filters = form.filters() if request.GET else {}
    requests = partner_requests(user).select_related("brand", "seller", "requested_by", "decided_by")
    if "seller" in filters:
        requests = requests.filter(seller__seller_id=filters["seller"])
    if "status" in filters:
        requests = requests.filter(status=filters["status"])
    page = paginate(request, requests.order_by("-created_at", "-id"))
    now = timezone.now()
    for req in page:
        req.age_business_days = business_days_between(req.created_at.date(), (req.decided_at or now).date())
        req.overdue = (req.status == RequestStatus.PENDING
                       and req.age_business_days > settings.REQUEST_OVERDUE_BUSINESS_DAYS)
    return render(request, "sellers/requests.html", {
        "form": form, "page": page, "sellers": sellers, "filtered": bool(filters),
        "query": query_without(request, "page"), "overdue_days": settings.REQUEST_OVERDUE_BUSINESS_DAYS,
    })


def _brand_choices(query: str, selected) -> list:
    """The brands the request form offers: the search's matches, and the brand already chosen."""
    found = list(requestable_brands(query))
    if selected is not None and all(b.pk != selected.pk for b in found):
        found.insert(0, selected)
    return found


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request):
    user = request.user
    sellers = list(partner_sellers(user).order_by("name", "seller_id"))
    if request.method == "POST":
        form = RequestForm(request.POST, sellers=sellers)
        if form.is_valid():
            data = form.cleaned_data
            seller = get_object_or_404(partner_sellers(user), seller_id=data["seller"])
            try:
                req = grant_services.request_create(
                    actor=actor_for(request), brand=data["brand"], seller=seller, asins=data["asins"],
                    marketplaces=data["marketplaces"] or None, message=data["message"])
            except ApplicationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, ngettext(
                    "Request sent to %(brand)s for %(count)s ASIN in %(markets)s. The brand's answer will appear here.",
                    "Request sent to %(brand)s for %(count)s ASINs in %(markets)s. The brand's answer will appear here.",
                    len(req.asins)) % {"brand": req.brand.name, "count": len(req.asins),
                                       "markets": ", ".join(req.marketplaces)})
                return redirect("partner:requests")
        selected = form.chosen_brand or requestable_brand(request.POST.get("brand"))
        query = request.POST.get("brand_q", "")
    else:
        initial = {key: request.GET.get(key, "") for key in ("seller", "brand_q", "asins", "message")}
        initial["marketplaces"] = request.GET.getlist("marketplaces")
        if len(sellers) == 1 and not initial["seller"]:
            initial["seller"] = sellers[0].seller_id
        selected = requestable_brand(request.GET.get("brand"))
        if selected is not None:
            initial["brand"] = selected.pk
        form = RequestForm(initial=initial, sellers=sellers)
        query = initial["brand_q"]
    context = {"form": form, "sellers": sellers, "brands": _brand_choices(query, selected),
               "selected_brand": selected, "brand_query": query}
    return render(request, "sellers/request_new.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def brand_search(request):
    """The brand search of the request form (htmx): the matching brands as choices."""
    selected = requestable_brand(request.GET.get("brand"))
    query = request.GET.get("brand_q", "")
    return render(request, "sellers/_brand_choices.html",
                  {"brands": _brand_choices(query, selected), "selected_brand": selected, "brand_query": query})


# -- the diagnosis ------------------------------------------------------------------------------

def _history_rows(events) -> list[dict]:
    """The grant's audit events in words: what happened, the status before and after, who, why."""
    labels = dict(GrantStatus.choices)
    rows = []
    for event in events:
        before = event.before.get("status") if isinstance(event.before, dict) else None
        after = event.after.get("status") if isinstance(event.after, dict) else None
        rows.append({"event": event, "label": GRANT_ACTIONS.get(event.action, event.action),
                     "before": before, "before_label": labels.get(before, before),
                     "after": after, "after_label": labels.get(after, after)})
    return rows


def _rule_title(code: str) -> str:
    try:
        return str(RULE_TITLES[Code(code)])
    except (ValueError, KeyError):
        return ""


@login_required
@require_GET
def diagnosis(request):
    """Why can't my seller sell ASIN X in marketplace M? Every rule with pass or fail in words,
    the grant and its history, and Amazon's own gating from the last sync."""
    user = request.user
    sellers = list(partner_sellers(user).select_related("home_marketplace").order_by("name", "seller_id"))
    asked = any(key in request.GET for key in ("seller", "asin", "marketplace"))
    form = DiagnosisForm(request.GET if asked else None, sellers=sellers)
    context = {"form": form, "sellers": sellers, "result": None}
    if asked and form.is_valid():
        data = form.cleaned_data
        seller = get_object_or_404(partner_sellers(user), seller_id=data["seller"])
        asin, marketplace = data["asin"], data["marketplace"]
        form.data = form.data.copy()
        form.data["asin"] = asin  # shown as understood: B0ALPHA001 for b0alpha001
        # As the seller's partner: every brand's catalog counts (as in GET /api/v1/diagnose).
        result = diagnose(seller=seller, asin=asin, marketplace=marketplace)
        grant = result.grant
        failing = [c for c in result.checks if not c["passed"]]
        request_url = None
        brand = requestable_brand(result.brand.pk) if result.brand is not None else None
        if not result.authorized and brand is not None and (grant is None or grant.status not in LIVE_STATUS_VALUES):
            request_url = reverse("partner:request_new") + "?" + urlencode(
                {"seller": seller.seller_id, "brand": brand.pk, "brand_q": brand.name, "asins": asin,
                 "marketplaces": marketplace})
        context["result"] = {
            "seller": seller, "asin": asin, "marketplace": marketplace, "diagnosis": result,
            "failing": failing, "passing": len(result.checks) - len(failing), "grant": grant,
            "grant_status": grant_services.effective_status(grant) if grant else None,
            "grant_reason_title": _rule_title(grant.status_reason_code) if grant else "",
            "history": _history_rows(result.history),
            "amazon": amazon_restrictions(seller, asin, marketplace),
            "request_url": request_url,
        }
    # htmx swaps only 2xx answers: the form with its errors comes back as 200 to an htmx request.
    status = 400 if form.errors and not getattr(request, "htmx", False) else 200
    return render_page(request, "sellers/diagnosis.html", context, partial="sellers/_diagnosis.html", status=status)
