"""Parsers on Amazon's own sandbox examples (the model files' ``x-amzn-api-sandbox``)."""
from __future__ import annotations

import gzip
import json
from decimal import Decimal

import httpx
import pytest

from spapi_client import operations as ops
from spapi_client.client import check_status
from spapi_client.errors import (
    SpapiAuthError,
    SpapiClientError,
    SpapiMalformedResponse,
    SpapiServerError,
    SpapiThrottled,
    SpapiUnexpectedStatus,
)

from .conftest import sandbox_examples

US = "ATVPDKIKX0DER"


def test_participations_from_the_sellers_example():
    # given
    (example,) = sandbox_examples("sellers.json", "getMarketplaceParticipations")

    # when
    participations = ops.parse_participations(example)

    # then
    assert participations == [
        ops.Participation(
            marketplace_id=US, country_code="US", name="Amazon.com", is_participating=True,
            has_suspended_listings=False, store_name="BestSellerStore", currency="USD",
        )
    ]


def test_report_id_status_and_document_from_the_reports_examples():
    (created,) = sandbox_examples("reports_2021-06-30.json", "createReport", "202")
    (report,) = sandbox_examples("reports_2021-06-30.json", "getReport")
    (document,) = sandbox_examples("reports_2021-06-30.json", "getReportDocument")

    assert ops.parse_report_id(created) == "ID323"
    status = ops.parse_report(report)
    assert status == ops.ReportStatus(
        report_id="ReportId1", processing_status="IN_PROGRESS", document_id=None, report_type="FEE_DISCOUNTS_REPORT"
    )
    assert not status.is_final and not status.is_done
    parsed = ops.parse_report_document(document)
    assert (parsed.document_id, parsed.compression) == ("0356cf79-b8b0-4226-b4b9-0ee058ea5760", None)
    assert parsed.url.startswith("https://d34o8swod1owfl.cloudfront.net/")
    assert "cloudfront" not in repr(parsed)  # a pre-signed URL is a credential


def test_catalog_item_from_the_catalog_example():
    (example,) = sandbox_examples("catalogItems_2022-04-01.json", "searchCatalogItems")

    items = ops.parse_catalog_items(example, US)

    item = items["B07N4M94X4"]
    assert (item.brand, item.classification, item.category) == ("SAMSUNG", "QLED TVs", "Electronics")
    assert item.title.startswith("Samsung QN82Q60RAFXZA Flat 82-Inch QLED 4K")
    assert ("EAN", "0887276302195") in item.identifiers and item.marketplace_id == US
    # the item has no summary in Germany: not in that marketplace's catalog
    assert ops.parse_catalog_items(example, "A1PA6795UKMFR9") == {}


def test_offers_from_the_batch_example():
    (example,) = sandbox_examples("productPricingV0.json", "getItemOffersBatch")

    offers = ops.parse_item_offers_batch(example)

    assert len(offers) == 10
    assert offers["B000P6Q7MY"] == [
        ops.Offer(seller_id="A2SNBFWOFW4SWG", is_buy_box_winner=True, price=Decimal("21"), currency="USD",
                  condition="new", is_fulfilled_by_amazon=False, shipping=Decimal("0"))
    ]
    many = offers["B007Z07UK6"]
    assert len(many) == 11
    assert [o.seller_id for o in many if o.is_buy_box_winner] == ["AEMQJEQHIGU8X"]
    assert offers["B00KFRNZY6"] == []  # status NoBuyableOffers


def test_offers_from_the_single_item_example_without_buy_box_flags():
    consumer, business = sandbox_examples("productPricingV0.json", "getItemOffers")

    (offer,) = ops.parse_offers(consumer["payload"])
    (b2b,) = ops.parse_offers(business["payload"])

    assert offer == ops.Offer(seller_id="AXXXXXXXXXXXXX", is_buy_box_winner=False, price=Decimal("10.0"),
                              currency="USD", condition="new", is_fulfilled_by_amazon=False, shipping=Decimal("0.0"))
    assert b2b.price == Decimal("10.0")


def test_restrictions_from_the_restrictions_example():
    (example,) = sandbox_examples("listingsRestrictions_2021-08-01.json", "getListingsRestrictions")

    (restriction,) = ops.parse_restrictions(example)

    assert restriction.reason_code is None  # optional in the model, absent in the example
    assert restriction.message == "You cannot list the product in this condition."
    assert (restriction.marketplace_id, restriction.condition_type) == (US, "used_acceptable")
    assert restriction.links == (
        ops.Link(
            resource="https://sellercentral.amazon.com/hz/approvalrequest/restrictions/approve?asin=B0000ASIN1",
            verb="GET", title="Request Approval via Seller Central.", type="text/html",
        ),
    )
    assert ops.parse_restrictions({"restrictions": []}) == []


def _response(status: int, body, content_type: str = "application/json") -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers={"content-type": content_type})


@pytest.mark.parametrize(
    ("model", "operation", "code"),
    [
        ("listingsRestrictions_2021-08-01.json", "getListingsRestrictions", "BAD_REQUEST"),  # a bare list
        ("catalogItems_2022-04-01.json", "searchCatalogItems", "400"),
        ("reports_2021-06-30.json", "createReport", "400"),
        ("productPricingV0.json", "getItemOffersBatch", "InvalidInput"),
    ],
)
def test_the_400_examples_are_final_client_errors(model, operation, code):
    (example,) = sandbox_examples(model, operation, "400")

    with pytest.raises(SpapiClientError) as raised:
        check_status(_response(400, example), operation)

    assert raised.value.amazon_code == code and not raised.value.transient and raised.value.status == 400


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error"),
    [
        (429, b"", "application/json", SpapiThrottled),
        (429, {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.",
                           "details": ""}]}, "application/json", SpapiThrottled),
        (500, b"<html><body>Internal Server Error</body></html>", "text/html", SpapiServerError),
        (502, b"", "text/plain", SpapiServerError),
        (503, {"errors": [{"code": "ServiceUnavailable", "message": "later"}]}, "application/json", SpapiServerError),
        (504, b"<html>gateway</html>", "text/html", SpapiServerError),
        (403, {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]},
         "application/json", SpapiAuthError),
        (404, {"errors": [{"code": "NotFound", "message": "nope"}]}, "application/json", SpapiClientError),
        (501, b"", "text/plain", SpapiUnexpectedStatus),
        (200, b'{"payload": [', "application/json", SpapiMalformedResponse),
        (200, b"<html>maintenance</html>", "text/html", SpapiMalformedResponse),
    ],
)
def test_status_checks(status, body, content_type, error):
    with pytest.raises(error) as raised:
        check_status(_response(status, body, content_type), "getMarketplaceParticipations")

    assert type(raised.value) is error
    assert raised.value.transient == (status in (429, 500, 502, 503, 504))


def test_a_429_or_5xx_inside_a_batch_is_transient_and_a_4xx_item_is_left_out():
    (example,) = sandbox_examples("productPricingV0.json", "getItemOffersBatch")
    first, second, *_ = example["responses"]
    refused = {**second, "status": {"statusCode": 400, "reasonPhrase": "Bad Request"},
               "body": {"errors": [{"code": "InvalidInput", "message": "Invalid ASIN"}]}}

    assert set(ops.parse_item_offers_batch({"responses": [first, refused]})) == {"B000P6Q7MY"}
    with pytest.raises(SpapiThrottled):
        ops.parse_item_offers_batch({"responses": [first, {**second, "status": {"statusCode": 429}}]})
    with pytest.raises(SpapiServerError):
        ops.parse_item_offers_batch({"responses": [{**second, "status": {"statusCode": 503}}]})


@pytest.mark.parametrize(
    ("parser", "body"),
    [
        (ops.parse_participations, {"payload": "not a list"}),
        (ops.parse_participations, {"payload": [{"participation": {}}]}),
        (ops.parse_participations, ["not", "an", "object"]),
        (ops.parse_report_id, {}),
        (ops.parse_report, {"reportId": "1"}),
        (ops.parse_report_document, {"reportDocumentId": "x"}),
        (ops.parse_restrictions, {"restrictions": {"not": "a list"}}),
        (ops.parse_item_offers_batch, None),
        (lambda body: ops.parse_catalog_items(body, US), {"items": [{"summaries": []}]}),
    ],
)
def test_unexpected_shapes_are_malformed(parser, body):
    with pytest.raises(SpapiMalformedResponse):
        parser(body)


def test_documents_are_ungzipped_and_utf8():
    text = '{"name": "Größe ✓"}'

    assert ops.decode_document(gzip.compress(text.encode()), "GZIP") == text.encode()
    assert ops.decode_document(text.encode(), "GZIP") == text.encode()  # already inflated by HTTP
    assert ops.decode_document(text.encode("latin-1", "replace"), None, "text/plain; charset=ISO-8859-1") == (
        text.encode("latin-1", "replace").decode("latin-1").encode()
    )
    assert ops.decode_document(text.encode(), None, "application/json; charset=utf-8") == text.encode()
    with pytest.raises(SpapiMalformedResponse):
        ops.decode_document(b"\x1f\x8bnot gzip", "GZIP")
    with pytest.raises(SpapiMalformedResponse):
        ops.decode_document(b"...", "ZSTD")
