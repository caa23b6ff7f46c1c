"""Ops staff's pages: the audit log (filter, page, export), chain verification, sync runs.

Every page is for ops staff only (``brands.selectors.is_ops``): anyone else signed in gets 403,
an anonymous visitor the login page. Ops are read-only here, except for starting a verification.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from audit.export import csv_lines
from audit.models import AuditEvent
from audit.verification import (
    last_verification,
    running_verification,
    start_verification,
)
from authorizations.visibility import audit_events_visible_to
from brands.selectors import is_ops
from config.webkit import render_page
from spapi_client.api import runs_visible_to
from spapi_client.models import SyncRun, SyncStatus

from .forms import CURSOR_FIELDS, AuditFilterForm, SyncRunFilterForm
from .keyset import KeysetPage, anchor_of, keyset_page
from .rows import present_events
from .sync import count_rows, format_duration, pretty_json, worker_activity

logger = logging.getLogger(__name__)
PER_PAGE = 50


def ops_required(view):
    """Signed in (else the login page) and ops staff (else 403)."""

    @functools.wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not is_ops(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _filter_query(request) -> str:
    """The query string of the filters in use: no page cursor, no empty field (a form submitted
    by htmx sends every field)."""
    params = request.GET.copy()
    for name in [*CURSOR_FIELDS, *(k for k, values in params.lists() if not any(v.strip() for v in values))]:
        params.pop(name, None)
    return params.urlencode()


def _push_url(response, request, query: str):
    """For htmx: the address bar shows the tidy query (the cursor kept when paging)."""
    if getattr(request, "htmx", False):
        cursor = {name: request.GET[name] for name in CURSOR_FIELDS if request.GET.get(name)}
        tail = "&".join(filter(None, [query, urlencode(cursor)]))
        response["HX-Push-Url"] = f"{request.path}?{tail}" if tail else request.path
    return response


def _cursor_page(form, queryset, *, time_field: str, per_page: int = PER_PAGE) -> KeysetPage:
    """The keyset page that the valid ``form``'s ``before``/``after`` name (an error on the form if
    the row it names does not exist)."""
    data = form.cleaned_data
    anchors = {}
    for name in CURSOR_FIELDS:
        if data.get(name):
            anchor = anchor_of(queryset, data[name], time_field)
            if anchor is None:
                form.add_error(None, _("The page you asked for starts at a row that no longer exists; "
                                       "showing the newest instead."))
            else:
                anchors[name] = anchor
    return keyset_page(queryset, time_field=time_field, per_page=per_page, **anchors)


@ops_required
@require_GET
def index(request):
    return redirect("ops:audit")


# -- the audit log ----------------------------------------------------------------------------

@ops_required
@require_GET
def audit_log(request):
    form = AuditFilterForm(request.GET)
    page = KeysetPage()
    valid = form.is_valid()
    if valid:
        events = form.filter(audit_events_visible_to(request.user))
        page = _cursor_page(form, events, time_field="at")
        page.rows = present_events(page.rows)
    context = {
        "form": form,
        "valid": valid,
        "page": page,
        "query": _filter_query(request),
        "verification": last_verification(),
    }
    status = 200 if valid or request.htmx else 400
    response = render_page(request, "audit/log.html", context, partial="audit/_log_results.html", status=status)
    return _push_url(response, request, context["query"])


@ops_required
@require_GET
def audit_export(request):
    """The whole filtered log as CSV (newest first), streamed: the same columns and cells as
    ``manage.py audit_export``, whatever the number of events."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "valid": False, "page": KeysetPage(), "query": _filter_query(request),
                   "verification": last_verification()}
        return render_page(request, "audit/log.html", context, status=400)
    events = form.filter(audit_events_visible_to(request.user)).order_by("-at", "-id")
    response = StreamingHttpResponse(csv_lines(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-events-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# -- chain verification -----------------------------------------------------------------------

@ops_required
@require_http_methods(["GET", "POST"])
def audit_verify(request):
    """GET: the last verification's result (and one in progress); POST: verify now."""
    if request.method == "POST":
        try:
            started = start_verification(requested_by=request.user.get_username())
        except Exception:
            logger.exception("could not queue the audit chain verification")
            messages.error(request, _("The verification could not be started: the task queue is unavailable. "
                                      "Try again in a minute."))
        else:
            if not started:
                messages.info(request, _("A verification is already running; its result will show here."))
            elif running_verification() is not None:
                messages.success(request, _("Verification started. This page updates when it finishes."))
            else:  # run at once (no broker: eager mode)
                _say_result(request, last_verification())
        return redirect("ops:audit_verify")
    verification = last_verification()
    first_bad = None
    if verification is not None and verification.first_bad_event is not None:
        first_bad = AuditEvent.objects.filter(pk=verification.first_bad_event).first()
        if first_bad is not None:
            present_events([first_bad])
    context = {"verification": verification, "running": running_verification(), "first_bad": first_bad}
    return render_page(request, "audit/verify.html", context, partial="audit/_verify_status.html")


def _say_result(request, verification) -> None:
    if verification is None:
        return
    if verification.error:
        messages.error(request, _("The verification could not run to the end; see the details below."))
    elif verification.ok:
        messages.success(request, _("The audit log verifies: %(count)s events checked.")
                         % {"count": intcomma(verification.checked)})
    elif verification.first_bad_event is not None:
        messages.error(request, _("The audit log does not verify: the first broken event is #%(id)s.")
                       % {"id": verification.first_bad_event})
    else:
        messages.error(request, _("The audit log does not verify: events are missing."))


# -- sync runs --------------------------------------------------------------------------------

@ops_required
@require_GET
def sync_runs(request):
    form = SyncRunFilterForm(request.GET)
    page = KeysetPage()
    valid = form.is_valid()
    if valid:
        runs = form.filter(runs_visible_to(request.user)).select_related("seller", "brand", "requested_by")
        page = _cursor_page(form, runs, time_field="created_at")
        for run in page.rows:
            run.count_rows = {row.key: row for row in count_rows(run.counts)}
            run.duration_text = format_duration(_duration(run))
    context = {
        "form": form,
        "page": page,
        "valid": valid,
        "query": _filter_query(request),
        "activity": worker_activity(),
    }
    status = 200 if valid or request.htmx else 400
    response = render_page(request, "spapi_client/runs.html", context, partial="spapi_client/_runs_results.html",
                           status=status)
    return _push_url(response, request, context["query"])


@ops_required
@require_GET
def sync_run(request, run_id: uuid.UUID):
    run = get_object_or_404(
        runs_visible_to(request.user).select_related("seller", "brand", "requested_by", "parent"), pk=run_id
    )
    children = list(run.children.select_related("seller", "brand").order_by("created_at", "id")[:100])
    context = {
        "run": run,
        "children": children,
        "finished": run.status in (SyncStatus.SUCCESS, SyncStatus.FAILURE),
        "counts": count_rows(run.counts),
        "result_json": pretty_json(run.result) if run.result not in (None, {}, []) else "",
        "duration": format_duration(_duration(run)),
    }
    return render_page(request, "spapi_client/run.html", context, partial="spapi_client/_run_status.html")


def _duration(run: SyncRun):
    if run.started_at is None:
        return None
    end = run.finished_at or timezone.now()
    return max(end - run.started_at, dt.timedelta(0))
