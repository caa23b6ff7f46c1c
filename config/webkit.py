"""Small pieces every page uses: sortable, paginated tables; the domain's errors shown in a page;
htmx-aware rendering. Views stay thin: they parse input, call a service or a selector, render."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from django import forms
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from .errors import ApplicationError


class DateInput(forms.DateInput):
    """A browser date picker; its value is always ISO (YYYY-MM-DD), whatever the language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


@dataclass(frozen=True)
class Sort:
    """A whitelisted ``?sort=`` key: ``field`` or ``-field``; anything else falls back to the default."""

    key: str
    descending: bool
    order_by: tuple[str, ...]

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key


def sort_from(request, columns: Mapping[str, Iterable[str] | str], default: str) -> Sort:
    raw = request.GET.get("sort", "") or default
    descending = raw.startswith("-")
    key = raw.lstrip("-")
    if key not in columns:
        descending = default.startswith("-")
        key = default.lstrip("-")
    fields = columns[key]
    fields = (fields,) if isinstance(fields, str) else tuple(fields)
    order = tuple((f[1:] if f.startswith("-") else f"-{f}") if descending else f for f in fields)
    return Sort(key=key, descending=descending, order_by=order)


def paginate(request, queryset: QuerySet | list, per_page: int = 50) -> Page:
    """A page of ``queryset`` from ``?page=``; a malformed or out-of-range page shows the nearest one."""
    paginator = Paginator(queryset, per_page)
    number = request.GET.get("page", "1")
    try:
        return paginator.page(number)
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)


def query_without(request, *names: str) -> str:
    """The current query string minus ``names`` (for pagination and sort links keeping filters)."""
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def errors_from(exc: ApplicationError) -> list[dict]:
    """The domain's error items as template-friendly dicts: code, detail (already translated) and
    the scope (asin, marketplace, seller, field) each applies to."""
    return exc.as_dicts()


def render_page(request, template: str, context: dict, *, partial: str | None = None, status: int = 200):
    """Render ``template``; an htmx request asking for a fragment gets ``partial`` instead (not a
    boosted navigation nor a history restore, which need the whole page)."""
    htmx = getattr(request, "htmx", None)
    fragment = bool(partial and htmx and not htmx.boosted and not htmx.history_restore_request)
    response = render(request, partial if fragment else template, context, status=status)
    if partial:
        patch_vary_headers(response, ("HX-Request",))
    return response


class WebErrorMiddleware:
    """A service's refusal that a page did not handle itself becomes the matching error page
    (404 invisible, 403 not allowed, 400/409/503 with the reasons in words), never a 500. The
    API has its own exception handler; this only sees the pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ApplicationError) or request.path.startswith("/api/"):
            return None
        template = {404: "404.html", 403: "403.html"}.get(exception.http_status, "error.html")
        return render(request, template, {"errors": exception.as_dicts(), "exception": exception},
                      status=exception.http_status)


def apply_errors(form, exc: ApplicationError) -> None:
    """Put a service's refusal next to the fields it names; the rest above the form."""
    for item in exc.errors:
        field = item.field if item.field in form.fields else None
        form.add_error(field, item.detail)


def actor_for(request):
    from audit.context import Actor

    return Actor.for_request(request, source="web")
