"""Tests for sellers.health: the health score derived from Amazon's account health report.

Pure: no Django, no database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sellers.health import (
    CUSTOMER_SERVICE_METRICS,
    POLICY_METRICS,
    HealthAssessment,
    HealthReportError,
    MarketplaceHealth,
    Penalty,
    assess,
    parse_report,
)

MODEL_FILE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "spapi-models"
    / "accountHealthReport-2020-11-18.json"
)

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
MX = "A1AM78C64UM0Y8"
DE = "A1PA6795UKMFR9"


def _entry(marketplace_id: str = US, **metrics: Any) -> dict[str, Any]:
    return {"marketplaceId": marketplace_id, **metrics}


def _report(*entries: dict[str, Any], statuses: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    return {
        "performanceMetrics": list(entries),
        "accountStatuses": [{"marketplaceId": m, "status": s} for m, s in statuses],
    }


def _policy(defects: int, status: str = "GOOD") -> dict[str, Any]:
    return {"defectsCount": defects, "status": status, "targetValue": 0, "targetCondition": "EQUALS"}


def _odr(mfn: str = "GOOD", afn: str = "GOOD") -> dict[str, Any]:
    return {"mfn": {"fulfillmentType": "mfn", "status": mfn}, "afn": {"fulfillmentType": "afn", "status": afn}}


def _official_example() -> dict[str, Any]:
    model = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    (example,) = model["examples"]
    return example


# --- the official example ------------------------------------------------------------------


def test_official_example_from_the_model_file() -> None:
    # given: the example report of the schema. By hand, marketplace ATVPDKIKX0DER:
    #   customer-service metrics: all GOOD (orderDefectRate mfn GOOD, afn GOOD)     0
    #   listingPolicyViolations                 86 defects, BAD -> capped          -20
    #   productAuthenticityCustomerComplaints  212 defects, BAD -> capped          -20
    #   productConditionCustomerComplaints     337 defects, BAD -> capped          -20
    #   productSafetyCustomerComplaints        165 defects, BAD -> capped          -20
    #   receivedIntellectualPropertyComplaints  75 defects, BAD -> capped          -20
    #   foodAndProductSafetyIssues              37 defects, BAD -> capped          -20
    #   otherPolicyViolations                   86 defects, BAD -> capped          -20
    #   documentRequests (example key "documentRequest") 8 defects, GOOD -> 8 x 2  -16
    #   accountHealthRating ahrStatus WARNED                                       -10
    #   100 - 166 = -66 -> floor 0.
    # A2EUQ1WTGCTBG2 (NORMAL) and A1AM78C64UM0Y8 (SUSPENDED) have no metrics: 100 each.
    # Seller score = lowest = 0; infringements = 75 (received IP; no suspected IP entry);
    # account status = worst of AT_RISK, NORMAL, SUSPENDED->DEACTIVATED = DEACTIVATED.
    example = _official_example()

    # when
    result = assess(example)

    # then
    assert result.score == 0
    assert result.infringement_count == 75
    assert result.account_status == "DEACTIVATED"
    by_id = {m.marketplace_id: m for m in result.marketplaces}
    assert set(by_id) == {US, CA, MX}
    us = by_id[US]
    assert us.score == 0
    assert us.account_status == "AT_RISK"
    assert sum(p.points for p in us.penalties) == 166
    assert {p.metric: p.points for p in us.penalties} == {
        "listingPolicyViolations": 20,
        "productAuthenticityCustomerComplaints": 20,
        "productConditionCustomerComplaints": 20,
        "productSafetyCustomerComplaints": 20,
        "receivedIntellectualPropertyComplaints": 20,
        "foodAndProductSafetyIssues": 20,
        "otherPolicyViolations": 20,
        "documentRequests": 16,
        "accountHealthRating": 10,
    }
    assert (by_id[CA].score, by_id[CA].account_status) == (100, "NORMAL")
    assert (by_id[MX].score, by_id[MX].account_status) == (100, "DEACTIVATED")


def test_official_example_filtered_to_one_marketplace() -> None:
    # given
    example = _official_example()

    # when
    us_only = assess(example, marketplace_ids=[US])
    ca_only = assess(example, marketplace_ids=[CA])

    # then
    assert (us_only.score, us_only.infringement_count, us_only.account_status) == (0, 75, "AT_RISK")
    assert (ca_only.score, ca_only.infringement_count, ca_only.account_status) == (100, 0, "NORMAL")
    assert [m.marketplace_id for m in ca_only.marketplaces] == [CA]


def test_official_example_as_bytes_gives_the_same_result() -> None:
    # given
    raw = json.dumps(_official_example()).encode("utf-8")

    # when
    result = assess(raw)

    # then
    assert result == assess(_official_example())


# --- customer-service metrics --------------------------------------------------------------


@pytest.mark.parametrize("metric", [m for m in CUSTOMER_SERVICE_METRICS if m != "orderDefectRate"])
def test_each_bad_customer_metric_costs_15(metric: str) -> None:
    # given
    report = _report(_entry(**{metric: {"status": "BAD", "rate": 0.2}}))

    # when
    result = assess(report)

    # then
    assert result.score == 85
    assert result.marketplaces[0].penalties == (Penalty(metric, 15, "status BAD"),)


@pytest.mark.parametrize("status", ["GOOD", "NONE"])
def test_customer_metric_not_bad_costs_nothing(status: str) -> None:
    # given
    report = _report(_entry(lateShipmentRate={"status": status}, orderDefectRate=_odr(status, status)))

    # when
    result = assess(report)

    # then
    assert result.score == 100
    assert result.marketplaces[0].penalties == ()


def test_prefulfillment_cancel_rate_spelling_of_the_example_is_read() -> None:
    # given: the schema's example names it "prefulfillmentCancelRate"
    report = _report(_entry(prefulfillmentCancelRate={"status": "BAD"}))

    # when
    result = assess(report)

    # then
    assert result.score == 85
    assert result.marketplaces[0].penalties[0].metric == "preFulfillmentCancellationRate"


def test_order_defect_rate_afn_only_bad_costs_15_once() -> None:
    # given
    report = _report(_entry(orderDefectRate=_odr(mfn="GOOD", afn="BAD")))

    # when
    result = assess(report)

    # then
    assert result.score == 85
    assert result.marketplaces[0].penalties == (Penalty("orderDefectRate", 15, "status BAD (afn)"),)


def test_order_defect_rate_mfn_and_afn_bad_still_costs_15() -> None:
    # given
    report = _report(_entry(orderDefectRate=_odr(mfn="BAD", afn="BAD")))

    # when
    result = assess(report)

    # then
    assert result.score == 85
    assert result.marketplaces[0].penalties == (
        Penalty("orderDefectRate", 15, "status BAD (mfn, afn)"),
    )


def test_order_defect_rate_flat_status_is_accepted() -> None:
    # given
    report = _report(_entry(orderDefectRate={"status": "BAD", "rate": 0.02}))

    # when
    result = assess(report)

    # then
    assert result.score == 85
    assert result.marketplaces[0].penalties == (Penalty("orderDefectRate", 15, "status BAD"),)


def test_order_defect_rate_with_one_channel_missing() -> None:
    # given
    report = _report(_entry(orderDefectRate={"mfn": {"status": "BAD"}}))

    # when
    result = assess(report)

    # then
    assert result.score == 85


# --- policy metrics ------------------------------------------------------------------------


@pytest.mark.parametrize("metric", POLICY_METRICS)
def test_each_policy_metric_costs_2_per_defect(metric: str) -> None:
    # given
    report = _report(_entry(**{metric: _policy(3)}))

    # when
    result = assess(report)

    # then
    assert result.score == 94
    assert result.marketplaces[0].penalties == (Penalty(metric, 6, "3 defects"),)


def test_policy_metric_capped_at_20() -> None:
    # given
    report = _report(_entry(listingPolicyViolations=_policy(15)))

    # when
    result = assess(report)

    # then
    assert result.score == 80
    assert result.marketplaces[0].penalties == (
        Penalty("listingPolicyViolations", 20, "15 defects, capped at 20"),
    )


def test_policy_metric_exactly_10_defects_is_20_without_cap() -> None:
    # given
    report = _report(_entry(otherPolicyViolations=_policy(10)))

    # when
    result = assess(report)

    # then
    assert result.marketplaces[0].penalties == (Penalty("otherPolicyViolations", 20, "10 defects"),)


def test_bad_policy_metric_with_1_defect_costs_at_least_10() -> None:
    # given
    report = _report(_entry(productSafetyCustomerComplaints=_policy(1, "BAD")))

    # when
    result = assess(report)

    # then
    assert result.score == 90
    assert result.marketplaces[0].penalties == (
        Penalty("productSafetyCustomerComplaints", 10, "1 defect, status BAD, minimum 10"),
    )


def test_bad_policy_metric_with_no_defects_costs_10() -> None:
    # given
    report = _report(_entry(restrictedProductPolicyViolations=_policy(0, "BAD")))

    # when
    result = assess(report)

    # then
    assert result.score == 90
    assert result.marketplaces[0].penalties == (
        Penalty("restrictedProductPolicyViolations", 10, "status BAD"),
    )


def test_bad_policy_metric_above_the_minimum_counts_its_defects() -> None:
    # given: 8 defects = 16 points, more than the BAD minimum of 10
    report = _report(_entry(listingPolicyViolations=_policy(8, "BAD")))

    # when
    result = assess(report)

    # then
    assert result.score == 84


def test_policy_metric_without_defects_costs_nothing() -> None:
    # given
    report = _report(_entry(listingPolicyViolations=_policy(0), documentRequests=_policy(0, "NONE")))

    # when
    result = assess(report)

    # then
    assert result.score == 100
    assert result.marketplaces[0].penalties == ()


def test_document_request_spelling_of_the_example_is_read() -> None:
    # given: the schema's example names it "documentRequest"
    report = _report(_entry(documentRequest=_policy(2)))

    # when
    result = assess(report)

    # then
    assert result.score == 96
    assert result.marketplaces[0].penalties == (Penalty("documentRequests", 4, "2 defects"),)


# --- account health rating, floor ----------------------------------------------------------


@pytest.mark.parametrize("key", ["ahrStatus", "accountHealthRatingStatus"])
def test_account_health_rating_warned_costs_10(key: str) -> None:
    # given
    report = _report(_entry(accountHealthRating={key: "WARNED"}))

    # when
    result = assess(report)

    # then
    assert result.score == 90
    assert result.marketplaces[0].penalties == (Penalty("accountHealthRating", 10, "WARNED"),)


@pytest.mark.parametrize("key", ["ahrStatus", "accountHealthRatingStatus"])
def test_account_health_rating_great_costs_nothing(key: str) -> None:
    # given
    report = _report(_entry(accountHealthRating={key: "GREAT"}))

    # when
    result = assess(report)

    # then
    assert result.score == 100


def test_score_floors_at_0_with_everything_bad() -> None:
    # given: 6 x 15 + 10 x 20 + 10 = 300 points
    metrics: dict[str, Any] = {m: {"status": "BAD"} for m in CUSTOMER_SERVICE_METRICS}
    metrics["orderDefectRate"] = _odr("BAD", "BAD")
    metrics.update({m: _policy(50, "BAD") for m in POLICY_METRICS})
    metrics["accountHealthRating"] = {"ahrStatus": "WARNED", "accountHealthRatingStatus": "WARNED"}
    report = _report(_entry(**metrics))

    # when
    result = assess(report)

    # then
    assert result.score == 0
    assert result.marketplaces[0].score == 0
    assert sum(p.points for p in result.marketplaces[0].penalties) == 300
    assert len(result.marketplaces[0].penalties) == 17


def test_missing_metrics_and_unknown_fields_count_as_good() -> None:
    # given
    report = _report(
        _entry(
            unitOnTimeDeliveryRate={"status": "BAD"},
            warningStates=[{"warningType": "spammingSellerMessaging", "status": "BAD"}],
            somethingNew={"status": "BAD", "defectsCount": 99},
            listingPolicyViolations=None,
        )
    )
    report["reportVersion"] = 2

    # when
    result = assess(report)

    # then
    assert result.score == 100
    assert result.marketplaces[0].penalties == ()


def test_no_marketplaces_scores_100() -> None:
    # given
    report = {"performanceMetrics": []}

    # when
    result = assess(report)

    # then
    assert result == HealthAssessment(score=100, infringement_count=0, account_status="NORMAL", marketplaces=())


# --- marketplaces: lowest wins, filtering, infringements, account status -------------------


def test_lowest_marketplace_score_wins() -> None:
    # given
    report = _report(
        _entry(US, lateShipmentRate={"status": "BAD"}),
        _entry(CA, listingPolicyViolations=_policy(15)),
        _entry(MX),
    )

    # when
    result = assess(report)

    # then
    assert [(m.marketplace_id, m.score) for m in result.marketplaces] == [(US, 85), (CA, 80), (MX, 100)]
    assert result.score == 80


def test_only_the_sellers_marketplaces_are_considered() -> None:
    # given
    report = _report(
        _entry(US, lateShipmentRate={"status": "BAD"}),
        _entry(CA, listingPolicyViolations=_policy(15)),
        statuses=((US, "NORMAL"), (CA, "SUSPENDED")),
    )

    # when
    result = assess(report, marketplace_ids=[US])

    # then
    assert result.score == 85
    assert result.account_status == "NORMAL"
    assert [m.marketplace_id for m in result.marketplaces] == [US]


@pytest.mark.parametrize("marketplace_ids", [None, [], ()])
def test_no_marketplace_filter_considers_every_marketplace(marketplace_ids: list[str] | None) -> None:
    # given
    report = _report(_entry(US), _entry(CA, lateShipmentRate={"status": "BAD"}))

    # when
    result = assess(report, marketplace_ids=marketplace_ids)

    # then
    assert result.score == 85
    assert len(result.marketplaces) == 2


def test_marketplace_absent_from_the_report_is_not_listed() -> None:
    # given
    report = _report(_entry(US, lateShipmentRate={"status": "BAD"}))

    # when
    result = assess(report, marketplace_ids={DE})

    # then
    assert result.score == 100
    assert result.marketplaces == ()


def test_a_single_string_as_marketplace_ids_is_refused() -> None:
    # given
    report = _report(_entry(US))

    # when / then
    with pytest.raises(TypeError):
        assess(report, marketplace_ids=US)


def test_infringement_count_sums_both_ip_metrics_over_considered_marketplaces() -> None:
    # given
    report = _report(
        _entry(
            US,
            receivedIntellectualPropertyComplaints=_policy(2, "BAD"),
            suspectedIntellectualPropertyViolations=_policy(3, "BAD"),
            listingPolicyViolations=_policy(7),
        ),
        _entry(CA, receivedIntellectualPropertyComplaints=_policy(4, "BAD")),
        _entry(MX, suspectedIntellectualPropertyViolations=_policy(100, "BAD")),
    )

    # when
    considered = assess(report, marketplace_ids=[US, CA])
    everything = assess(report)

    # then
    assert considered.infringement_count == 2 + 3 + 4
    assert everything.infringement_count == 2 + 3 + 4 + 100


def test_account_status_is_the_worst_and_suspended_means_deactivated() -> None:
    # given
    report = _report(
        _entry(US),
        statuses=((US, "NORMAL"), (CA, "AT_RISK"), (MX, "SUSPENDED")),
    )

    # when
    everything = assess(report)
    us_ca = assess(report, marketplace_ids=[US, CA])
    us = assess(report, marketplace_ids=[US])

    # then
    assert everything.account_status == "DEACTIVATED"
    assert {m.marketplace_id: m.account_status for m in everything.marketplaces} == {
        US: "NORMAL",
        CA: "AT_RISK",
        MX: "DEACTIVATED",
    }
    assert us_ca.account_status == "AT_RISK"
    assert us.account_status == "NORMAL"


def test_account_status_normal_when_absent() -> None:
    # given
    report = {"performanceMetrics": [_entry(US)]}

    # when
    result = assess(report)

    # then
    assert result.account_status == "NORMAL"
    assert result.marketplaces[0].account_status == "NORMAL"


def test_marketplace_id_with_capital_p_is_accepted() -> None:
    # given: the schema spells it marketplaceId; accept marketPlaceId too
    report = {
        "performanceMetrics": [{"marketPlaceId": US, "lateShipmentRate": {"status": "BAD"}}],
        "accountStatuses": [{"marketPlaceId": US, "status": "DEACTIVATED"}],
    }

    # when
    result = assess(report, marketplace_ids=[US])

    # then
    assert (result.score, result.account_status) == (85, "DEACTIVATED")


def test_breakdown_is_json_serialisable_and_complete() -> None:
    # given
    report = _report(
        _entry(US, lateShipmentRate={"status": "BAD"}, receivedIntellectualPropertyComplaints=_policy(1)),
        statuses=((US, "AT_RISK"),),
    )

    # when
    breakdown = assess(report).breakdown()

    # then
    assert json.loads(json.dumps(breakdown)) == breakdown
    assert breakdown == {
        "score": 83,
        "infringement_count": 1,
        "account_status": "AT_RISK",
        "marketplaces": [
            {
                "marketplace_id": US,
                "score": 83,
                "account_status": "AT_RISK",
                "penalties": [
                    {"metric": "lateShipmentRate", "points": 15, "reason": "status BAD", "defects": 0,
                     "status": "BAD", "channels": []},
                    {"metric": "receivedIntellectualPropertyComplaints", "points": 2, "reason": "1 defect",
                     "defects": 1, "status": "", "channels": []},
                ],
            }
        ],
    }


def test_results_are_frozen() -> None:
    # given
    result = assess(_report(_entry(US)))

    # when / then
    assert isinstance(result.marketplaces[0], MarketplaceHealth)
    with pytest.raises(AttributeError):
        result.score = 1  # type: ignore[misc]


# --- parsing and malformed input -----------------------------------------------------------


def test_parse_report_accepts_bytes_text_and_dicts() -> None:
    # given
    report = _report(_entry(US))

    # when
    from_bytes = parse_report(json.dumps(report).encode("utf-8"))
    from_bom_bytes = parse_report(b"\xef\xbb\xbf" + json.dumps(report).encode("utf-8"))
    from_text = parse_report(json.dumps(report))
    from_dict = parse_report(report)

    # then
    assert from_bytes == from_bom_bytes == from_text == report
    assert from_dict is report


def test_a_report_with_only_one_of_the_arrays_is_accepted() -> None:
    # given
    statuses_only = {"accountStatuses": [{"marketplaceId": US, "status": "AT_RISK"}]}

    # when
    result = assess(statuses_only)

    # then
    assert (result.score, result.account_status) == (100, "AT_RISK")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"<html>503 Service Unavailable</html>", id="not-json"),
        pytest.param("", id="empty"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param("[1, 2, 3]", id="json-list"),
        pytest.param(b"null", id="json-null"),
        pytest.param('"a string"', id="json-string"),
        pytest.param("{}", id="neither-array"),
        pytest.param({"reportType": "GET_V2_SELLER_PERFORMANCE_REPORT"}, id="dict-neither-array"),
        pytest.param({"performanceMetrics": None, "accountStatuses": None}, id="both-null"),
        pytest.param({"performanceMetrics": {"marketplaceId": US}}, id="metrics-not-array"),
        pytest.param({"performanceMetrics": [], "accountStatuses": "NORMAL"}, id="statuses-not-array"),
        pytest.param([_entry(US)], id="python-list"),
        pytest.param(None, id="none"),
    ],
)
def test_malformed_reports_raise_health_report_error(raw: Any) -> None:
    # given: raw

    # when / then
    with pytest.raises(HealthReportError) as excinfo:
        assess(raw)
    assert excinfo.value.code == "INVALID_HEALTH_REPORT"
    assert str(excinfo.value)


@pytest.mark.parametrize(
    "bad_value",
    [
        pytest.param("abc", id="string"),
        pytest.param("3", id="numeric-string"),
        pytest.param(-1, id="negative"),
        pytest.param(2.5, id="float"),
        pytest.param(True, id="boolean"),
        pytest.param([3], id="list"),
    ],
)
def test_bad_defects_count_raises_health_report_error(bad_value: Any) -> None:
    # given
    report = _report(_entry(US, receivedIntellectualPropertyComplaints=_policy(bad_value)))

    # when / then
    with pytest.raises(HealthReportError) as excinfo:
        assess(report)
    assert excinfo.value.code == "INVALID_HEALTH_REPORT"
    assert "defectsCount" in str(excinfo.value)
    assert excinfo.value.field == "performanceMetrics[0].receivedIntellectualPropertyComplaints.defectsCount"


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(_report("not an object"), id="entry-not-object"),  # type: ignore[arg-type]
        pytest.param(_report({"lateShipmentRate": {"status": "BAD"}}), id="entry-without-marketplace"),
        pytest.param(_report({"marketplaceId": 12}), id="marketplace-id-not-string"),
        pytest.param(_report(_entry(US, lateShipmentRate="BAD")), id="metric-not-object"),
        pytest.param(_report(_entry(US, lateShipmentRate={"status": 1})), id="status-not-string"),
        pytest.param(_report(_entry(US, orderDefectRate={"afn": "BAD"})), id="odr-channel-not-object"),
        pytest.param(_report(_entry(US, accountHealthRating={"ahrStatus": ["WARNED"]})), id="ahr-not-string"),
        pytest.param(_report(_entry(US), _entry(US)), id="duplicate-marketplace"),
        pytest.param(_report(statuses=((US, "ON_HOLD"),)), id="unknown-account-status"),
        pytest.param({"accountStatuses": [{"status": "NORMAL"}]}, id="status-without-marketplace"),
    ],
)
def test_wrong_shapes_inside_the_report_raise_health_report_error(report: dict[str, Any]) -> None:
    # given: report

    # when / then
    with pytest.raises(HealthReportError) as excinfo:
        assess(report)
    assert excinfo.value.code == "INVALID_HEALTH_REPORT"


def test_bad_metric_in_a_marketplace_not_considered_is_ignored() -> None:
    # given
    report = _report(_entry(US), _entry(DE, listingPolicyViolations=_policy("abc")))  # type: ignore[arg-type]

    # when
    result = assess(report, marketplace_ids=[US])

    # then
    assert result.score == 100


def test_health_report_error_is_a_value_error() -> None:
    # given
    error = HealthReportError("boom")

    # when / then
    assert isinstance(error, ValueError)
    assert error.code == "INVALID_HEALTH_REPORT"
    assert error.message == "boom"


def test_penalties_keep_the_facts_their_words_rest_on() -> None:
    # given: a channel-split order defect rate, a capped policy metric, a BAD one at its minimum, WARNED
    report = _report(_entry(
        US,
        orderDefectRate={"mfn": {"status": "BAD"}, "afn": {"status": "BAD"}},
        listingPolicyViolations=_policy(15),
        productSafetyCustomerComplaints={"defectsCount": 1, "status": "BAD"},
        accountHealthRating={"ahrStatus": "WARNED"},
    ))

    # when
    penalties = {p["metric"]: p for p in assess(report).breakdown()["marketplaces"][0]["penalties"]}

    # then
    assert {k: penalties["orderDefectRate"][k] for k in ("points", "defects", "status", "channels")} == {
        "points": 15, "defects": 0, "status": "BAD", "channels": ["mfn", "afn"]}
    assert {k: penalties["listingPolicyViolations"][k] for k in ("points", "defects", "status")} == {
        "points": 20, "defects": 15, "status": ""}
    assert {k: penalties["productSafetyCustomerComplaints"][k] for k in ("points", "defects", "status")} == {
        "points": 10, "defects": 1, "status": "BAD"}
    assert (penalties["accountHealthRating"]["points"], penalties["accountHealthRating"]["status"]) == (10, "WARNED")
