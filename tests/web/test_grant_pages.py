"""The brand owner's authorization pages with Django's test client: who may see and do what,
the grant list's filters and query bounds, a seller's page within the brand, revoking one grant
and revoking all (each through a confirmation step, audited by the services)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from authorizations.models import Grant, GrantStatus, UnauthorizedOffer
from tests.api.conftest import hold_grant
from tests.factories import AsinFactory, SellerFactory

pytestmark = pytest.mark.django_db

READERS = ("owner_a", "manager_a", "viewer_a", "ops")
OUTSIDERS = ("owner_b", "partner_s", "partner_t", "newcomer")


def page_urls(world) -> dict[str, str]:
    brand = world.brand_a.pk
    return {
        "list": reverse("grants:list", args=[brand]),
        "approvals": reverse("grants:approvals", args=[brand]),
        "seller": reverse("grants:seller", args=[brand, world.seller_s.seller_id]),
        "new": reverse("grants:new", args=[brand]),
    }


# -- access ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("page_name", ["list", "approvals", "seller"])
@pytest.mark.parametrize("role", READERS)
def test_members_and_ops_read_the_pages(client_for, world, role, page_name):
    response = client_for(role).get(page_urls(world)[page_name])
    assert response.status_code == 200
    assert response.context["brand"] == world.brand_a


@pytest.mark.parametrize("page_name", ["list", "approvals", "seller", "new"])
@pytest.mark.parametrize("role", OUTSIDERS)
def test_anyone_else_is_told_the_brand_does_not_exist(client_for, world, role, page_name):
    assert client_for(role).get(page_urls(world)[page_name]).status_code == 404


@pytest.mark.parametrize("page_name", ["list", "approvals", "seller", "new"])
def test_anonymous_users_are_sent_to_log_in(client_for, world, page_name):
    url = page_urls(world)[page_name]
    response = client_for("anonymous").get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login")) and "next=" in response["Location"]


@pytest.mark.parametrize(("role", "status"), [("owner_a", 200), ("manager_a", 200), ("viewer_a", 403), ("ops", 403)])
def test_only_owners_and_managers_open_the_grant_form(client_for, world, role, status):
    assert client_for(role).get(page_urls(world)["new"]).status_code == status


@pytest.mark.parametrize("role", ["viewer_a", "ops"])
def test_read_only_users_see_no_action_buttons(client_for, world, role):
    client = client_for(role)
    listing = client.get(page_urls(world)["list"]).content.decode()
    assert reverse("grants:new", args=[world.brand_a.pk]) not in listing
    seller_page = client.get(page_urls(world)["seller"]).content.decode()
    assert reverse("grants:revoke", args=[world.brand_a.pk]) not in seller_page
    assert reverse("grants:revoke_all", args=[world.brand_a.pk, world.seller_s.seller_id]) not in seller_page
    assert "Revoke" not in seller_page


@pytest.mark.parametrize(("role", "status"), [("viewer_a", 403), ("ops", 403), ("owner_b", 404), ("newcomer", 404),
                                              ("partner_s", 404)])
def test_writes_are_refused_to_everyone_but_owners_and_managers(client_for, world, role, status):
    client = client_for(role)
    brand = world.brand_a.pk
    revoke = client.post(reverse("grants:revoke", args=[brand]), {"grant": world.grant_s.pk, "reason": "x"})
    revoke_all = client.post(reverse("grants:revoke_all", args=[brand, world.seller_s.seller_id]), {"reason": "x"})
    create = client.post(reverse("grants:new", args=[brand]), {"seller": world.seller_s.seller_id,
                                                               "asins": "B0ALPHA002", "mode": "all"})
    assert (revoke.status_code, revoke_all.status_code, create.status_code) == (status, status, status)
    world.grant_s.refresh_from_db()
    assert world.grant_s.status == GrantStatus.ACTIVE
    assert Grant.objects.filter(asin=world.asin_a2).count() == 0


def test_a_seller_unknown_to_the_brand_has_no_page_there(client_for, world):
    stranger = SellerFactory(seller_id="ASTRANGER001")
    client = client_for("owner_a")
    assert client.get(reverse("grants:seller", args=[world.brand_a.pk, stranger.seller_id])).status_code == 404
    # Seller T holds grants on Bravo only.
    assert client.get(reverse("grants:seller", args=[world.brand_a.pk, world.seller_t.seller_id])).status_code == 404


def test_another_brands_grant_cannot_be_acted_on_through_this_brand(client_for, world):
    response = client_for("owner_a").post(reverse("grants:revoke", args=[world.brand_a.pk]),
                                          {"grant": world.grant_t.pk, "reason": "not mine"})
    assert response.status_code == 404
    world.grant_t.refresh_from_db()
    assert world.grant_t.status == GrantStatus.ACTIVE


# -- the grant list -------------------------------------------------------------------------------

def test_grant_list_shows_the_brands_grants_with_effective_status(client_for, world):
    now = timezone.now()
    expired = hold_grant(world.asin_a2, world.seller_s, valid_until=now - dt.timedelta(days=1))
    soon = hold_grant(world.asin_a1, world.seller_s, marketplace="DE", valid_until=now + dt.timedelta(days=3))
    response = client_for("viewer_a").get(reverse("grants:list", args=[world.brand_a.pk]))
    rows = {g.pk: g for g in response.context["page"]}
    assert set(rows) == {world.grant_s.pk, expired.pk, soon.pk}  # not Bravo's grant
    assert rows[expired.pk].shown_status == GrantStatus.EXPIRED  # past its term, whatever the row says
    assert rows[soon.pk].expiring_soon and not rows[world.grant_s.pk].expiring_soon
    body = response.content.decode()
    assert 'class="highlight"' in body and "Expiring soon" in body
    assert response.context["counts"]["expiring_soon"] == 1


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "EXPIRED"}, {"expired"}),
    ({"status": "ACTIVE"}, {"grant_s", "soon", "other"}),
    ({"status": "EXPIRING_SOON"}, {"soon"}),
    ({"marketplace": "DE"}, {"soon"}),
    ({"asin": "b0alpha002"}, {"expired"}),
    ({"seller": "Shop S"}, {"grant_s", "expired", "soon"}),
    ({"seller": "AOTHER"}, {"other"}),
    ({"status": "NOT_A_STATUS"}, {"grant_s", "expired", "soon", "other"}),  # a bad value is ignored
])
def test_grant_list_filters(client_for, world, params, expected):
    now = timezone.now()
    grants = {
        "grant_s": world.grant_s,
        "expired": hold_grant(world.asin_a2, world.seller_s, valid_until=now - dt.timedelta(days=1)),
        "soon": hold_grant(world.asin_a1, world.seller_s, marketplace="DE", valid_until=now + dt.timedelta(days=3)),
        "other": hold_grant(world.asin_a1, SellerFactory(seller_id="AOTHER000001", name="Other shop")),
    }
    response = client_for("owner_a").get(reverse("grants:list", args=[world.brand_a.pk]), params)
    names = {name for name, grant in grants.items() if grant.pk in {g.pk for g in response.context["page"]}}
    assert names == expected


def test_grant_list_sorts_by_a_whitelisted_column_only(client_for, world):
    hold_grant(world.asin_a2, world.seller_s)
    client = client_for("owner_a")
    url = reverse("grants:list", args=[world.brand_a.pk])
    by_asin = [g.asin.asin for g in client.get(url, {"sort": "-asin"}).context["page"]]
    assert by_asin == ["B0ALPHA002", "B0ALPHA001"]
    assert client.get(url, {"sort": "seller__health_score"}).status_code == 200  # unknown key: the default


def test_grant_list_htmx_filter_returns_the_results_fragment(client_for, world):
    response = client_for("owner_a").get(reverse("grants:list", args=[world.brand_a.pk]), {"asin": "B0ALPHA001"},
                                         HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "B0ALPHA001" in body


def test_grant_list_has_a_helpful_empty_state(client_for, world):
    Grant.objects.filter(brand=world.brand_a).delete()
    body = client_for("owner_a").get(reverse("grants:list", args=[world.brand_a.pk])).content.decode()
    assert "No seller is authorized for this brand" in body
    assert reverse("grants:new", args=[world.brand_a.pk]) in body


def _queries(client, url, params=None) -> int:
    client.get(url, params)  # warm up (sessions, caches)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


def _many_grants(world, n_asins: int = 30, n_sellers: int = 5) -> None:
    asins = [AsinFactory(brand=world.brand_a, marketplaces=["US"]) for _ in range(n_asins)]
    sellers = [SellerFactory(name=f"Seller {n}") for n in range(n_sellers - 1)] + [world.seller_s]
    now = timezone.now()
    Grant.objects.bulk_create([
        Grant(brand=world.brand_a, seller=seller, asin=asin, marketplace_id="US",
              status=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED, GrantStatus.REVOKED][n % 3],
              valid_from=now - dt.timedelta(days=1), valid_until=now + dt.timedelta(days=n % 40 + 1),
              status_changed_at=now, granted_by=world.owner_a)
        for n, (asin, seller) in enumerate((a, s) for a in asins for s in sellers)
    ])


@pytest.mark.parametrize(("page_name", "params"), [
    ("list", {"sort": "-valid_until"}), ("list", {"status": "EXPIRING_SOON", "page": "2"}),
    ("list", {"seller": "Seller", "sort": "seller"}), ("seller", {"sort": "-status"}), ("approvals", {}),
])
def test_queries_do_not_grow_with_the_number_of_grants(client_for, world, page_name, params):
    client = client_for("owner_a")
    url = page_urls(world)[page_name]
    _many_grants(world, n_asins=2, n_sellers=2)
    few = _queries(client, url, params)
    _many_grants(world, n_asins=40, n_sellers=5)
    many = _queries(client, url, params)
    assert many == few, f"{page_name}: {few} queries with 5 grants, {many} with 205"
    assert many <= 25


def test_grant_list_pages_through_many_grants(client_for, world):
    _many_grants(world)
    response = client_for("owner_a").get(page_urls(world)["list"])
    assert len(response.context["page"].object_list) == 50
    assert response.context["page"].paginator.count == 151


# -- a seller within the brand --------------------------------------------------------------------

def test_seller_page_shows_its_grants_health_and_open_findings(client_for, world):
    now = timezone.now()
    revoked = hold_grant(world.asin_a2, world.seller_s, status=GrantStatus.REVOKED)
    UnauthorizedOffer.objects.create(brand=world.brand_a, asin=world.asin_a2, marketplace_id="US",
                                     offering_seller_id=world.seller_s.seller_id, seller_name="Shop S",
                                     price="19.99", currency="USD", first_seen_at=now, last_seen_at=now)
    UnauthorizedOffer.objects.create(brand=world.brand_a, asin=world.asin_a1, marketplace_id="DE",
                                     offering_seller_id=world.seller_s.seller_id, first_seen_at=now,
                                     last_seen_at=now, resolved_at=now, resolution="DISAPPEARED")
    response = client_for("owner_a").get(reverse("grants:seller", args=[world.brand_a.pk, world.seller_s.seller_id]))
    assert response.status_code == 200
    assert {g.pk for g in response.context["page"]} == {world.grant_s.pk, revoked.pk}  # every status
    assert response.context["live_count"] == 1
    assert [f.asin.asin for f in response.context["findings"]] == ["B0ALPHA002"]  # open ones only
    body = response.content.decode()
    assert "19.99 USD" in body
    assert "98" in body and "Connected" in body
    assert all(check["passed"] for check in response.context["seller_checks"])


def test_seller_page_explains_a_failing_seller_rule_in_words(client_for, world):
    world.seller_s.health_score = 72
    world.seller_s.save(update_fields=["health_score"])
    response = client_for("owner_a").get(reverse("grants:seller", args=[world.brand_a.pk, world.seller_s.seller_id]))
    failing = [c for c in response.context["seller_checks"] if not c["passed"]]
    assert [c["code"] for c in failing] == ["SELLER_HEALTH_BELOW_MIN"]
    assert "has health score 72, below the minimum 90" in response.content.decode()


def test_seller_page_filters_by_status(client_for, world):
    revoked = hold_grant(world.asin_a2, world.seller_s, status=GrantStatus.REVOKED)
    response = client_for("owner_a").get(reverse("grants:seller", args=[world.brand_a.pk, world.seller_s.seller_id]),
                                         {"status": "REVOKED"})
    assert [g.pk for g in response.context["page"]] == [revoked.pk]


# -- revoke one, suspend, reinstate ---------------------------------------------------------------

def test_revoke_one_goes_through_a_confirmation_with_a_required_reason(client_for, world):
    client = client_for("manager_a")
    url = reverse("grants:revoke", args=[world.brand_a.pk])
    confirm = client.get(url, {"grant": world.grant_s.pk})
    assert confirm.status_code == 200
    assert "loses these authorizations immediately" in confirm.content.decode()

    no_reason = client.post(url, {"grant": world.grant_s.pk, "reason": "  "})
    assert no_reason.status_code == 200
    assert no_reason.context["form"].errors["reason"]
    world.grant_s.refresh_from_db()
    assert world.grant_s.status == GrantStatus.ACTIVE

    seller_page = reverse("grants:seller", args=[world.brand_a.pk, world.seller_s.seller_id])
    done = client.post(url, {"grant": world.grant_s.pk, "reason": "Counterfeit reports", "next": seller_page})
    assert done.status_code == 302 and done["Location"] == seller_page
    world.grant_s.refresh_from_db()
    assert (world.grant_s.status, world.grant_s.status_reason) == (GrantStatus.REVOKED, "Counterfeit reports")
    event = AuditEvent.objects.get(action="grant.revoked", object_id=str(world.grant_s.pk))
    assert event.reason == "Counterfeit reports" and event.actor == "manager_a" and event.source == "web"


def test_revoking_an_already_revoked_grant_shows_the_services_refusal(client_for, world):
    revoked = hold_grant(world.asin_a2, world.seller_s, status=GrantStatus.REVOKED)
    response = client_for("owner_a").post(reverse("grants:revoke", args=[world.brand_a.pk]),
                                          {"grant": revoked.pk, "reason": "again"})
    assert response.status_code == 200
    assert [e["code"] for e in response.context["errors"]] == ["INVALID_TRANSITION"]
    body = response.content.decode()
    assert "INVALID_TRANSITION" in body and "cannot be revoked" in body


def test_an_external_next_is_not_followed(client_for, world):
    response = client_for("owner_a").post(reverse("grants:revoke", args=[world.brand_a.pk]),
                                          {"grant": world.grant_s.pk, "reason": "r", "next": "https://evil.example/"})
    assert response["Location"] == reverse("grants:seller", args=[world.brand_a.pk, world.seller_s.seller_id])


def test_suspend_then_reinstate(client_for, world):
    client = client_for("owner_a")
    brand = world.brand_a.pk
    no_reason = client.post(reverse("grants:suspend", args=[brand]), {"grant": world.grant_s.pk, "reason": ""})
    assert no_reason.status_code == 200 and no_reason.context["form"].errors["reason"]
    world.grant_s.refresh_from_db()
    assert world.grant_s.status == GrantStatus.ACTIVE
    assert client.post(reverse("grants:suspend", args=[brand]),
                       {"grant": world.grant_s.pk, "reason": "Late shipments"}).status_code == 302
    world.grant_s.refresh_from_db()
    assert world.grant_s.status == GrantStatus.SUSPENDED
    page = client.get(reverse("grants:seller", args=[brand, world.seller_s.seller_id])).content.decode()
    assert "Reinstate" in page
    assert client.post(reverse("grants:reinstate", args=[brand]), {"grant": world.grant_s.pk}).status_code == 302
    world.grant_s.refresh_from_db()
    assert world.grant_s.status == GrantStatus.ACTIVE
    actions = list(AuditEvent.objects.filter(object_type="grant", object_id=str(world.grant_s.pk))
                   .values_list("action", flat=True).order_by("id"))
    assert actions[-2:] == ["grant.suspended", "grant.reinstated"]


def test_reinstating_a_seller_that_now_fails_a_rule_is_refused_in_words(client_for, world):
    client = client_for("owner_a")
    brand = world.brand_a.pk
    client.post(reverse("grants:suspend", args=[brand]), {"grant": world.grant_s.pk, "reason": "Health dropped"})
    world.seller_s.infringement_count = 2
    world.seller_s.save(update_fields=["infringement_count"])
    response = client.post(reverse("grants:reinstate", args=[brand]), {"grant": world.grant_s.pk})
    assert response.status_code == 200
    assert "SELLER_HAS_INFRINGEMENTS" in response.content.decode()
    world.grant_s.refresh_from_db()
    assert world.grant_s.status == GrantStatus.SUSPENDED


# -- revoke all -----------------------------------------------------------------------------------

def test_revoke_all_confirms_how_many_live_grants_go_and_needs_a_reason(client_for, world):
    pending = hold_grant(world.asin_a2, world.seller_s, status=GrantStatus.PENDING_APPROVAL)
    suspended = hold_grant(world.asin_a1, world.seller_s, marketplace="DE", status=GrantStatus.SUSPENDED)
    already = hold_grant(world.asin_a2, world.seller_s, marketplace="DE", status=GrantStatus.REVOKED)
    client = client_for("owner_a")
    url = reverse("grants:revoke_all", args=[world.brand_a.pk, world.seller_s.seller_id])
    confirm = client.get(url)
    assert confirm.status_code == 200 and confirm.context["live_count"] == 3
    assert "3 live grants will be revoked at once" in confirm.content.decode()

    assert client.post(url, {"reason": ""}).context["form"].errors["reason"]
    assert Grant.objects.filter(pk=pending.pk, status=GrantStatus.PENDING_APPROVAL).exists()

    done = client.post(url, {"reason": "Emergency stop: counterfeit"}, follow=True)
    assert done.status_code == 200
    assert "3 grants of ASELLERS0001 on Alpha revoked." in done.content.decode()
    statuses = dict(Grant.objects.filter(pk__in=[world.grant_s.pk, pending.pk, suspended.pk, already.pk])
                    .values_list("pk", "status"))
    assert set(statuses.values()) == {GrantStatus.REVOKED}
    assert AuditEvent.objects.filter(action="grant.revoked", reason="Emergency stop: counterfeit").count() == 3
    # Seller T on Bravo is untouched.
    world.grant_t.refresh_from_db()
    assert world.grant_t.status == GrantStatus.ACTIVE


def test_revoke_all_with_nothing_live_says_so(client_for, world):
    Grant.objects.filter(pk=world.grant_s.pk).update(status=GrantStatus.REVOKED)
    response = client_for("owner_a").get(reverse("grants:revoke_all", args=[world.brand_a.pk, world.seller_s.seller_id]))
    assert response.context["live_count"] == 0
    assert "nothing to revoke" in response.content.decode()
