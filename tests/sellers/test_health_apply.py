"""seller_health_apply: a health report read from Amazon updates the seller and, when the seller
now fails a health rule, suspends every active grant it holds at once."""
from __future__ import annotations

import datetime as dt
import gzip
import json
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.selectors import audit_verify
from authorizations.models import Grant, GrantStatus
from config.errors import InvalidInput
from sellers.health import assess
from sellers.models import Seller
from sellers.services import seller_health_apply
from tests.factories import BrandFactory, SellerFactory

from .helpers import CA, DE, US, events, make_grant, official_example_report

pytestmark = pytest.mark.django_db


def _report(*entries: dict[str, Any], statuses: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    return {
        "performanceMetrics": list(entries),
        "accountStatuses": [{"marketplaceId": m, "status": s} for m, s in statuses],
    }


def _entry(marketplace_id: str = US, **metrics: Any) -> dict[str, Any]:
    return {"marketplaceId": marketplace_id, **metrics}


def _policy(defects: Any, status: str = "GOOD") -> dict[str, Any]:
    return {"defectsCount": defects, "status": status, "targetValue": 0, "targetCondition": "EQUALS"}


HEALTHY = _report(_entry(US, lateShipmentRate={"status": "GOOD"}), statuses=((US, "NORMAL"),))
BELOW_90 = _report(_entry(US, lateShipmentRate={"status": "BAD", "rate": 0.09}), statuses=((US, "NORMAL"),))
IP_COMPLAINT = _report(_entry(US, receivedIntellectualPropertyComplaints=_policy(1)), statuses=((US, "NORMAL"),))
DEACTIVATED = _report(_entry(US), statuses=((US, "DEACTIVATED"),))


@pytest.fixture
def seller(db) -> Seller:
    return SellerFactory(seller_id="A1SELLERHEALTH", participates_in=["US"])


def _grant_states(seller: Seller) -> dict[int, tuple[str, str]]:
    return dict((pk, (status, code)) for pk, status, code in
                Grant.objects.filter(seller=seller).values_list("pk", "status", "status_reason_code"))


# --- the official example ------------------------------------------------------------------


def test_official_example_for_a_us_only_seller(worker, seller) -> None:
    # given: a seller participating in the US only, holding an active grant
    grant = make_grant(seller)
    expected = assess(official_example_report(), marketplace_ids=[US])

    # when
    result = seller_health_apply(actor=worker, seller=seller, report=official_example_report())

    # then: the US entry of the example (many BAD policy metrics, WARNED rating) scores 0, its
    # 75 received IP complaints are infringements, and the US account status is AT_RISK — the
    # suspended Mexican account of the example is not this seller's concern.
    seller.refresh_from_db()
    assert expected.score == 0
    assert (seller.health_score, seller.infringement_count, seller.account_status) == (0, 75, "AT_RISK")
    assert seller.health_checked_at is not None
    assert result.failing_codes == ["SELLER_HEALTH_BELOW_MIN", "SELLER_HAS_INFRINGEMENTS"]
    grant.refresh_from_db()
    assert (grant.status, grant.status_reason_code) == (GrantStatus.SUSPENDED, "SELLER_HEALTH_BELOW_MIN")
    assert "75 infringement" in grant.status_reason


def test_official_example_as_downloaded_bytes(worker, seller) -> None:
    # given: the report as the reports API hands it over
    raw = json.dumps(official_example_report()).encode("utf-8")

    # when
    seller_health_apply(actor=worker, seller=seller, report=raw)

    # then
    seller.refresh_from_db()
    assert (seller.health_score, seller.infringement_count, seller.account_status) == (0, 75, "AT_RISK")


def test_official_example_as_a_gzipped_report_document(worker, seller) -> None:
    # given: getReportDocument may serve the document gzipped
    raw = gzip.compress(json.dumps(official_example_report()).encode("utf-8"))

    # when
    seller_health_apply(actor=worker, seller=seller, report=raw)

    # then
    seller.refresh_from_db()
    assert (seller.health_score, seller.infringement_count, seller.account_status) == (0, 75, "AT_RISK")


def test_official_example_for_a_seller_in_canada_only(worker) -> None:
    # given: the example's Canadian entry has no metrics and a NORMAL account
    seller = SellerFactory(home_marketplace=None, participates_in=["CA"])

    # when
    result = seller_health_apply(actor=worker, seller=seller, report=official_example_report())

    # then
    seller.refresh_from_db()
    assert (seller.health_score, seller.infringement_count, seller.account_status) == (100, 0, "NORMAL")
    assert result.failing_codes == []
    assert [m["marketplace_id"] for m in seller.health_breakdown["marketplaces"]] == [CA]


def test_the_breakdown_shows_which_metric_cost_how_many_points(worker, seller) -> None:
    # given: a seller participating in the US only (fixture)

    # when
    seller_health_apply(actor=worker, seller=seller, report=official_example_report())

    # then
    seller.refresh_from_db()
    (us,) = seller.health_breakdown["marketplaces"]
    assert us["marketplace_id"] == US
    assert {p["metric"]: p["points"] for p in us["penalties"]} == {
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
    assert seller.health_breakdown["score"] == 0


# --- hand-made reports ---------------------------------------------------------------------


def test_healthy_report_updates_the_seller_and_leaves_grants_alone(worker, seller) -> None:
    # given: a seller read 3 days ago with a score of 91
    Seller.objects.filter(pk=seller.pk).update(health_score=91, health_checked_at=timezone.now() - dt.timedelta(days=3))
    grant = make_grant(seller)

    # when
    result = seller_health_apply(actor=worker, seller=seller, report=HEALTHY)

    # then
    seller.refresh_from_db()
    assert seller.health_score == 100
    assert seller.health_score >= 90
    assert timezone.now() - seller.health_checked_at < dt.timedelta(minutes=1)
    assert seller.health_breakdown["marketplaces"][0]["penalties"] == []
    assert result.suspended == [] and result.failing_codes == []
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    (event,) = events(seller_id=seller.seller_id)
    assert event.action == "seller.health_updated"
    assert (event.before["health_score"], event.after["health_score"]) == (91, 100)
    assert event.actor == "sellers.sync_health" and event.source == "worker"


def test_score_exactly_90_keeps_grants_active(worker, seller) -> None:
    # given: a WARNED account health rating costs exactly 10
    grant = make_grant(seller)
    report = _report(_entry(US, accountHealthRating={"ahrStatus": "WARNED"}))

    # when
    seller_health_apply(actor=worker, seller=seller, report=report)

    # then
    seller.refresh_from_db()
    grant.refresh_from_db()
    assert seller.health_score == 90
    assert grant.status == GrantStatus.ACTIVE


def test_below_90_suspends_every_active_grant_on_every_brand(worker, seller) -> None:
    # given: active grants on two brands, grants that are not active, another seller's grant
    brand_a, brand_b = BrandFactory(), BrandFactory()
    active = [make_grant(seller, brand=brand_a), make_grant(seller, brand=brand_a), make_grant(seller, brand=brand_b)]
    pending = make_grant(seller, brand=brand_a, status=GrantStatus.PENDING_APPROVAL)
    revoked = make_grant(seller, brand=brand_b, status=GrantStatus.REVOKED)
    other = make_grant(SellerFactory(), brand=brand_a)

    # when
    result = seller_health_apply(actor=worker, seller=seller, report=BELOW_90)

    # then: the seller scores 85 and each active grant is suspended, with the rule's code
    seller.refresh_from_db()
    assert seller.health_score == 85
    assert sorted(g.pk for g in result.suspended) == sorted(g.pk for g in active)
    for grant in active:
        grant.refresh_from_db()
        assert grant.status == GrantStatus.SUSPENDED
        assert grant.status_reason_code == "SELLER_HEALTH_BELOW_MIN"
        assert "85" in grant.status_reason
    for grant, status in ((pending, GrantStatus.PENDING_APPROVAL), (revoked, GrantStatus.REVOKED),
                          (other, GrantStatus.ACTIVE)):
        grant.refresh_from_db()
        assert (grant.status, grant.status_reason_code) == (status, "")
    # and: one grant.suspended event per suspended grant, in its brand's log, plus one
    # seller.health_updated event
    suspended_events = events(action="grant.suspended")
    assert sorted(int(e.object_id) for e in suspended_events) == sorted(g.pk for g in active)
    assert {int(e.object_id): e.brand_id for e in suspended_events} == {g.pk: g.brand_id for g in active}
    assert all(e.before["status"] == "ACTIVE" and e.after["status"] == "SUSPENDED" for e in suspended_events)
    assert all(e.seller_id == seller.seller_id and e.actor == "sellers.sync_health" for e in suspended_events)
    assert [e.action for e in events(action="seller.health_updated")] == ["seller.health_updated"]
    assert AuditEvent.objects.count() == len(active) + 1


def test_the_audit_trail_of_an_automatic_suspension_verifies(worker, seller) -> None:
    # given: active grants on two brands
    make_grant(seller)
    make_grant(seller)

    # when
    seller_health_apply(actor=worker, seller=seller, report=official_example_report())

    # then: the seller's and both brands' chains are intact
    result = audit_verify()
    assert result.ok, result.problems
    assert result.checked == 3


def test_an_expired_grant_is_not_suspended(worker, seller) -> None:
    # given: a grant whose term has passed (not yet marked EXPIRED by the periodic task)
    grant = make_grant(seller)
    Grant.objects.filter(pk=grant.pk).update(valid_until=timezone.now() - dt.timedelta(minutes=1))

    # when
    result = seller_health_apply(actor=worker, seller=seller, report=BELOW_90)

    # then
    grant.refresh_from_db()
    assert result.suspended == []
    assert grant.status == GrantStatus.ACTIVE
    assert not events(action="grant.suspended")


def test_an_ip_complaint_suspends_for_infringements(worker, seller) -> None:
    # given
    grant = make_grant(seller)

    # when
    result = seller_health_apply(actor=worker, seller=seller, report=IP_COMPLAINT)

    # then: the score stays high (98) but one complaint is one too many
    seller.refresh_from_db()
    grant.refresh_from_db()
    assert (seller.health_score, seller.infringement_count) == (98, 1)
    assert result.failing_codes == ["SELLER_HAS_INFRINGEMENTS"]
    assert (grant.status, grant.status_reason_code) == (GrantStatus.SUSPENDED, "SELLER_HAS_INFRINGEMENTS")
    assert len(events(action="grant.suspended", object_id=str(grant.pk))) == 1


def test_a_deactivated_account_suspends_as_restricted(worker, seller) -> None:
    # given
    grant = make_grant(seller)

    # when
    seller_health_apply(actor=worker, seller=seller, report=DEACTIVATED)

    # then
    seller.refresh_from_db()
    grant.refresh_from_db()
    assert (seller.health_score, seller.account_status) == (100, "DEACTIVATED")
    assert (grant.status, grant.status_reason_code) == (GrantStatus.SUSPENDED, "SELLER_ACCOUNT_RESTRICTED")


def test_suspended_amazon_account_counts_as_deactivated(worker, seller) -> None:
    # given
    grant = make_grant(seller)

    # when
    seller_health_apply(actor=worker, seller=seller, report=_report(statuses=((US, "SUSPENDED"),)))

    # then
    seller.refresh_from_db()
    grant.refresh_from_db()
    assert seller.account_status == "DEACTIVATED"
    assert grant.status_reason_code == "SELLER_ACCOUNT_RESTRICTED"


def test_a_marketplace_the_seller_does_not_sell_in_does_not_count(worker, seller) -> None:
    # given: Germany is bad, but the seller participates in the US only
    grant = make_grant(seller)
    report = _report(_entry(US), _entry(DE, lateShipmentRate={"status": "BAD"},
                                        receivedIntellectualPropertyComplaints=_policy(4, "BAD")),
                     statuses=((US, "NORMAL"), (DE, "DEACTIVATED")))

    # when
    seller_health_apply(actor=worker, seller=seller, report=report)

    # then
    seller.refresh_from_db()
    grant.refresh_from_db()
    assert (seller.health_score, seller.infringement_count, seller.account_status) == (100, 0, "NORMAL")
    assert grant.status == GrantStatus.ACTIVE


def test_the_lowest_participating_marketplace_sets_the_score(worker) -> None:
    # given
    seller = SellerFactory(participates_in=["US", "DE"])
    report = _report(_entry(US, lateShipmentRate={"status": "BAD"}),
                     _entry(DE, listingPolicyViolations=_policy(15)))

    # when
    seller_health_apply(actor=worker, seller=seller, report=report)

    # then
    seller.refresh_from_db()
    assert seller.health_score == 80
    assert {m["marketplace_id"]: m["score"] for m in seller.health_breakdown["marketplaces"]} == {US: 85, DE: 80}


def test_an_already_suspended_grant_is_not_suspended_twice(worker, seller) -> None:
    # given: a first bad report suspended the grant
    grant = make_grant(seller)
    seller_health_apply(actor=worker, seller=seller, report=BELOW_90)

    # when: the next sync is still bad
    result = seller_health_apply(actor=worker, seller=seller, report=BELOW_90)

    # then
    grant.refresh_from_db()
    assert result.suspended == []
    assert grant.status == GrantStatus.SUSPENDED
    assert len(events(action="grant.suspended")) == 1
    assert len(events(action="seller.health_updated")) == 2


# --- malformed reports ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(b"<html><body>503 Service Unavailable</body></html>", id="not-json"),
        pytest.param("", id="empty"),
        pytest.param({"reportType": "GET_V2_SELLER_PERFORMANCE_REPORT"}, id="missing-both-arrays"),
        pytest.param(_report(_entry(US, receivedIntellectualPropertyComplaints=_policy("three", "BAD"))),
                     id="bad-defects-count"),
        pytest.param(_report(_entry(US, listingPolicyViolations=_policy(-1))), id="negative-defects-count"),
        pytest.param(gzip.compress(json.dumps(HEALTHY).encode())[:-12], id="truncated-gzip"),
        pytest.param(b"\x1f\x8b\x08\x00garbage", id="broken-gzip"),
    ],
)
def test_a_malformed_report_changes_nothing(worker, seller, report) -> None:
    # given: a healthy seller read an hour ago, with an active and a pending grant
    Seller.objects.filter(pk=seller.pk).update(health_breakdown={"score": 98})
    seller.refresh_from_db()
    before = (seller.health_score, seller.health_checked_at, seller.health_breakdown, seller.infringement_count,
              seller.account_status, seller.updated_at)
    make_grant(seller)
    make_grant(seller, status=GrantStatus.PENDING_APPROVAL)
    grants_before = _grant_states(seller)
    events_before = AuditEvent.objects.count()

    # when
    with pytest.raises(InvalidInput) as excinfo:
        seller_health_apply(actor=worker, seller=seller, report=report)

    # then
    assert excinfo.value.code == "INVALID_HEALTH_REPORT"
    assert excinfo.value.errors[0].detail
    seller.refresh_from_db()
    assert (seller.health_score, seller.health_checked_at, seller.health_breakdown, seller.infringement_count,
            seller.account_status, seller.updated_at) == before
    assert _grant_states(seller) == grants_before
    assert AuditEvent.objects.count() == events_before


def test_a_bad_defects_count_names_the_field(worker, seller) -> None:
    # given
    report = _report(_entry(US, receivedIntellectualPropertyComplaints=_policy("three", "BAD")))

    # when
    with pytest.raises(InvalidInput) as excinfo:
        seller_health_apply(actor=worker, seller=seller, report=report)

    # then
    (error,) = excinfo.value.errors
    assert error.field == "performanceMetrics[0].receivedIntellectualPropertyComplaints.defectsCount"
    assert "three" in error.detail
    assert error.seller_id == seller.seller_id
