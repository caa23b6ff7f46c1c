"""The SP-API operations the workers use, as typed functions.

Each function paces through the (seller, operation) token bucket, calls through
:func:`spapi_client.client.call` (checked, retried) and parses Amazon's answer into frozen
dataclasses. The parsers are plain functions over the JSON body (``parse_*``), tested on
Amazon's own sandbox examples from the model files.

Every function takes an optional ``stats`` (:class:`~spapi_client.client.CallStats`) that a
sync run can pass to count calls, attempts, throttles and time spent waiting for tokens.
Failures raise :class:`~spapi_client.errors.SpapiError` subclasses (``.transient`` tells a
Celery task whether to retry; ``.attempts`` how many attempts were made).
"""
from __future__ import annotations

import functools
import gzip
import re
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from .client import (
    CallStats,
    SpapiConnection,
    SpapiResponse,
    call,
    fetch_document,
    lwa_exchange_code,
    region_of,
)
from .config import get_config
from .errors import SpapiConfigurationError, SpapiMalformedResponse, SpapiServerError, SpapiThrottled

__all__ = [
    "HEALTH_REPORT_TYPE",
    "MAX_ASINS_PER_CALL",
    "Participation",
    "ReportStatus",
    "ReportDocument",
    "CatalogItem",
    "Offer",
    "Link",
    "Restriction",
    "get_marketplace_participations",
    "create_health_report",
    "get_report",
    "wait_for_report",
    "get_report_document",
    "search_catalog_items",
    "get_item_offers_batch",
    "get_item_offers",
    "get_listings_restrictions",
    "exchange_authorization_code",
    "consent_url",
    "parse_participations",
    "parse_report_id",
    "parse_report",
    "parse_report_document",
    "decode_document",
    "parse_catalog_items",
    "parse_offers",
    "parse_item_offers_batch",
    "parse_restrictions",
]

HEALTH_REPORT_TYPE = "GET_V2_SELLER_PERFORMANCE_REPORT"
MAX_ASINS_PER_CALL = 20
CATALOG_INCLUDED_DATA = "summaries,identifiers,classifications"
CATALOG_PAGE_SIZE = 20  # Amazon's default page is 10 items; 20 is its maximum
CATALOG_MAX_PAGES = 5  # 20 identifiers with pageSize 20 fit one page; follow a few if Amazon pages anyway
ASIN_RE = re.compile(r"^[A-Z0-9]{10}$")
FINAL_REPORT_STATUSES = frozenset({"DONE", "FATAL", "CANCELLED"})


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Participation:
    marketplace_id: str
    country_code: str
    name: str
    is_participating: bool
    has_suspended_listings: bool
    store_name: str = ""
    currency: str = ""


@dataclass(frozen=True)
class ReportStatus:
    report_id: str
    processing_status: str  # IN_QUEUE, IN_PROGRESS, DONE, FATAL, CANCELLED
    document_id: str | None
    report_type: str = ""

    @property
    def is_final(self) -> bool:
        return self.processing_status in FINAL_REPORT_STATUSES

    @property
    def is_done(self) -> bool:
        return self.processing_status == "DONE"


@dataclass(frozen=True)
class ReportDocument:
    document_id: str
    url: str
    compression: str | None  # "GZIP" or None

    def __repr__(self) -> str:  # the pre-signed URL is a bearer credential for five minutes
        return f"ReportDocument(document_id={self.document_id!r}, compression={self.compression!r})"


@dataclass(frozen=True)
class CatalogItem:
    asin: str
    marketplace_id: str
    brand: str
    title: str
    classification: str  # the browse node the item sits in ("QLED TVs")
    category: str  # the root of its classification tree ("Electronics", "Books")
    identifiers: tuple[tuple[str, str], ...] = ()  # (type, value): ("EAN", "0887276302195")


@dataclass(frozen=True)
class Offer:
    seller_id: str
    is_buy_box_winner: bool
    price: Decimal | None  # ListingPrice.Amount
    currency: str
    condition: str  # "new", "used", ... (the offer's SubCondition, else the item condition)
    is_fulfilled_by_amazon: bool = False
    shipping: Decimal | None = None


@dataclass(frozen=True)
class Link:
    resource: str
    verb: str = "GET"
    title: str = ""
    type: str = ""


@dataclass(frozen=True)
class Restriction:
    reason_code: str | None  # APPROVAL_REQUIRED, ASIN_NOT_FOUND, NOT_ELIGIBLE (optional in the model)
    message: str
    links: tuple[Link, ...]
    marketplace_id: str = ""
    condition_type: str = ""


# --- parsers ------------------------------------------------------------------------------------


def _malformed(operation: str, what: str) -> SpapiMalformedResponse:
    return SpapiMalformedResponse(f"{operation}: {what}", operation=operation)


def _object(value: Any, operation: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(operation, f"{what} is not a JSON object")
    return value


def _list(value: Any, operation: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed(operation, f"{what} is not a JSON array")
    return value


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def parse_participations(body: Any) -> list[Participation]:
    """``getMarketplaceParticipations``: ``{"payload": [{marketplace, participation, storeName}]}``."""
    op = "getMarketplaceParticipations"
    payload = _list(_object(body, op, "answer").get("payload"), op, "payload")
    result = []
    for index, entry in enumerate(payload):
        entry = _object(entry, op, f"payload[{index}]")
        marketplace = _object(entry.get("marketplace"), op, f"payload[{index}].marketplace")
        participation = _object(entry.get("participation") or {}, op, f"payload[{index}].participation")
        if not marketplace.get("id"):
            raise _malformed(op, f"payload[{index}].marketplace has no id")
        result.append(
            Participation(
                marketplace_id=str(marketplace["id"]),
                country_code=_str(marketplace.get("countryCode")),
                name=_str(marketplace.get("name")),
                is_participating=bool(participation.get("isParticipating", False)),
                has_suspended_listings=bool(participation.get("hasSuspendedListings", False)),
                store_name=_str(entry.get("storeName")),
                currency=_str(marketplace.get("defaultCurrencyCode")),
            )
        )
    return result


def parse_report_id(body: Any) -> str:
    """``createReport``: ``{"reportId": "ID323"}``."""
    report_id = _object(body, "createReport", "answer").get("reportId")
    if not report_id:
        raise _malformed("createReport", "answer has no reportId")
    return str(report_id)


def parse_report(body: Any) -> ReportStatus:
    """``getReport``: the report with its ``processingStatus`` and, once done, ``reportDocumentId``."""
    body = _object(body, "getReport", "answer")
    status = body.get("processingStatus")
    if not status:
        raise _malformed("getReport", "answer has no processingStatus")
    return ReportStatus(
        report_id=_str(body.get("reportId")),
        processing_status=str(status),
        document_id=_str(body.get("reportDocumentId")) or None,
        report_type=_str(body.get("reportType")),
    )


def parse_report_document(body: Any) -> ReportDocument:
    """``getReportDocument``: ``{"reportDocumentId", "url", "compressionAlgorithm"?}``."""
    body = _object(body, "getReportDocument", "answer")
    if not body.get("url"):
        raise _malformed("getReportDocument", "answer has no url")
    return ReportDocument(
        document_id=_str(body.get("reportDocumentId")),
        url=str(body["url"]),
        compression=_str(body.get("compressionAlgorithm")).upper() or None,
    )


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip().strip('"').lower()
    return None


def decode_document(content: bytes, compression: str | None, content_type: str | None = None) -> bytes:
    """The document's bytes, decompressed (``GZIP``) and in UTF-8."""
    op = "getReportDocument"
    if compression == "GZIP":
        if content[:2] == b"\x1f\x8b":  # else an HTTP layer already inflated it
            try:
                content = gzip.decompress(content)
            except (OSError, EOFError, zlib.error) as exc:
                raise _malformed(op, f"document is not valid GZIP ({type(exc).__name__})") from None
    elif compression:
        raise _malformed(op, f"unsupported compressionAlgorithm {compression!r}")
    else:
        charset = _charset(content_type)
        if charset and charset.replace("-", "").replace("_", "") != "utf8":
            try:
                content = content.decode(charset).encode("utf-8")
            except (LookupError, UnicodeDecodeError):
                raise _malformed(op, f"document is not valid {charset}") from None
    return content


def _for_marketplace(entries: list[Any], marketplace_id: str) -> dict[str, Any] | None:
    dicts = [e for e in entries if isinstance(e, dict)]
    for entry in dicts:
        if entry.get("marketplaceId") == marketplace_id:
            return entry
    return None


def _root_and_leaf(node: dict[str, Any]) -> tuple[str, str]:
    leaf = _str(node.get("displayName"))
    root = leaf
    seen = 0
    while isinstance(node.get("parent"), dict) and seen < 50:
        node = node["parent"]
        root = _str(node.get("displayName")) or root
        seen += 1
    return root, leaf


def parse_catalog_items(body: Any, marketplace_id: str) -> dict[str, CatalogItem]:
    """``searchCatalogItems`` (2022-04-01): items with their summary for ``marketplace_id``.

    An item without a summary for that marketplace is left out (Amazon does not show it
    there). The category is the root of the item's first classification tree in that
    marketplace, else the browse classification, else the website display group."""
    op = "searchCatalogItems"
    items = _list(_object(body, op, "answer").get("items"), op, "items")
    result: dict[str, CatalogItem] = {}
    for index, item in enumerate(items):
        item = _object(item, op, f"items[{index}]")
        asin = _str(item.get("asin")).upper()
        if not asin:
            raise _malformed(op, f"items[{index}] has no asin")
        summary = _for_marketplace(_list(item.get("summaries"), op, f"items[{index}].summaries"), marketplace_id)
        if summary is None:
            continue
        browse = summary.get("browseClassification") if isinstance(summary.get("browseClassification"), dict) else {}
        classification = _str(browse.get("displayName"))
        category = ""
        trees = _for_marketplace(_list(item.get("classifications"), op, f"items[{index}].classifications"), marketplace_id)
        nodes = [n for n in (trees or {}).get("classifications") or [] if isinstance(n, dict)]
        if nodes:
            category, leaf = _root_and_leaf(nodes[0])
            classification = classification or leaf
        category = category or classification or _str(summary.get("websiteDisplayGroupName"))
        identifiers_entry = _for_marketplace(_list(item.get("identifiers"), op, f"items[{index}].identifiers"), marketplace_id)
        identifiers = tuple(
            (_str(i.get("identifierType")), _str(i.get("identifier")))
            for i in (identifiers_entry or {}).get("identifiers") or []
            if isinstance(i, dict)
        )
        result[asin] = CatalogItem(
            asin=asin,
            marketplace_id=marketplace_id,
            brand=_str(summary.get("brand") or summary.get("brandName")),
            title=_str(summary.get("itemName")),
            classification=classification,
            category=category,
            identifiers=identifiers,
        )
    return result


def parse_offers(payload: Any, operation: str = "getItemOffers") -> list[Offer]:
    """The ``payload`` of ``getItemOffers`` (or one batch answer): its ``Offers``."""
    payload = _object(payload, operation, "payload")
    item_condition = _str(payload.get("ItemCondition")).lower()
    offers = []
    for index, offer in enumerate(_list(payload.get("Offers"), operation, "Offers")):
        offer = _object(offer, operation, f"Offers[{index}]")
        listing = offer.get("ListingPrice") if isinstance(offer.get("ListingPrice"), dict) else {}
        shipping = offer.get("Shipping") if isinstance(offer.get("Shipping"), dict) else {}
        offers.append(
            Offer(
                seller_id=_str(offer.get("SellerId")),
                is_buy_box_winner=bool(offer.get("IsBuyBoxWinner", False)),
                price=_decimal(listing.get("Amount")),
                currency=_str(listing.get("CurrencyCode")),
                condition=_str(offer.get("SubCondition")).lower() or item_condition,
                is_fulfilled_by_amazon=bool(offer.get("IsFulfilledByAmazon", False)),
                shipping=_decimal(shipping.get("Amount")),
            )
        )
    return offers


_OFFERS_URI = re.compile(r"/products/pricing/v0/items/([^/]+)/offers")


def _batch_asin(entry: dict[str, Any]) -> str:
    request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
    body = entry.get("body") if isinstance(entry.get("body"), dict) else {}
    payload = body.get("payload") if isinstance(body.get("payload"), dict) else {}
    identifier = payload.get("Identifier") if isinstance(payload.get("Identifier"), dict) else {}
    asin = request.get("Asin") or payload.get("ASIN") or identifier.get("ASIN")
    if not asin and isinstance(request.get("uri"), str):
        match = _OFFERS_URI.search(request["uri"])
        asin = match.group(1) if match else None
    return _str(asin).upper()


def _batch_status(entry: dict[str, Any]) -> int:
    status = entry.get("status") if isinstance(entry.get("status"), dict) else {}
    try:
        return int(status.get("statusCode") or 0)
    except (TypeError, ValueError):
        return 0


def parse_item_offers_batch(body: Any) -> dict[str, list[Offer]]:
    """``getItemOffersBatch``: ``{"responses": [{status, body: {payload}, request}]}``.

    ASINs answered 200 map to their offers (``[]`` for ``NoBuyableOffers``). ASINs Amazon
    refused (4xx inside the batch: unknown or invalid ASIN) are left out. A 429 or 5xx inside
    the batch raises :class:`SpapiThrottled` / :class:`SpapiServerError` (the call is retried)."""
    op = "getItemOffersBatch"
    responses = _list(_object(body, op, "answer").get("responses"), op, "responses")
    result: dict[str, list[Offer]] = {}
    for index, entry in enumerate(responses):
        entry = _object(entry, op, f"responses[{index}]")
        status = _batch_status(entry)
        asin = _batch_asin(entry)
        if status == 429:
            raise SpapiThrottled(f"{op}: HTTP 429 inside the batch for {asin}", operation=op, status=429)
        if status >= 500:
            raise SpapiServerError(f"{op}: HTTP {status} inside the batch for {asin}", operation=op, status=status)
        if not 200 <= status < 300:
            continue
        if not asin:
            raise _malformed(op, f"responses[{index}] names no ASIN")
        inner = _object(entry.get("body"), op, f"responses[{index}].body")
        result[asin] = parse_offers(inner.get("payload") or {}, op)
    return result


def parse_restrictions(body: Any) -> list[Restriction]:
    """``getListingsRestrictions``: one :class:`Restriction` per reason ([] = may list)."""
    op = "getListingsRestrictions"
    restrictions = _list(_object(body, op, "answer").get("restrictions"), op, "restrictions")
    result = []
    for index, restriction in enumerate(restrictions):
        restriction = _object(restriction, op, f"restrictions[{index}]")
        for reason_index, reason in enumerate(_list(restriction.get("reasons"), op, f"restrictions[{index}].reasons")):
            reason = _object(reason, op, f"restrictions[{index}].reasons[{reason_index}]")
            links = tuple(
                Link(
                    resource=_str(link.get("resource")),
                    verb=_str(link.get("verb")) or "GET",
                    title=_str(link.get("title")),
                    type=_str(link.get("type")),
                )
                for link in _list(reason.get("links"), op, "links")
                if isinstance(link, dict) and link.get("resource")
            )
            result.append(
                Restriction(
                    reason_code=_str(reason.get("reasonCode")) or None,
                    message=_str(reason.get("message")),
                    links=links,
                    marketplace_id=_str(restriction.get("marketplaceId")),
                    condition_type=_str(restriction.get("conditionType")),
                )
            )
    return result


# --- operations ---------------------------------------------------------------------------------


def _asins(asins: Iterable[str]) -> list[str]:
    if isinstance(asins, str):
        raise TypeError("asins must be an iterable of ASINs, not a string")
    codes = list(dict.fromkeys(str(a).strip().upper() for a in asins))
    bad = [code for code in codes if not ASIN_RE.match(code)]
    if bad:
        raise ValueError(f"invalid ASIN(s): {', '.join(repr(b) for b in bad[:5])}")
    if len(codes) > MAX_ASINS_PER_CALL:
        raise ValueError(f"at most {MAX_ASINS_PER_CALL} ASINs per call, got {len(codes)}")
    return codes


def get_marketplace_participations(conn: SpapiConnection, *, stats: CallStats | None = None) -> list[Participation]:
    response = call(conn, "getMarketplaceParticipations", lambda api: api.get_marketplace_participation(), stats=stats)
    return parse_participations(response.body)


def create_health_report(
    conn: SpapiConnection, marketplace_ids: Iterable[str], *, stats: CallStats | None = None
) -> str:
    """Request the account health report (``GET_V2_SELLER_PERFORMANCE_REPORT``); its report id.
    The marketplaces must share one region (one endpoint)."""
    ids = list(dict.fromkeys(marketplace_ids))
    if not ids:
        raise ValueError("at least one marketplace id is required")
    regions = {region_of(m, conn.region) for m in ids}
    if len(regions) > 1:
        raise ValueError(f"one report per region: {sorted(regions)}")
    create = functools.partial(_create_report, report_type=HEALTH_REPORT_TYPE, marketplace_ids=ids)
    response = call(conn, "createReport", create, marketplace_id=ids[0], stats=stats)
    return parse_report_id(response.body)


def _create_report(api: Any, *, report_type: str, marketplace_ids: list[str]) -> Any:
    return api.create_report(reportType=report_type, marketplaceIds=list(marketplace_ids))


def get_report(conn: SpapiConnection, report_id: str, *, stats: CallStats | None = None) -> ReportStatus:
    response = call(conn, "getReport", lambda api: api.get_report(report_id), stats=stats)
    return parse_report(response.body)


def wait_for_report(
    conn: SpapiConnection,
    report_id: str,
    *,
    poll_seconds: float = 15.0,
    timeout: float = 600.0,
    stats: CallStats | None = None,
) -> ReportStatus:
    """Poll ``getReport`` until DONE, FATAL or CANCELLED (or ``timeout``: returns the last status).
    For the demo and tools; Celery tasks should poll with countdowns instead of sleeping."""
    deadline = time.monotonic() + timeout
    while True:
        status = get_report(conn, report_id, stats=stats)
        if status.is_final or time.monotonic() + poll_seconds > deadline:
            return status
        time.sleep(poll_seconds)


def get_report_document(conn: SpapiConnection, document_id: str, *, stats: CallStats | None = None) -> bytes:
    """The report document's content: fetched from its pre-signed URL, un-GZIPped, UTF-8."""
    response = call(conn, "getReportDocument", lambda api: api.get_report_document(document_id), stats=stats)
    document = parse_report_document(response.body)
    downloaded = fetch_document(document.url, stats=stats)
    return decode_document(downloaded.content, document.compression, downloaded.headers.get("content-type"))


def search_catalog_items(
    conn: SpapiConnection, marketplace_id: str, asins: Iterable[str], *, stats: CallStats | None = None
) -> dict[str, CatalogItem]:
    """Catalog Items 2022-04-01 for up to 20 ASINs in one marketplace. ASINs missing from the
    result are not in that marketplace's catalog."""
    codes = _asins(asins)
    if not codes:
        return {}
    params: dict[str, Any] = {
        "identifiers": ",".join(codes),  # one comma-separated string (SPAPI.md)
        "identifiersType": "ASIN",
        "marketplaceIds": marketplace_id,
        "includedData": CATALOG_INCLUDED_DATA,
        "pageSize": CATALOG_PAGE_SIZE,
    }
    items: dict[str, CatalogItem] = {}
    for _page in range(CATALOG_MAX_PAGES):
        search = functools.partial(_search, params=dict(params))
        response = call(conn, "searchCatalogItems", search, marketplace_id=marketplace_id, stats=stats)
        items.update(parse_catalog_items(response.body, marketplace_id))
        pagination = (response.body or {}).get("pagination") if isinstance(response.body, dict) else None
        next_token = pagination.get("nextToken") if isinstance(pagination, dict) else None
        if not next_token:
            break
        params["pageToken"] = next_token
    return items


def _search(api: Any, *, params: Mapping[str, Any]) -> Any:
    return api.search_catalog_items(**params)


def _check_batch(response: SpapiResponse) -> None:
    parse_item_offers_batch(response.body)  # raises for a 429/5xx inside the batch


def get_item_offers_batch(
    conn: SpapiConnection,
    marketplace_id: str,
    asins: Iterable[str],
    *,
    item_condition: str = "New",
    customer_type: str = "Consumer",
    stats: CallStats | None = None,
) -> dict[str, list[Offer]]:
    """Product Pricing v0 offers for up to 20 ASINs in one marketplace, in one batch call."""
    codes = _asins(asins)
    if not codes:
        return {}
    requests_ = [
        {
            "uri": f"/products/pricing/v0/items/{asin}/offers",
            "method": "GET",
            "MarketplaceId": marketplace_id,
            "ItemCondition": item_condition,
            "CustomerType": customer_type,
        }
        for asin in codes
    ]
    batch = functools.partial(_offers_batch, requests_=requests_)
    response = call(conn, "getItemOffersBatch", batch, marketplace_id=marketplace_id, stats=stats, check=_check_batch)
    return parse_item_offers_batch(response.body)


def _offers_batch(api: Any, *, requests_: list[dict[str, Any]]) -> Any:
    return api.get_item_offers_batch(requests_=[dict(r) for r in requests_])


def get_item_offers(
    conn: SpapiConnection,
    marketplace_id: str,
    asin: str,
    *,
    item_condition: str = "New",
    stats: CallStats | None = None,
) -> list[Offer]:
    """Product Pricing v0 offers for one ASIN (prefer the batch: 20 ASINs per token)."""
    (code,) = _asins([asin])
    single = functools.partial(_item_offers, asin=code, marketplace_id=marketplace_id, item_condition=item_condition)
    response = call(conn, "getItemOffers", single, marketplace_id=marketplace_id, stats=stats)
    body = _object(response.body, "getItemOffers", "answer")
    return parse_offers(body.get("payload") or {})


def _item_offers(api: Any, *, asin: str, marketplace_id: str, item_condition: str) -> Any:
    return api.get_item_offers(asin, item_condition, MarketplaceId=marketplace_id)


def get_listings_restrictions(
    conn: SpapiConnection,
    asin: str,
    seller_id: str,
    marketplace_id: str,
    *,
    condition_type: str = "new_new",
    stats: CallStats | None = None,
) -> list[Restriction]:
    """Amazon's own gating of ``seller_id`` for ``asin`` in ``marketplace_id`` ([] = may list)."""
    (code,) = _asins([asin])
    restrictions = functools.partial(
        _restrictions, asin=code, seller_id=seller_id, marketplace_id=marketplace_id, condition_type=condition_type
    )
    response = call(conn, "getListingsRestrictions", restrictions, marketplace_id=marketplace_id, stats=stats)
    return parse_restrictions(response.body)


def _restrictions(api: Any, *, asin: str, seller_id: str, marketplace_id: str, condition_type: str) -> Any:
    return api.get_listings_restrictions(
        asin=asin, sellerId=seller_id, marketplaceIds=marketplace_id, conditionType=condition_type
    )


# --- onboarding ---------------------------------------------------------------------------------


def exchange_authorization_code(code: str, redirect_uri: str, *, stats: CallStats | None = None) -> str:
    """The LWA refresh token for the ``spapi_oauth_code`` the consent page sent back. Store it
    encrypted; never log it."""
    if not code:
        raise ValueError("an authorization code is required")
    return str(lwa_exchange_code(code, redirect_uri, stats=stats)["refresh_token"])


def consent_url(state: str) -> str:
    """Seller Central's consent page for our app (``SPAPI_CONSENT_URL`` overrides it), coming
    back to ``SITE_URL/spapi/callback`` with ``state``; ``version=beta`` while the app is a draft."""
    config = get_config()
    if not config.app_id:
        raise SpapiConfigurationError("SPAPI_APP_ID must be set to build the consent URL")
    if not state:
        raise ValueError("state is required (it binds the callback to the user's session)")
    params = {"application_id": config.app_id, "state": state, "redirect_uri": config.callback_url}
    if config.app_is_draft:
        params["version"] = "beta"
    separator = "&" if "?" in config.consent_url else "?"
    return f"{config.consent_url}{separator}{urlencode(params)}"
