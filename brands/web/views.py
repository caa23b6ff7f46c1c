"""Brand owners' pages: their brands, registering one, and each brand's dashboard, ASIN catalog
(with CSV import), members, settings, audit trail and unauthorized-offer findings.

Every brand page starts from :func:`brands.web.access.brand_for` (404 unless the user is a member
of the brand, or ops staff who read it), shows action buttons by role, and leaves every write to
the services in :mod:`brands.services`, :mod:`brands.import_jobs` and :mod:`brands.sync`, which
check the actor's role themselves (a viewer's or ops' POST is refused there: 403).
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from authorizations.models import AuthorizationRequest, Grant, RequestStatus, UnauthorizedOffer
from authorizations.selectors import grants_expiring_soon, pending_grants
from authorizations.timeutil import age_in_business_days, is_overdue
from brands import import_jobs, services, sync
from brands.models import Asin, AsinMarketplace, BrandMembership, Role
from brands.selectors import (
    MANAGING_ROLES, asins_with_usage, brand_change_version, brand_dashboard_statistics, brands_visible_to,
    brands_with_usage, count_subquery, is_ops_request, latest_brand_sync, require_brand_role, spapi_account_choices,
)
from config.errors import ApplicationError, InvalidInput
from config.webkit import actor_for, apply_errors, paginate, query_without, render_page, sort_from
from sellers.models import Seller
from spapi_client.models import SyncRun, SyncStatus

from .access import brand_for
from .charts import LineChart
from .forms import (
    IMPORT_MAX_BYTES, AsinFilterForm, AsinImportForm, AuditFilterForm, BrandCreateForm, BrandSettingsForm,
    FindingFilterForm, MemberForm, MemberRemoveForm,
)

PER_PAGE = 50
DASHBOARD_ROWS = 8  # rows per dashboard list; each links to the full page
IMPORT_ERRORS_SHOWN = 500  # per-line errors listed on the page (the job's result keeps them all)


# -- brands ---------------------------------------------------------------------------------------

@login_required
@require_GET
def brand_list(request):
    my_role = BrandMembership.objects.filter(brand=OuterRef("pk"), user=request.user).values("role")[:1]
    brands = (brands_with_usage(brands_visible_to(request.user)).annotate(my_role=Subquery(my_role))
              .order_by("name", "id"))
    limit = settings.MAX_SELLERS_PER_BRAND
    return render(request, "brands/list.html",
                  {"brands": brands, "sellers_limit": limit, "sellers_high": _high(limit)})


def _high(limit: int) -> int:
    """Where a usage bar turns to "high": 90 % of the limit."""
    return max(1, int(limit * 0.9))


@login_required
@require_http_methods(["GET", "POST"])
def brand_create(request):
    form = BrandCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            brand = services.brand_create(actor=actor_for(request), **form.cleaned_data)
        except ApplicationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Brand %(name)s registered. It stays PENDING until its Brand Registry "
                                        "standing is verified.") % {"name": brand.name})
            return redirect("brands:dashboard", brand_id=brand.pk)
    return render(request, "brands/create.html", {"form": form}, status=400 if form.errors else 200)


# -- dashboard ------------------------------------------------------------------------------------

SYNC_BADGES = {SyncStatus.PENDING: "PENDING", SyncStatus.RUNNING: "RUNNING", SyncStatus.SUCCESS: "ok",
               SyncStatus.FAILURE: "fail"}


def _aged(items, now):
    """Attach ``age`` (business days since created) and ``overdue`` to requests or grants."""
    items = list(items)
    for item in items:
        item.age = age_in_business_days(item.created_at, now)
        item.overdue = is_overdue(item.age)
    return items


@login_required
@require_GET
def dashboard(request, brand_id: int):
    requests_pending = AuthorizationRequest.objects.filter(status=RequestStatus.PENDING)
    open_findings = UnauthorizedOffer.objects.filter(resolved_at__isnull=True)
    # The two tallies ride on the brand's own row: two queries fewer per page view.
    brands = brands_visible_to(request.user, ops=is_ops_request(request)).select_related("spapi_account").annotate(
        requests_count=count_subquery(requests_pending.filter(brand=OuterRef("pk")), "brand", Count("id")),
        findings_count=count_subquery(open_findings.filter(brand=OuterRef("pk")), "brand", Count("id")),
        version=brand_change_version())
    brand, access = brand_for(request, brand_id, brands)
    now = timezone.now()
    stats = brand_dashboard_statistics(brand, version=brand.version, open_findings=brand.findings_count, now=now)
    brand.sellers_used, brand.asin_count = stats["sellers_used"], stats["asin_count"]
    brand_grants = Grant.objects.filter(brand=brand).select_related("seller", "asin")
    counts, at_limit, history = stats["counts"], stats["at_limit"], stats["history"]
    requests_pending = requests_pending.filter(brand=brand)
    open_findings = open_findings.filter(brand=brand)
    sellers_limit, asin_limit = settings.MAX_SELLERS_PER_BRAND, settings.MAX_SELLERS_PER_ASIN
    last_run = latest_brand_sync(brand)
    context = {
        "brand": brand, "access": access, "now": now,
        "sellers_limit": sellers_limit, "sellers_high": _high(sellers_limit),
        "asin_limit": asin_limit, "asin_high": _high(asin_limit),
        "counts": counts,
        "at_limit": at_limit[:DASHBOARD_ROWS], "at_limit_count": len(at_limit),
        "expiring": list(grants_expiring_soon(brand_grants, now=now).order_by("valid_until", "id")[:DASHBOARD_ROWS]),
        "expiring_days": settings.EXPIRING_SOON_DAYS,
        "approvals": _aged(pending_grants(brand, now=now).select_related("seller", "asin", "granted_by")
                           .order_by("created_at", "id")[:DASHBOARD_ROWS], now),
        "requests": _aged(requests_pending.select_related("seller").order_by("created_at", "id")[:DASHBOARD_ROWS], now),
        "requests_count": brand.requests_count,
        "findings": list(open_findings.select_related("asin").order_by("-last_seen_at", "-id")[:5]),
        "findings_count": brand.findings_count,
        "overdue_days": settings.REQUEST_OVERDUE_BUSINESS_DAYS,
        "last_run": last_run, "last_run_badge": SYNC_BADGES.get(last_run.status, "") if last_run else "",
        "grants_chart": LineChart([at for at, _g, _f in history], [g for _at, g, _f in history], "series-a"),
        "findings_chart": LineChart([at for at, _g, _f in history], [f for _at, _g, f in history], "series-b"),
        "history": history,
    }
    return render(request, "brands/dashboard.html", context)


@login_required
@require_POST
def brand_sync(request, brand_id: int):
    """"Sync now": the brand sync the API's ``POST /brands/{id}/sync`` starts (catalog
    verification, then offers monitoring), for owners and managers."""
    brand, _access = brand_for(request, brand_id)
    require_brand_role(actor_for(request), brand, MANAGING_ROLES)
    if brand.spapi_account_id is None:
        messages.error(request, _("This brand has no SP-API account to sync with: choose one in the brand's "
                                  "settings first."))
        return redirect("brands:dashboard", brand_id=brand.pk)
    _run, created = sync.brand_sync_request(brand=brand, requested_by=request.user)
    if created:
        messages.success(request, _("Sync started: catalog verification, then offers monitoring. This page shows "
                                    "its progress under “Last sync”."))
    else:
        messages.info(request, _("A sync of this brand is already under way."))
    return redirect("brands:dashboard", brand_id=brand.pk)


# -- ASIN catalog ---------------------------------------------------------------------------------

ASIN_SORTS = {
    "asin": "asin", "title": ("title", "asin"), "category": ("category", "asin"),
    "sellers": ("sellers_used", "asin"), "created": ("created_at", "asin"),
}


def _asins_filtered(brand, values: dict):
    asins = Asin.objects.filter(brand=brand)
    q = (values.get("q") or "").strip()
    if q:
        asins = asins.filter(Q(asin__icontains=q) | Q(title__icontains=q))
    marketplace = values.get("marketplace")
    presences = AsinMarketplace.objects.filter(asin=OuterRef("pk"))
    if marketplace:
        presences = presences.filter(marketplace_id=marketplace)
        asins = asins.filter(Exists(presences))
    if values.get("presence"):
        asins = asins.filter(Exists(presences.filter(status=values["presence"])))
    if values.get("registered") == "yes":
        asins = asins.filter(gcid__isnull=False)
    elif values.get("registered") == "no":
        asins = asins.filter(gcid__isnull=True)
    asins = asins_with_usage(asins)
    if values.get("at_limit"):
        asins = asins.filter(sellers_used__gte=settings.MAX_SELLERS_PER_ASIN)
    return asins


@login_required
@require_GET
def asins(request, brand_id: int):
    brand, access = brand_for(request, brand_id)
    form = AsinFilterForm(request.GET)
    values = form.values()
    sort = sort_from(request, ASIN_SORTS, default="asin")
    page = paginate(request, _asins_filtered(brand, values).order_by(*sort.order_by), per_page=PER_PAGE)
    limit = settings.MAX_SELLERS_PER_ASIN
    context = {
        "brand": brand, "access": access, "form": form, "page": page, "sort": sort,
        "query": query_without(request, "page"), "query_nosort": query_without(request, "page", "sort"),
        "filtered": any(values.get(name) for name in ("q", "marketplace", "presence", "registered", "at_limit")),
        "asin_limit": limit, "asin_high": _high(limit),
    }
    return render_page(request, "brands/asins.html", context, partial="brands/_asin_table.html")


# -- CSV import -----------------------------------------------------------------------------------

class _ImportSizeLimit(FileUploadHandler):
    """Stops reading an uploaded file as soon as it passes the import's size limit (instead of
    spooling a huge upload to disk), and notes it on the request for the form to say so."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > IMPORT_MAX_BYTES:
            self.request.import_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


@login_required
@csrf_exempt  # only to install the upload limit before the body is read; _asins_import checks CSRF
@require_http_methods(["GET", "POST"])
def asins_import(request, brand_id: int):
    brand, access = brand_for(request, brand_id)
    if request.method == "POST":
        request.upload_handlers.insert(0, _ImportSizeLimit(request))
        try:
            request.POST  # noqa: B018  (read the body now, under the limits)
        except RequestDataTooBig:
            refusal = _("The pasted text is larger than %(max)s. Upload it as a file, or split it.") % {
                "max": _size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}
            return _import_page(request, brand, access, AsinImportForm(), refusal=refusal, status=413)
    return _asins_import(request, brand, access)


def _size(n: int) -> str:
    from django.template.defaultfilters import filesizeformat

    return filesizeformat(n)


@csrf_protect
def _asins_import(request, brand, access):
    if request.method == "GET":
        job_id = request.GET.get("job")
        if job_id:
            return _import_job_page(request, brand, access, job_id)
        return _import_page(request, brand, access, AsinImportForm())

    actor = actor_for(request)
    require_brand_role(actor, brand, MANAGING_ROLES)  # a viewer's or ops' POST: 403, whatever it holds
    form = AsinImportForm(request.POST, request.FILES)
    if getattr(request, "import_too_large", False):
        form.is_valid()
        form.errors.pop("csv_file", None)
        form.add_error("csv_file", _("The file is larger than %(max)s. Split it into smaller files.")
                       % {"max": _size(IMPORT_MAX_BYTES)})
        return _import_page(request, brand, access, form, status=413)
    if not form.is_valid():
        return _import_page(request, brand, access, form, status=400)
    text, partial = form.cleaned_data["text"], form.cleaned_data["partial"]
    if import_jobs.import_line_count(text) > import_jobs.ASYNC_IMPORT_LINES:
        run = import_jobs.import_job_start(actor=actor, brand=brand, csv_text=text, partial=partial,
                                           source_name=form.cleaned_data["source_name"])
        return redirect(f"{reverse('brands:asins_import', kwargs={'brand_id': brand.pk})}?job={run.pk}")
    try:
        result = services.asins_import(actor=actor, brand=brand, csv_text=text, partial=partial)
    except InvalidInput as exc:
        return _import_page(request, brand, access, form, errors=exc.as_dicts(), status=400)
    result_view = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                   "errors": [e.as_dict() for e in result.errors]}
    return _import_page(request, brand, access, AsinImportForm(), result=result_view)


def _import_page(request, brand, access, form, *, errors=None, result=None, refusal="", status=200):
    context = {
        "brand": brand, "access": access, "form": form, "refusal": refusal,
        "errors": (errors or [])[:IMPORT_ERRORS_SHOWN], "errors_total": len(errors or []),
        "result": _summary(result) if result is not None else None,
        "jobs": import_jobs.import_jobs_of(brand)[:5],
        "async_lines": import_jobs.ASYNC_IMPORT_LINES, "max_size": _size(IMPORT_MAX_BYTES),
    }
    return render(request, "brands/asins_import.html", context, status=status)


def _summary(result: dict) -> dict:
    errors = result.get("errors") or []
    return {
        "created": len(result.get("created") or []), "updated": len(result.get("updated") or []),
        "unchanged": len(result.get("unchanged") or []),
        "created_asins": (result.get("created") or [])[:20], "updated_asins": (result.get("updated") or [])[:20],
        "errors": errors[:IMPORT_ERRORS_SHOWN], "errors_total": len(errors),
    }


def _import_job_page(request, brand, access, job_id: str):
    try:
        run = import_jobs.import_jobs_of(brand).get(pk=uuid.UUID(job_id))
    except (ValueError, SyncRun.DoesNotExist):  # a malformed id, or not an import of this brand
        raise Http404 from None
    progress = import_jobs.import_job_progress(run)
    finished = run.status in (SyncStatus.SUCCESS, SyncStatus.FAILURE)
    result = run.result or {}
    context = {
        "brand": brand, "access": access, "job": run, "progress": progress, "finished": finished,
        "succeeded": run.status == SyncStatus.SUCCESS,
        "summary": _summary(result) if finished else None,
        "job_badge": SYNC_BADGES.get(run.status, ""),
    }
    return render_page(request, "brands/asins_import_job.html", context, partial="brands/_import_job.html")


# -- members --------------------------------------------------------------------------------------

ROLE_ORDER = {Role.OWNER: 0, Role.MANAGER: 1, Role.VIEWER: 2}


def _members(brand):
    members = list(BrandMembership.objects.filter(brand=brand).select_related("user"))
    members.sort(key=lambda m: (ROLE_ORDER.get(m.role, 9), m.user.get_username().lower()))
    return members


def _user_errors(form, exc: ApplicationError) -> None:
    """A service's refusal on the form: its ``user`` errors next to the username."""
    for item in exc.errors:
        field = {"user": "username"}.get(item.field, item.field)
        form.add_error(field if field in form.fields else None, item.detail)


@login_required
@require_http_methods(["GET", "POST"])
def members(request, brand_id: int):
    brand, access = brand_for(request, brand_id)
    form = MemberForm(prefix="add")
    status = 200
    if request.method == "POST":
        actor = actor_for(request)
        require_brand_role(actor, brand, (Role.OWNER,))
        changing = request.POST.get("op") == "change"
        posted = MemberForm(request.POST, prefix=None if changing else "add")
        if posted.is_valid():
            username = posted.cleaned_data["username"].strip()
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                posted.add_error("username", _("No user named “%(name)s”.") % {"name": username})
            else:
                try:
                    membership = services.membership_add(actor=actor, brand=brand, user=user,
                                                         role=posted.cleaned_data["role"])
                except ApplicationError as exc:
                    _user_errors(posted, exc)
                else:
                    messages.success(request, _("%(user)s is now %(role)s of %(brand)s.") % {
                        "user": user.get_username(), "role": Role(membership.role).label.lower(), "brand": brand.name})
                    return redirect("brands:members", brand_id=brand.pk)
        status = 400
        if changing:
            messages.error(request, " ".join(str(e) for errors in posted.errors.values() for e in errors))
            return redirect("brands:members", brand_id=brand.pk)
        form = posted
    context = {"brand": brand, "access": access, "form": form, "members": _members(brand),
               "roles": Role.choices}
    return render(request, "brands/members.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request, brand_id: int):
    """Taking a member off the brand, after a confirmation page that says what it does."""
    brand, access = brand_for(request, brand_id)
    actor = actor_for(request)
    require_brand_role(actor, brand, (Role.OWNER,))
    form = MemberRemoveForm(request.POST or request.GET)
    if not form.is_valid():
        raise Http404
    membership = (BrandMembership.objects.filter(brand=brand, user__username=form.cleaned_data["username"])
                  .select_related("user").first())
    if membership is None:
        raise Http404
    errors = []
    if request.method == "POST":
        try:
            services.membership_remove(actor=actor, brand=brand, user=membership.user)
        except ApplicationError as exc:
            errors = exc.as_dicts()
        else:
            messages.success(request, _("%(user)s no longer has access to %(brand)s.")
                             % {"user": membership.user.get_username(), "brand": brand.name})
            if membership.user_id == request.user.pk:
                return redirect("brands:list")
            return redirect("brands:members", brand_id=brand.pk)
    context = {"brand": brand, "access": access, "membership": membership, "form": form, "errors": errors,
               "is_self": membership.user_id == request.user.pk}
    return render(request, "brands/member_remove.html", context, status=409 if errors else 200)


# -- settings -------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def brand_settings(request, brand_id: int):
    brand, access = brand_for(request, brand_id, brands_visible_to(request.user).select_related("spapi_account"))
    accounts = spapi_account_choices(brand)
    if brand.spapi_account_id:  # shown even if no member links it any more (it can only be changed)
        accounts = Seller.objects.filter(Q(pk__in=accounts.values("pk")) | Q(pk=brand.spapi_account_id))
    initial = {"name": brand.name, "dual_control": brand.dual_control, "spapi_account": brand.spapi_account}
    form = BrandSettingsForm(initial=initial, accounts=accounts.order_by("name", "seller_id"))
    status = 200
    if request.method == "POST":
        actor = actor_for(request)
        require_brand_role(actor, brand, (Role.OWNER,))
        form = BrandSettingsForm(request.POST, initial=initial, accounts=accounts.order_by("name", "seller_id"))
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                services.brand_update(actor=actor, brand=brand, **changes)
            except ApplicationError as exc:
                apply_errors(form, exc)
            else:
                if changes:
                    messages.success(request, _("Settings saved."))
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("brands:settings", brand_id=brand.pk)
        status = 400
    context = {"brand": brand, "access": access, "form": form, "has_accounts": accounts.exists()}
    return render(request, "brands/settings.html", context, status=status)


# -- audit trail ----------------------------------------------------------------------------------

def _action_choices():
    """The audit actions a brand's trail holds, grouped by object, each group with an "any" entry."""
    from audit.web.labels import ACTION_LABELS

    groups = [
        ("grant.", _("Authorizations"), _("Any authorization change")),
        ("request.", _("Requests"), _("Any request change")),
        ("asin.", _("ASINs"), _("Any ASIN change")),
        ("finding.", _("Findings"), _("Any finding change")),
        ("membership.", _("Members"), _("Any member change")),
        ("brand.", _("Brand"), _("Any brand change")),
    ]
    choices = []
    for prefix, title, any_label in groups:
        actions = sorted((code, str(label)) for code, label in ACTION_LABELS.items() if code.startswith(prefix))
        choices.append((title, [(prefix + "*", any_label), *actions]))
    return choices


def _changes(before, after) -> list[tuple[str, object, object]]:
    """(field, before, after) for every field an event changed (all of them for a creation or
    a removal)."""
    before = before if isinstance(before, dict) else ({} if before is None else {"": before})
    after = after if isinstance(after, dict) else ({} if after is None else {"": after})
    keys = list(dict.fromkeys([*before, *after]))
    return [(key, before.get(key), after.get(key)) for key in keys if before.get(key) != after.get(key)]


@login_required
@require_GET
def brand_audit(request, brand_id: int):
    from audit.models import AuditEvent
    from audit.web.keyset import anchor_of, keyset_page
    from audit.web.labels import ACTION_LABELS

    brand, access = brand_for(request, brand_id)
    form = AuditFilterForm(request.GET, action_choices=_action_choices())
    events = AuditEvent.objects.filter(brand_id=brand.pk)
    data = form.cleaned_data if form.is_valid() else {}
    action = data.get("action") or ""
    if action.endswith("*"):
        events = events.filter(action__startswith=action[:-1])
    elif action:
        events = events.filter(action=action)
    if data.get("actor"):
        events = events.filter(actor=data["actor"].strip())
    if data.get("date_from"):
        events = events.filter(at__gte=form.midnight(data["date_from"]))
    if data.get("date_to"):
        from datetime import timedelta

        events = events.filter(at__lt=form.midnight(data["date_to"] + timedelta(days=1)))
    before = anchor_of(events, data["before"], "at") if data.get("before") else None
    after = anchor_of(events, data["after"], "at") if data.get("after") and not before else None
    page = keyset_page(events, time_field="at", before=before, after=after, per_page=PER_PAGE)
    for event in page:
        event.label = ACTION_LABELS.get(event.action, event.action)
        event.changes = _changes(event.before, event.after)
    context = {
        "brand": brand, "access": access, "form": form, "page": page,
        "query": query_without(request, "before", "after"),
        "filtered": any(data.get(n) for n in ("action", "actor", "date_from", "date_to")),
        "paged": bool(data.get("before") or data.get("after")),
    }
    return render_page(request, "brands/audit.html", context, partial="brands/_audit_table.html")


# -- unauthorized-offer findings --------------------------------------------------------------------

FINDING_SORTS = {
    "last_seen": ("last_seen_at", "id"), "first_seen": ("first_seen_at", "id"), "asin": ("asin__asin", "id"),
    "marketplace": ("marketplace_id", "id"), "seller": ("offering_seller_id", "id"), "price": ("price", "id"),
}


def _finding_form(request, brand) -> FindingFilterForm:
    sellers = (UnauthorizedOffer.objects.filter(brand=brand).order_by("offering_seller_id")
               .values_list("offering_seller_id", "seller_name").distinct())
    unique = dict(sellers)  # one name per seller id (the latest scan may have renamed it)
    return FindingFilterForm(request.GET, sellers=sorted(unique.items(), key=lambda s: (s[1] or s[0]).lower()))


def _findings_filtered(brand, values: dict):
    findings = UnauthorizedOffer.objects.filter(brand=brand)
    if values["status"] == "open":
        findings = findings.filter(resolved_at__isnull=True)
    elif values["status"] == "resolved":
        findings = findings.filter(resolved_at__isnull=False)
    if values.get("marketplace"):
        findings = findings.filter(marketplace_id=values["marketplace"])
    if values.get("seller"):
        findings = findings.filter(offering_seller_id=values["seller"])
    if values.get("asin"):
        findings = findings.filter(asin__asin=values["asin"])
    return findings


@login_required
@require_GET
def findings(request, brand_id: int):
    brand, access = brand_for(request, brand_id)
    form = _finding_form(request, brand)
    values = form.values()
    sort = sort_from(request, FINDING_SORTS, default="-last_seen")
    rows = _findings_filtered(brand, values).select_related("asin").order_by(*sort.order_by)
    page = paginate(request, rows, per_page=PER_PAGE)
    context = {
        "brand": brand, "access": access, "form": form, "page": page, "sort": sort, "status": values["status"],
        "query": query_without(request, "page"), "query_nosort": query_without(request, "page", "sort"),
        "export_query": query_without(request, "page", "sort"),
    }
    return render_page(request, "brands/findings.html", context, partial="brands/_findings_table.html")


@login_required
@require_GET
def findings_export(request, brand_id: int):
    """The evidence list for Amazon's "Unauthorized Seller Issue", as the API's
    ``?format=csv`` streams it (the same columns and rows), with the page's filters."""
    from authorizations.api.findings import _CSV_FIELDS, _csv_rows, CSV_COLUMNS
    from config.csvstream import csv_response

    brand, _access = brand_for(request, brand_id)
    values = _finding_form(request, brand).values()
    rows = (_findings_filtered(brand, values).order_by("-last_seen_at", "-id")
            .values_list(*_CSV_FIELDS).iterator(chunk_size=2000))
    stamp = timezone.now().strftime("%Y%m%d")
    return csv_response(CSV_COLUMNS, _csv_rows(rows, brand.name), f"findings-brand-{brand.pk}-{values['status']}-{stamp}.csv")
