"""The approval queue: grants waiting under dual control (the creator cannot approve, a second
member can) and partners' requests (age in business days, overdue after 7; approve creates the
grants under the rules; reject needs a reason)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from authorizations import services
from authorizations.models import (
    AuthorizationRequest,
    Grant,
    GrantStatus,
    RequestStatus,
)
from authorizations.timeutil import (
    age_in_business_days,
    business_days_between,
    is_overdue,
)
from tests.factories import AsinFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dual(world):
    world.brand_a.dual_control = True
    world.brand_a.save(update_fields=["dual_control"])
    return world.brand_a


@pytest.fixture
def pending(world, dual):
    """Two grants owner_a created under dual control (A2 in US for seller S, A1 in DE)."""
    result = services.grants_create(actor=Actor.for_user(world.owner_a), brand=dual, seller=world.seller_s,
                                    asins=["B0ALPHA002", "B0ALPHA001"], marketplaces=["US", "DE"], partial=True)
    assert {g.status for g in result.created} == {GrantStatus.PENDING_APPROVAL}
    return sorted(result.created, key=lambda g: (g.asin.asin, g.marketplace_id))


def make_request(world, *, asins=("B0ALPHA002",), marketplaces=("US",), days_old=0) -> AuthorizationRequest:
    req = services.request_create(actor=Actor.for_user(world.partner_s), brand=world.brand_a, seller=world.seller_s,
                                  asins=list(asins), marketplaces=list(marketplaces), message="We stock your teapots.")
    if days_old:
        AuthorizationRequest.objects.filter(pk=req.pk).update(created_at=timezone.now() - dt.timedelta(days=days_old))
        req.refresh_from_db()
    return req


def approvals_url(world) -> str:
    return reverse("grants:approvals", args=[world.brand_a.pk])


# -- the business-day helper ----------------------------------------------------------------------

def test_business_day_helpers():
    monday = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    assert age_in_business_days(monday, monday + dt.timedelta(days=4)) == 4  # to Friday
    assert age_in_business_days(monday, monday + dt.timedelta(days=7)) == 5  # to next Monday
    assert age_in_business_days(monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)) == 0  # weekend
    assert business_days_between(monday.date(), (monday + dt.timedelta(days=14)).date()) == 10
    assert (is_overdue(7), is_overdue(8)) == (False, True)


# -- dual control ---------------------------------------------------------------------------------

def test_the_creator_sees_a_disabled_approve_button_and_cannot_approve(client_for, world, pending):
    client = client_for("owner_a")
    response = client.get(approvals_url(world))
    rows = list(response.context["page"])
    assert {g.pk for g in rows} == {g.pk for g in pending}
    assert all(g.is_own for g in rows)
    body = response.content.decode()
    assert "You created this grant: another member must approve it." in body
    assert 'form="approve-one"' not in body  # no live approve button for your own grants

    refused = client.post(reverse("grants:approve", args=[world.brand_a.pk]), {"grant": pending[0].pk})
    assert refused.status_code == 200
    assert [e["code"] for e in refused.context["errors"]] == ["SELF_APPROVAL"]
    assert "Under dual control a different member of the brand must approve this grant." in refused.content.decode()
    pending[0].refresh_from_db()
    assert pending[0].status == GrantStatus.PENDING_APPROVAL


def test_a_second_manager_approves(client_for, world, pending):
    client = client_for("manager_a")
    response = client.get(approvals_url(world))
    assert not any(g.is_own for g in response.context["page"])
    assert 'form="approve-one"' in response.content.decode()
    done = client.post(reverse("grants:approve", args=[world.brand_a.pk]),
                       {"grant": pending[0].pk, "next": approvals_url(world)}, follow=True)
    assert done.redirect_chain[-1][0] == approvals_url(world)
    assert "1 grant approved." in done.content.decode()
    pending[0].refresh_from_db()
    assert (pending[0].status, pending[0].approved_by) == (GrantStatus.ACTIVE, world.manager_a)
    assert AuditEvent.objects.filter(action="grant.approved", object_id=str(pending[0].pk), actor="manager_a").exists()


def test_approve_selected_goes_through_a_confirmation(client_for, world, pending):
    client = client_for("manager_a")
    url = reverse("grants:approve", args=[world.brand_a.pk])
    confirm = client.get(url, {"grant": [g.pk for g in pending]})
    assert confirm.status_code == 200 and len(confirm.context["grants"]) == 2
    assert client.post(url, {"grant": [g.pk for g in pending]}).status_code == 302
    assert set(Grant.objects.filter(pk__in=[g.pk for g in pending]).values_list("status", flat=True)) == {"ACTIVE"}


def test_reject_requires_a_reason(client_for, world, pending):
    client = client_for("manager_a")
    url = reverse("grants:reject", args=[world.brand_a.pk])
    confirm = client.get(url, {"grant": pending[0].pk})
    assert confirm.status_code == 200
    assert "will not be authorized" in confirm.content.decode()

    missing = client.post(url, {"grant": pending[0].pk, "reason": ""})
    assert missing.status_code == 200 and "reason" in missing.context["form"].errors
    pending[0].refresh_from_db()
    assert pending[0].status == GrantStatus.PENDING_APPROVAL

    assert client.post(url, {"grant": pending[0].pk, "reason": "No letter on file"}).status_code == 302
    pending[0].refresh_from_db()
    assert (pending[0].status, pending[0].status_reason) == (GrantStatus.REJECTED, "No letter on file")
    assert AuditEvent.objects.filter(action="grant.rejected", object_id=str(pending[0].pk),
                                     reason="No letter on file").exists()


def test_viewers_see_the_queue_without_buttons_and_cannot_approve(client_for, world, pending):
    client = client_for("viewer_a")
    body = client.get(approvals_url(world)).content.decode()
    assert "B0ALPHA002" in body
    assert reverse("grants:approve", args=[world.brand_a.pk]) not in body
    assert reverse("grants:reject", args=[world.brand_a.pk]) not in body
    assert client.post(reverse("grants:approve", args=[world.brand_a.pk]), {"grant": pending[0].pk}).status_code == 403
    pending[0].refresh_from_db()
    assert pending[0].status == GrantStatus.PENDING_APPROVAL


def test_the_queue_pages_many_pending_grants_in_bounded_queries(client_for, world, dual):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(approvals_url(world))
        return len(ctx.captured_queries), response

    def pend(n: int) -> None:
        asins = [AsinFactory(brand=dual, marketplaces=["US"]) for _ in range(n)]
        services.grants_create(actor=Actor.for_user(world.owner_a), brand=dual, seller=world.seller_s,
                               asins=[a.asin for a in asins], marketplaces=["US"])
        for _ in range(n // 10 + 1):
            make_request(world, days_old=n)

    client = client_for("manager_a")
    pend(2)
    client.get(approvals_url(world))  # warm up
    few, _ = queries()
    pend(60)
    many, response = queries()
    assert many == few and many <= 25
    assert response.context["page"].paginator.count == 62 and len(response.context["page"].object_list) == 50
    assert len(response.context["pending_requests"]) == 8


# -- partners' requests ---------------------------------------------------------------------------

def test_requests_show_their_age_in_business_days_and_overdue_ones_stand_out(client_for, world):
    fresh = make_request(world)
    old = make_request(world, days_old=20)
    response = client_for("owner_a").get(approvals_url(world))
    rows = {r.pk: r for r in response.context["pending_requests"]}
    assert rows[fresh.pk].age_business_days == 0 and not rows[fresh.pk].overdue
    assert rows[old.pk].age_business_days == business_days_between(old.created_at.date(), timezone.now().date()) >= 14
    assert rows[old.pk].overdue
    body = response.content.decode()
    assert f'<tr class="highlight" id="request-{old.pk}">' in body and "Overdue" in body
    assert "We stock your teapots." in body


def test_approving_a_request_creates_its_grants(client_for, world):
    req = make_request(world, asins=["B0ALPHA002", "B0ALPHA001"], marketplaces=["US"])
    response = client_for("manager_a").post(reverse("grants:request_approve", args=[world.brand_a.pk]),
                                            {"request": req.pk}, follow=True)
    assert "Request approved: 1 grant for ASELLERS0001 created and active." in response.content.decode()
    req.refresh_from_db()
    assert (req.status, req.decided_by) == (RequestStatus.APPROVED, world.manager_a)
    assert Grant.objects.filter(request=req, asin=world.asin_a2, marketplace_id="US", status="ACTIVE").exists()
    assert AuditEvent.objects.filter(action="request.approved", object_id=str(req.pk)).exists()


def test_a_request_that_fails_a_rule_is_refused_with_the_reasons(client_for, world):
    req = make_request(world, asins=["B0ALPHA002"], marketplaces=["DE"])  # A2 is not in the DE catalog
    response = client_for("owner_a").post(reverse("grants:request_approve", args=[world.brand_a.pk]),
                                          {"request": req.pk})
    assert response.status_code == 200
    assert [e["code"] for e in response.context["errors"]] == ["ASIN_NOT_IN_MARKETPLACE"]
    body = response.content.decode()
    assert "ASIN B0ALPHA002 is not listed for marketplace DE" in body
    assert "The request from Shop S was not approved and nothing was granted" in body
    assert f'<tr class="highlight" id="request-{req.pk}">' in body
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING
    assert not Grant.objects.filter(request=req).exists()


def test_rejecting_a_request_needs_a_reason(client_for, world):
    req = make_request(world)
    client = client_for("owner_a")
    url = reverse("grants:request_reject", args=[world.brand_a.pk])
    confirm = client.get(url, {"request": req.pk})
    assert confirm.status_code == 200 and "We stock your teapots." in confirm.content.decode()
    assert client.post(url, {"request": req.pk, "reason": " "}).context["form"].errors["reason"]
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING
    assert client.post(url, {"request": req.pk, "reason": "We do not open teapots to resellers."}).status_code == 302
    req.refresh_from_db()
    assert (req.status, req.decision_reason) == (RequestStatus.REJECTED, "We do not open teapots to resellers.")
    assert AuditEvent.objects.filter(action="request.rejected", object_id=str(req.pk)).exists()


@pytest.mark.parametrize(("role", "status"), [("viewer_a", 403), ("ops", 403), ("owner_b", 404), ("partner_s", 404)])
def test_only_owners_and_managers_decide_on_requests(client_for, world, role, status):
    req = make_request(world)
    client = client_for(role)
    assert client.post(reverse("grants:request_approve", args=[world.brand_a.pk]),
                       {"request": req.pk}).status_code == status
    assert client.post(reverse("grants:request_reject", args=[world.brand_a.pk]),
                       {"request": req.pk, "reason": "no"}).status_code == status
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING


def test_another_brands_request_is_not_found_here(client_for, world):
    req = services.request_create(actor=Actor.for_user(world.partner_t), brand=world.brand_b, seller=world.seller_t,
                                  asins=["B0BRAVO001"], marketplaces=["US"])
    response = client_for("owner_a").post(reverse("grants:request_approve", args=[world.brand_a.pk]),
                                          {"request": req.pk})
    assert response.status_code == 404
    assert client_for("owner_a").post(reverse("grants:request_approve", args=[world.brand_a.pk]),
                                      {"request": "x"}).status_code == 404
