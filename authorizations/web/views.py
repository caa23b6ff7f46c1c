"""Brand owners' authorization pages: grant form, approvals, a seller within the brand, revocation.

Every view starts from the brand the user may see (a member, or ops read-only; anyone else gets
404) and leaves each decision to the services and :mod:`authorizations.rules`: the form's live
preview calls :func:`authorizations.rules.evaluate`, the very function ``grants_create`` uses,
without writing anything."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from authorizations import rules, selectors, services
from authorizations.models import (
    LIVE_STATUS_VALUES, AuthorizationRequest, Grant, GrantStatus, RequestStatus, UnauthorizedOffer,
)
from authorizations.timeutil import age_in_business_days, is_overdue
from authorizations.visibility import grants_visible_to, requests_visible_to
from brands.models import Asin, Brand
from brands.selectors import MANAGING_ROLES, asins_with_usage, brands_visible_to, role_of
from config.errors import ApplicationError, ErrorItem, InvalidInput, NotAllowed, NotFound, RuleViolation
from config.webkit import actor_for, apply_errors, paginate, query_without, render_page, sort_from
from sellers.models import Seller, SellerConnection

from .forms import EXPIRING_SOON, GrantFilterForm, GrantForm, ReasonForm, split_codes

CATALOG_PICK_LIMIT = 20  # ASINs the grant form's catalog picker shows per search
SELLER_SUGGESTIONS = 10
REQUESTS_SHOWN = 100  # pending requests listed on the approval queue (oldest first)
MAX_SELECTED = 500  # grants one confirmation step acts on
FINDINGS_SHOWN = 20
# Seller-level rules, shown with the seller's health on its page.
SELLER_RULES = (
    rules.Code.SELLER_NOT_CONNECTED, rules.Code.SELLER_HEALTH_BELOW_MIN, rules.Code.SELLER_HEALTH_STALE,
    rules.Code.SELLER_HAS_INFRINGEMENTS, rules.Code.SELLER_ACCOUNT_RESTRICTED, rules.Code.BRAND_SELLER_LIMIT,
)


# -- access -----------------------------------------------------------------------------------

@dataclass
class BrandAccess:
    """The brand a page is about, and what the user may do there."""

    brand: Brand
    role: str | None
    can_manage: bool

    def context(self, **extra) -> dict:
        return {"brand": self.brand, "role": self.role, "can_manage": self.can_manage, **extra}


def _brand_access(request, brand_id: int) -> BrandAccess:
    """The brand, if the user may see it (a member, or ops read-only); else 404."""
    brand = get_object_or_404(brands_visible_to(request.user), pk=brand_id)
    role = role_of(request.user, brand)
    return BrandAccess(brand=brand, role=role, can_manage=role in MANAGING_ROLES)


def _require_manager(access: BrandAccess) -> None:
    """Writes are for owners and managers; viewers and ops are read-only (403)."""
    if not access.can_manage:
        raise NotAllowed(gettext("Only the brand's owners and managers can change its authorizations."))


def _brand_seller(access: BrandAccess, seller_id: str) -> Seller:
    """A seller as this brand knows it: one that holds (or held) a grant of the brand or asked it
    for one. Any other seller id is not found here."""
    brand = access.brand
    seller = (
        Seller.objects.select_related("home_marketplace")
        .filter(seller_id=seller_id)
        .filter(Exists(Grant.objects.filter(brand=brand, seller=OuterRef("pk")))
                | Exists(AuthorizationRequest.objects.filter(brand=brand, seller=OuterRef("pk"))))
        .first()
    )
    if seller is None:
        raise Http404
    return seller


def _safe_next(request, default: str) -> str:
    """Where to go after an action: the ``next`` the page sent, if it is one of ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def _decorate_waiting(items, now: dt.datetime) -> None:
    """Age in business days and the overdue flag, on each grant or request waiting for a decision."""
    for item in items:
        item.age_business_days = age_in_business_days(item.created_at, now)
        item.overdue = is_overdue(item.age_business_days)


# -- the brand's grants -----------------------------------------------------------------------

GRANT_SORTS = {
    "created": ("created_at", "id"),
    "seller": ("seller__seller_id", "asin__asin", "marketplace_id"),
    "asin": ("asin__asin", "marketplace_id", "id"),
    "marketplace": ("marketplace_id", "asin__asin", "id"),
    "status": ("shown_status", "id"),
    "valid_until": ("valid_until", "id"),
}


def _filtered_grants(queryset, filters: GrantFilterForm, now: dt.datetime):
    seller = filters.value("seller").strip()
    if seller:
        queryset = queryset.filter(Q(seller__seller_id__istartswith=seller) | Q(seller__name__icontains=seller))
    asin = filters.value("asin").strip().upper()
    if asin:
        queryset = queryset.filter(asin__asin__startswith=asin)
    marketplace = filters.value("marketplace")
    if marketplace:
        queryset = queryset.filter(marketplace_id=marketplace)
    status = filters.value("status")
    if status == EXPIRING_SOON:
        queryset = selectors.grants_expiring_soon(queryset, now=now)
    elif status:
        queryset = selectors.grants_with_status(queryset, status, now=now)
    return queryset


@login_required
@require_GET
def grant_list(request, brand_id: int):
    access = _brand_access(request, brand_id)
    now = timezone.now()
    filters = GrantFilterForm(request.GET)
    grants = _filtered_grants(grants_visible_to(request.user).filter(brand=access.brand), filters, now)
    grants = selectors.grants_annotated(grants, now=now).select_related("seller", "asin", "granted_by")
    sort = sort_from(request, GRANT_SORTS, default="-created")
    page = paginate(request, grants.order_by(*sort.order_by))
    context = access.context(
        filters=filters, page=page, sort=sort, now=now,
        counts=selectors.brand_grant_counts(access.brand, now=now),
        filtered=any(filters.value(name) for name in filters.fields),
        query=query_without(request, "page"), query_nosort=query_without(request, "page", "sort"),
        expiring_days=settings.EXPIRING_SOON_DAYS,
    )
    return render_page(request, "authorizations/grant_list.html", context, partial="authorizations/_grant_results.html")


# -- the grant form ---------------------------------------------------------------------------

@dataclass
class RuleGroup:
    code: str
    title: str
    items: list[dict] = field(default_factory=list)


@dataclass
class Preview:
    """What ``grants_create`` would do with the form's input, judged by the same rules."""

    seller: Seller
    asin_count: int
    marketplaces: list[str]
    total: int
    eligible: int
    already: int
    failures: list[dict]
    groups: list[RuleGroup]
    partial: bool
    dual_control: bool
    errors: list[dict] = field(default_factory=list)  # input the service would refuse outright

    @property
    def blocked(self) -> int:
        return max(self.total - self.eligible - self.already, 0)

    @property
    def will_create(self) -> int:
        """Grants a submit would create now (0 when all-or-nothing meets a failure)."""
        if self.errors or (self.failures and not self.partial):
            return 0
        return self.eligible


def _group_failures(failures: list[ErrorItem]) -> list[RuleGroup]:
    groups: dict[str, RuleGroup] = {}
    order = {code.value: index for index, code in enumerate(rules.RULE_ORDER)}
    for item in failures:
        group = groups.get(item.code)
        if group is None:
            title = rules.RULE_TITLES.get(rules.Code(item.code)) if item.code in order else ""
            group = groups[item.code] = RuleGroup(code=item.code, title=str(title or ""))
        group.items.append(item.as_dict())
    return sorted(groups.values(), key=lambda g: order.get(g.code, len(order)))


def _preview(form: GrantForm) -> Preview:
    """Judge the form's request with :func:`rules.evaluate` (what ``grants_create`` calls), writing nothing."""
    args = form.service_arguments()
    seller: Seller = args["seller"]
    mcodes = rules.resolve_marketplaces(seller, args["marketplaces"])
    pairs = len(args["asins"]) * max(len(mcodes), 1)
    common = {"seller": seller, "asin_count": len(args["asins"]), "marketplaces": mcodes, "total": pairs,
              "partial": args["partial"], "dual_control": form.brand.dual_control}
    if pairs > settings.MAX_GRANT_PAIRS:
        error = ErrorItem(code="TOO_MANY_ITEMS", field="asins", detail=gettext(
            "A grant request covers at most %(max)s ASIN × marketplace pairs (this one: %(n)s).")
            % {"max": settings.MAX_GRANT_PAIRS, "n": pairs})
        return Preview(**common, eligible=0, already=0, failures=[], groups=[], errors=[error.as_dict()])
    verdict = rules.evaluate(
        brand=form.brand, seller=seller, asin_codes=args["asins"], marketplace_codes=args["marketplaces"],
        valid_from=args["valid_from"], valid_until=args["valid_until"],
    )
    return Preview(**common, eligible=len(verdict.eligible), already=len(verdict.already_granted),
                   failures=[f.as_dict() for f in verdict.failures], groups=_group_failures(verdict.failures))


def _seller_marketplaces(seller: Seller | None) -> tuple[set[str], str | None]:
    """Where the seller participates, and its home marketplace (hints beside the checkboxes)."""
    if seller is None:
        return set(), None
    participating = set(seller.participations.filter(is_participating=True).values_list("marketplace_id", flat=True))
    return participating, seller.home_marketplace_id


def _seller_from_input(value: str) -> Seller | None:
    code = (value or "").strip().upper()
    if not code:
        return None
    return Seller.objects.select_related("home_marketplace").filter(seller_id=code).first()


def _catalog_context(brand: Brand, query: str, ticked: list[str]) -> dict:
    """The catalog picker: ASINs matching ``query`` (first few), the ticked ones kept on top."""
    query = (query or "").strip()
    ticked = [code for code in dict.fromkeys(c.strip().upper() for c in ticked) if code][:MAX_SELECTED]
    matching = Asin.objects.filter(brand=brand)
    if query:
        matching = matching.filter(Q(asin__istartswith=query) | Q(title__icontains=query))
    shown = list(asins_with_usage(matching.exclude(asin__in=ticked)).order_by("asin")[:CATALOG_PICK_LIMIT + 1])
    kept = list(asins_with_usage(Asin.objects.filter(brand=brand, asin__in=ticked)).order_by("asin")) if ticked else []
    return {
        "catalog_query": query, "catalog_ticked": kept, "catalog_rows": shown[:CATALOG_PICK_LIMIT],
        "catalog_more": len(shown) > CATALOG_PICK_LIMIT, "catalog_empty": not query and not kept and not shown,
        "asin_limit": settings.MAX_SELLERS_PER_ASIN,
    }


def _created_message(brand: Brand, seller: Seller, result: services.GrantCreateResult) -> str:
    created = len(result.created)
    values = {"count": created, "seller": seller.seller_id}
    if created and brand.dual_control:
        text = ngettext(
            "%(count)s grant for %(seller)s created. Dual control is on: it waits for another member's approval.",
            "%(count)s grants for %(seller)s created. Dual control is on: they wait for another member's approval.",
            created) % values
    elif created:
        text = ngettext("%(count)s grant for %(seller)s created and active.",
                        "%(count)s grants for %(seller)s created and active.", created) % values
    else:
        text = gettext("Nothing new was granted to %(seller)s.") % values
    if result.skipped:
        text += " " + ngettext("%(count)s pair the seller already holds was skipped.",
                               "%(count)s pairs the seller already holds were skipped.",
                               len(result.skipped)) % {"count": len(result.skipped)}
    if result.failures:
        text += " " + ngettext("%(count)s pair that is not eligible was left out.",
                               "%(count)s pairs that are not eligible were left out.",
                               len(result.failures)) % {"count": len(result.failures)}
    return text


def _grant_form_page(request, access: BrandAccess, form: GrantForm, *, preview: Preview | None = None,
                     errors: list[dict] | None = None):
    """The grant form page. A refusal re-renders it with 200, like any form with errors: the
    page is the answer (a browser logs 4xx documents as console errors)."""
    seller = form.cleaned_data.get("seller") if form.is_bound and hasattr(form, "cleaned_data") else None
    if seller is None:
        seller = _seller_from_input(form["seller"].value() or "")
    participating, home = _seller_marketplaces(seller)
    ticked = form.data.getlist("catalog_asins") if form.is_bound else split_codes(form.initial.get("picked", ""))
    context = access.context(
        form=form, preview=preview, errors=errors or [], picked_seller=seller, participating=participating,
        home_marketplace=home, **_catalog_context(access.brand, "", ticked),
    )
    return render(request, "authorizations/grant_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def grant_new(request, brand_id: int):
    access = _brand_access(request, brand_id)
    _require_manager(access)
    brand = access.brand
    if request.method == "GET":
        initial = {}
        seller = _seller_from_input(request.GET.get("seller", ""))
        if seller is not None:
            initial["seller"] = seller.seller_id
            if seller.home_marketplace_id:
                initial["marketplaces"] = [seller.home_marketplace_id]
        if request.GET.getlist("asin"):
            initial["asins"] = "\n".join(split_codes(" ".join(request.GET.getlist("asin"))))
        return _grant_form_page(request, access, GrantForm(initial=initial, brand=brand))

    form = GrantForm(request.POST, brand=brand)
    if not form.is_valid():
        return _grant_form_page(request, access, form)
    if request.POST.get("action") == "preview":  # the preview without JavaScript
        return _grant_form_page(request, access, form, preview=_preview(form))
    args = form.service_arguments()
    try:
        result = services.grants_create(actor=actor_for(request), **args)
    except RuleViolation as exc:
        for item in exc.errors:
            if item.code == rules.Code.INVALID_TERM.value:
                form.add_error("valid_until", item.detail)
        return _grant_form_page(request, access, form, errors=exc.as_dicts(), preview=_preview(form))
    except (NotAllowed, NotFound):
        raise
    except ApplicationError as exc:
        apply_errors(form, exc)
        return _grant_form_page(request, access, form, errors=[e for e in exc.as_dicts() if "field" not in e])
    level = messages.SUCCESS if result.created else messages.INFO
    messages.add_message(request, level, _created_message(brand, args["seller"], result))
    return redirect("grants:seller", brand_id=brand.pk, seller_id=args["seller"].seller_id)


@login_required
@require_POST
def grant_preview(request, brand_id: int):
    """The live eligibility preview (htmx): every failing (ASIN, marketplace, rule), in words."""
    access = _brand_access(request, brand_id)
    _require_manager(access)
    form = GrantForm(request.POST, brand=access.brand)
    preview = _preview(form) if form.is_valid() else None
    if not getattr(request, "htmx", False):
        return _grant_form_page(request, access, form, preview=preview)
    missing = not (request.POST.get("seller", "").strip()) or not (
        request.POST.get("asins", "").strip() or request.POST.getlist("catalog_asins"))
    return render(request, "authorizations/_grant_preview.html",
                  access.context(form=form, preview=preview, missing=missing))


@login_required
@require_GET
def seller_suggestions(request, brand_id: int):
    """Sellers matching what was typed (merchant id prefix or name), as <datalist> options."""
    access = _brand_access(request, brand_id)
    _require_manager(access)
    typed = request.GET.get("seller", "").strip()
    sellers = []
    if len(typed) >= 2:
        connected = SellerConnection.objects.filter(seller=OuterRef("pk"), revoked_at__isnull=True).exclude(
            refresh_token_encrypted="")
        sellers = list(
            Seller.objects.filter(Q(seller_id__istartswith=typed) | Q(name__icontains=typed))
            .annotate(is_connected=Exists(connected)).order_by("name", "seller_id")[:SELLER_SUGGESTIONS]
        )
    return render(request, "authorizations/_seller_options.html", {"sellers": sellers})


@login_required
@require_GET
def grant_marketplaces(request, brand_id: int):
    """The marketplace checkboxes for the picked seller: its home marketplace ticked by default."""
    access = _brand_access(request, brand_id)
    _require_manager(access)
    seller = _seller_from_input(request.GET.get("seller", ""))
    participating, home = _seller_marketplaces(seller)
    form = GrantForm(initial={"marketplaces": [home] if home else []}, brand=access.brand)
    response = render(request, "authorizations/_grant_marketplaces.html",
                      access.context(form=form, picked_seller=seller, participating=participating,
                                     home_marketplace=home))
    response["HX-Trigger-After-Settle"] = "grant-form-changed"
    return response


@login_required
@require_GET
def grant_catalog(request, brand_id: int):
    """The catalog picker's results (htmx): matching ASINs, the ticked ones kept."""
    access = _brand_access(request, brand_id)
    _require_manager(access)
    context = _catalog_context(access.brand, request.GET.get("catalog_q", ""), request.GET.getlist("catalog_asins"))
    return render(request, "authorizations/_grant_catalog.html", access.context(**context))


# -- approvals --------------------------------------------------------------------------------

def _approvals_page(request, access: BrandAccess, *, errors: list[dict] | None = None,
                    refused_request: AuthorizationRequest | None = None):
    brand, now = access.brand, timezone.now()
    grants = (selectors.pending_grants(brand, now=now).filter(pk__in=grants_visible_to(request.user).values("pk"))
              .select_related("seller", "asin", "granted_by").order_by("created_at", "id"))
    page = paginate(request, grants)
    _decorate_waiting(page.object_list, now)
    for grant in page.object_list:
        grant.is_own = brand.dual_control and grant.granted_by_id == request.user.pk
    pending_requests = (requests_visible_to(request.user).filter(brand=brand, status=RequestStatus.PENDING)
                        .select_related("seller", "requested_by").order_by("created_at", "id"))
    shown = list(pending_requests[:REQUESTS_SHOWN + 1])
    request_total = len(shown) if len(shown) <= REQUESTS_SHOWN else pending_requests.count()
    shown = shown[:REQUESTS_SHOWN]
    _decorate_waiting(shown, now)
    context = access.context(
        page=page, pending_requests=shown, request_total=request_total, errors=errors or [],
        refused_request=refused_request,
        query=query_without(request, "page"), overdue_days=settings.REQUEST_OVERDUE_BUSINESS_DAYS,
        here=request.get_full_path(),
    )
    return render(request, "authorizations/approvals.html", context)


@login_required
@require_GET
def approvals(request, brand_id: int):
    return _approvals_page(request, _brand_access(request, brand_id))


def _brand_request(request, access: BrandAccess) -> AuthorizationRequest:
    """The partner's request named by ``?request=`` (or the POST's ``request``), if it is this brand's."""
    raw = request.POST.get("request") if request.method == "POST" else request.GET.get("request")
    try:
        request_id = int(raw or "")
    except ValueError:
        raise Http404 from None
    if not 0 < request_id < 2**63:
        raise Http404
    return get_object_or_404(
        requests_visible_to(request.user).filter(brand=access.brand).select_related("brand", "seller", "requested_by"),
        pk=request_id,
    )


@login_required
@require_POST
def request_approve(request, brand_id: int):
    access = _brand_access(request, brand_id)
    _require_manager(access)
    req = _brand_request(request, access)
    try:
        req, created = services.request_approve(actor=actor_for(request), request=req)
    except (NotAllowed, NotFound):
        raise
    except ApplicationError as exc:
        return _approvals_page(request, access, errors=exc.as_dicts(), refused_request=req)
    values = {"count": len(created), "seller": req.seller.seller_id}
    if access.brand.dual_control:
        text = ngettext("Request approved: %(count)s grant for %(seller)s created, waiting for another member's approval.",
                        "Request approved: %(count)s grants for %(seller)s created, waiting for another member's approval.",
                        len(created)) % values
    else:
        text = ngettext("Request approved: %(count)s grant for %(seller)s created and active.",
                        "Request approved: %(count)s grants for %(seller)s created and active.", len(created)) % values
    messages.success(request, text)
    return redirect(_safe_next(request, reverse("grants:approvals", kwargs={"brand_id": access.brand.pk})))


@login_required
@require_http_methods(["GET", "POST"])
def request_reject(request, brand_id: int):
    access = _brand_access(request, brand_id)
    _require_manager(access)
    req = _brand_request(request, access)
    back = _safe_next(request, reverse("grants:approvals", kwargs={"brand_id": access.brand.pk}))
    form = ReasonForm(request.POST or None, required=True,
                      help_text=_("The partner sees this reason. It is kept in the audit log."))
    errors: list[dict] = []
    if request.method == "POST" and form.is_valid():
        try:
            services.request_reject(actor=actor_for(request), request=req, reason=form.cleaned_data["reason"])
        except (NotAllowed, NotFound):
            raise
        except ApplicationError as exc:
            apply_errors(form, exc)
            errors = [e for e in exc.as_dicts() if e.get("field") != "reason"]
        else:
            messages.success(request, gettext("Request from %(seller)s rejected.") % {"seller": req.seller.seller_id})
            return redirect(back)
    _decorate_waiting([req], timezone.now())
    return render(request, "authorizations/request_reject.html",
                  access.context(req=req, form=form, errors=errors, back=back))


# -- acting on selected grants (approve, reject, suspend, reinstate, revoke) -------------------

@dataclass(frozen=True)
class GrantAction:
    service: Callable
    reason_required: bool
    title: str
    button: str
    explanation: str
    danger: bool
    done: str  # ngettext_lazy: % {"count": n}


GRANT_ACTIONS: dict[str, GrantAction] = {
    "approve": GrantAction(
        service=services.grant_approve, reason_required=False, danger=False,
        title=_("Approve grants"), button=_("Approve"),
        explanation=_("The rules are checked again, then the seller may sell these ASINs in these marketplaces "
                      "at once. Under dual control you cannot approve a grant you created."),
        done=ngettext_lazy("%(count)s grant approved.", "%(count)s grants approved.", "count"),
    ),
    "reject": GrantAction(
        service=services.grant_reject, reason_required=True, danger=True,
        title=_("Reject grants"), button=_("Reject"),
        explanation=_("The seller will not be authorized for these ASINs and marketplaces. The reason is kept in "
                      "the audit log."),
        done=ngettext_lazy("%(count)s grant rejected.", "%(count)s grants rejected.", "count"),
    ),
    "revoke": GrantAction(
        service=services.grant_revoke, reason_required=True, danger=True,
        title=_("Revoke grants"), button=_("Revoke now"),
        explanation=_("The seller loses these authorizations immediately: checks answer “not authorized” from "
                      "now on. A revoked grant cannot be restored; a new grant would be needed."),
        done=ngettext_lazy("%(count)s grant revoked.", "%(count)s grants revoked.", "count"),
    ),
    "suspend": GrantAction(
        service=services.grant_suspend, reason_required=True, danger=True,
        title=_("Suspend grants"), button=_("Suspend now"),
        explanation=_("The seller loses these authorizations immediately but keeps its place within the limits; "
                      "an owner or manager can reinstate them later if the rules still pass."),
        done=ngettext_lazy("%(count)s grant suspended.", "%(count)s grants suspended.", "count"),
    ),
    "reinstate": GrantAction(
        service=services.grant_reinstate, reason_required=False, danger=False,
        title=_("Reinstate grants"), button=_("Reinstate"),
        explanation=_("The rules are checked again; if they pass, the seller may sell these ASINs in these "
                      "marketplaces again at once."),
        done=ngettext_lazy("%(count)s grant reinstated.", "%(count)s grants reinstated.", "count"),
    ),
}


def _selected_ids(request) -> list[int]:
    raw = request.POST.getlist("grant") if request.method == "POST" else request.GET.getlist("grant")
    ids = []
    for value in raw[:MAX_SELECTED]:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if 0 < number < 2**63:
            ids.append(number)
    return list(dict.fromkeys(ids))


def _scoped(exc: ApplicationError, grant: Grant) -> list[dict]:
    """A service's refusal about one grant, saying which grant (ASIN, marketplace, seller)."""
    return [{"asin": grant.asin.asin, "marketplace": grant.marketplace_id, "seller_id": grant.seller.seller_id, **item}
            for item in exc.as_dicts()]


@login_required
@require_http_methods(["GET", "POST"])
def grant_action(request, brand_id: int, action: str):
    """The confirmation step (GET) and the action (POST) on one or more grants of the brand."""
    spec = GRANT_ACTIONS.get(action)
    if spec is None:
        raise Http404
    access = _brand_access(request, brand_id)
    _require_manager(access)
    ids = _selected_ids(request)
    now = timezone.now()
    grants = list(
        selectors.grants_annotated(grants_visible_to(request.user).filter(brand=access.brand, pk__in=ids), now=now)
        .select_related("seller", "asin", "granted_by").order_by("seller__seller_id", "asin__asin", "marketplace_id")
    )
    if not grants:
        raise Http404
    first = grants[0]
    if action in ("approve", "reject"):
        default_back = reverse("grants:approvals", kwargs={"brand_id": access.brand.pk})
    else:
        default_back = reverse("grants:seller", kwargs={"brand_id": access.brand.pk, "seller_id": first.seller.seller_id})
    back = _safe_next(request, default_back)
    form = ReasonForm(request.POST if request.method == "POST" else None, required=spec.reason_required,
                      help_text=_("Kept in the audit log with this change."))
    errors: list[dict] = []
    if request.method == "POST" and form.is_valid():
        done = 0
        actor = actor_for(request)
        for grant in grants:
            try:
                spec.service(actor=actor, grant=grant, reason=form.cleaned_data["reason"])
            except (NotAllowed, NotFound):
                raise
            except InvalidInput as exc:
                apply_errors(form, exc)
                break
            except ApplicationError as exc:
                errors += _scoped(exc, grant)
            else:
                done += 1
        if done:
            messages.success(request, spec.done % {"count": done})
        if not errors and not form.errors:
            return redirect(back)
    for grant in grants:
        grant.is_own = access.brand.dual_control and grant.granted_by_id == request.user.pk
    own = sum(1 for g in grants if g.is_own) if action == "approve" else 0
    context = access.context(
        spec=spec, action=action, grants=grants, form=form, errors=errors, back=back, own_count=own,
        not_applicable=sum(1 for g in grants if g.shown_status not in services.transition_sources(action)),
    )
    return render(request, "authorizations/grant_action.html", context)


# -- a seller within the brand ----------------------------------------------------------------

SELLER_GRANT_SORTS = {
    "created": ("created_at", "id"),
    "asin": ("asin__asin", "marketplace_id", "id"),
    "marketplace": ("marketplace_id", "asin__asin", "id"),
    "status": ("shown_status", "asin__asin", "id"),
    "valid_until": ("valid_until", "id"),
}


@login_required
@require_GET
def seller_detail(request, brand_id: int, seller_id: str):
    access = _brand_access(request, brand_id)
    seller = _brand_seller(access, seller_id)
    brand, now = access.brand, timezone.now()
    status = request.GET.get("status", "")
    grants = grants_visible_to(request.user).filter(brand=brand, seller=seller)
    if status in GrantStatus.values:
        grants = selectors.grants_with_status(grants, status, now=now)
    else:
        status = ""
    grants = selectors.grants_annotated(grants, now=now).select_related("asin", "granted_by", "approved_by")
    sort = sort_from(request, SELLER_GRANT_SORTS, default="asin")
    page = paginate(request, grants.order_by(*sort.order_by))
    actionable = access.can_manage and any(g.shown_status in LIVE_STATUS_VALUES for g in page.object_list)
    by_status = dict(
        selectors.grants_annotated(Grant.objects.filter(brand=brand, seller=seller), now=now)
        .order_by().values("shown_status").annotate(n=Count("id")).values_list("shown_status", "n")
    )
    live = sum(by_status.get(s, 0) for s in LIVE_STATUS_VALUES)
    # The seller-level rules, judged by rules.evaluate (no ASIN: the seller and its home marketplace).
    verdict = rules.evaluate(brand=brand, seller=seller, asin_codes=[], marketplace_codes=None, now=now)
    failed = {f.code: f.detail for f in verdict.failures}
    seller_checks = [{"code": code.value, "title": rules.RULE_TITLES[code], "passed": code.value not in failed,
                      "detail": failed.get(code.value, "")} for code in SELLER_RULES]
    connection = SellerConnection.objects.filter(seller=seller).first()
    findings = UnauthorizedOffer.objects.filter(brand=brand, offering_seller_id=seller.seller_id,
                                                resolved_at__isnull=True).select_related("asin")
    finding_rows = list(findings.order_by("-last_seen_at", "-id")[:FINDINGS_SHOWN + 1])
    context = access.context(
        seller=seller, page=page, sort=sort, status=status, by_status=by_status, live_count=live, actionable=actionable,
        seller_checks=seller_checks, connection=connection,
        connected=bool(connection and connection.is_active),
        participations=sorted(seller.participations.filter(is_participating=True).values_list("marketplace_id", flat=True)),
        health_stale=seller.health_checked_at is None
        or now - seller.health_checked_at > dt.timedelta(days=settings.HEALTH_MAX_AGE_DAYS),
        min_health=settings.MIN_HEALTH_SCORE, health_max_age=settings.HEALTH_MAX_AGE_DAYS,
        findings=finding_rows[:FINDINGS_SHOWN],
        findings_total=len(finding_rows) if len(finding_rows) <= FINDINGS_SHOWN else findings.count(),
        pending_requests=AuthorizationRequest.objects.filter(brand=brand, seller=seller,
                                                             status=RequestStatus.PENDING).count(),
        statuses=GrantStatus.choices, query=query_without(request, "page"),
        query_nosort=query_without(request, "page", "sort"), here=request.get_full_path(),
    )
    return render(request, "authorizations/seller_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def seller_revoke_all(request, brand_id: int, seller_id: str):
    """The emergency stop: every live grant of the seller on this brand, revoked at once."""
    access = _brand_access(request, brand_id)
    _require_manager(access)
    seller = _brand_seller(access, seller_id)
    brand = access.brand
    form = ReasonForm(request.POST if request.method == "POST" else None, required=True,
                      help_text=_("Kept in the audit log with each revoked grant."))
    if request.method == "POST" and form.is_valid():
        try:
            revoked = services.grants_revoke_all(actor=actor_for(request), brand=brand, seller=seller,
                                                 reason=form.cleaned_data["reason"])
        except InvalidInput as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, ngettext(
                "%(count)s grant of %(seller)s on %(brand)s revoked.",
                "%(count)s grants of %(seller)s on %(brand)s revoked.", revoked)
                % {"count": revoked, "seller": seller.seller_id, "brand": brand.name})
            return redirect("grants:seller", brand_id=brand.pk, seller_id=seller.seller_id)
    live = selectors.seller_live_grant_count(brand, seller)
    by_marketplace = list(
        Grant.objects.filter(rules.effective_live_q(timezone.now()), brand=brand, seller=seller)
        .order_by("marketplace_id").values("marketplace_id").annotate(n=Count("id")).values_list("marketplace_id", "n")
    )
    return render(request, "authorizations/revoke_all.html",
                  access.context(seller=seller, form=form, live_count=live, by_marketplace=by_marketplace))
