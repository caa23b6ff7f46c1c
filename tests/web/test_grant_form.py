"""The grant form: a seller × pasted or picked ASINs × marketplaces, a term and a reason; the live
eligibility preview (rules.evaluate, nothing written); all-or-nothing versus the eligible ones;
dual control."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from authorizations.models import Grant, GrantStatus
from tests.factories import AsinFactory, SellerFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def form_data(**values) -> dict:
    data = {"seller": "ASELLERS0001", "asins": "", "marketplaces": ["US"], "valid_from": "", "valid_until": "",
            "reason": "Distributor agreement 2026", "letter_reference": "", "mode": "all"}
    data.update(values)
    return data


@pytest.fixture
def urls(world):
    brand = world.brand_a.pk
    return {name: reverse(f"grants:{name}", args=[brand])
            for name in ("new", "preview", "seller_suggestions", "marketplaces", "catalog")}


@pytest.fixture
def weak_seller(world):
    """Connected and participating, but health 72: below the minimum of 90."""
    return SellerFactory(seller_id="AWEAKSELLER1", name="Weak shop", health_score=72, participates_in=["US", "DE"])


# -- the form -------------------------------------------------------------------------------------

def test_form_offers_the_supported_marketplaces_and_both_modes(client_for, world, urls, marketplaces):
    response = client_for("owner_a").get(urls["new"])
    assert response.status_code == 200
    form = response.context["form"]
    assert [code for code, _ in form.fields["marketplaces"].choices] == [
        "CA", "MX", "US", "DE", "ES", "FR", "IT", "NL", "PL", "SE", "UK", "AU", "JP"]
    body = response.content.decode()
    assert "All or nothing" in body and "Grant the eligible ones" in body
    assert "Dual control is on" not in body
    assert f'hx-post="{urls["preview"]}"' in body  # the live preview


def test_form_prefills_a_seller_and_ticks_its_home_marketplace(client_for, world, urls):
    response = client_for("owner_a").get(urls["new"], {"seller": "asellers0001", "asin": "B0ALPHA002"})
    form = response.context["form"]
    assert form["seller"].value() == "ASELLERS0001"
    assert form["marketplaces"].value() == ["US"]
    assert form["asins"].value() == "B0ALPHA002"
    assert response.context["participating"] == {"US", "DE"}


def test_unknown_seller_and_malformed_asins_are_explained_next_to_their_fields(client_for, world, urls):
    response = client_for("owner_a").post(urls["new"], form_data(seller="ANOBODY00001", asins="B0ALPHA001 nope"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Seller ANOBODY00001 has not connected its Seller Central account." in errors["seller"]
    assert any("“nope” is not an ASIN" in e for e in errors["asins"])
    assert Grant.objects.count() == 2


def test_asins_are_required(client_for, world, urls):
    response = client_for("owner_a").post(urls["new"], form_data(asins="  ,, "))
    assert response.status_code == 200
    assert response.context["form"].errors["asins"]


# -- the live preview -----------------------------------------------------------------------------

def test_preview_of_an_eligible_seller(client_for, world, urls):
    response = client_for("owner_a").post(urls["preview"], form_data(asins="B0ALPHA002"), **HTMX)
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.total, preview.eligible, preview.already, preview.blocked) == (1, 1, 0, 0)
    body = response.content.decode()
    assert "<html" not in body
    assert "The pair is eligible. Submitting creates 1 active grant." in body


def test_preview_lists_every_failing_pair_of_an_ineligible_seller_in_words(client_for, world, urls, weak_seller):
    events_before = AuditEvent.objects.count()
    response = client_for("owner_a").post(
        urls["preview"], form_data(seller=weak_seller.seller_id, asins="B0ALPHA001\nB0ALPHA002", marketplaces=["US", "DE"]),
        **HTMX)
    preview = response.context["preview"]
    assert (preview.total, preview.eligible, preview.blocked) == (4, 0, 4)
    codes = {(f["code"], f.get("asin"), f.get("marketplace")) for f in preview.failures}
    assert codes == {("SELLER_HEALTH_BELOW_MIN", None, None), ("ASIN_NOT_IN_MARKETPLACE", "B0ALPHA002", "DE")}
    body = response.content.decode()
    # The rule in words (RULE_TITLES), each failure's sentence (the API's detail), and its code.
    assert "The seller&#x27;s health score is at least the minimum" in body
    assert "Seller AWEAKSELLER1 has health score 72, below the minimum 90." in body
    assert "Amazon&#x27;s catalog shows the ASIN in this marketplace under the brand" in body
    assert "ASIN B0ALPHA002 is not listed for marketplace DE in the brand&#x27;s catalog." in body
    assert "SELLER_HEALTH_BELOW_MIN" in body
    assert "No pair is eligible" in body
    # A preview writes nothing.
    assert Grant.objects.count() == 2 and AuditEvent.objects.count() == events_before


def test_preview_counts_already_granted_pairs_and_says_what_each_mode_does(client_for, world, urls):
    data = form_data(asins="B0ALPHA001, B0ALPHA002", marketplaces=["US", "DE"])
    client = client_for("owner_a")
    preview = client.post(urls["preview"], data, **HTMX).context["preview"]
    # A1/US held already; A2/DE not in the catalog there; A1/DE and A2/US eligible.
    assert (preview.total, preview.eligible, preview.already, preview.blocked) == (4, 2, 1, 1)
    assert "“All or nothing”: nothing will be granted" in client.post(urls["preview"], data, **HTMX).content.decode()
    body = client.post(urls["preview"], {**data, "mode": "eligible"}, **HTMX).content.decode()
    assert "“Grant the eligible ones”: 2 grants will be created; 1 not eligible pairs are left out." in body


def test_preview_prompts_until_a_seller_and_asins_are_given(client_for, world, urls):
    body = client_for("owner_a").post(urls["preview"], form_data(seller="", asins=""), **HTMX).content.decode()
    assert "Pick a seller and enter ASINs" in body


def test_preview_explains_bad_input(client_for, world, urls):
    body = client_for("owner_a").post(urls["preview"], form_data(asins="B0ALPHA001 XYZ"), **HTMX).content.decode()
    assert "Correct the input" in body and "“XYZ” is not an ASIN" in body


def test_preview_without_javascript_renders_the_whole_page(client_for, world, urls):
    response = client_for("owner_a").post(urls["new"], form_data(asins="B0ALPHA002", action="preview"))
    assert response.status_code == 200
    assert response.context["preview"].eligible == 1
    assert Grant.objects.count() == 2


def test_preview_queries_do_not_grow_with_the_number_of_asins(client_for, world, urls, django_assert_max_num_queries):
    asins = [AsinFactory(brand=world.brand_a, marketplaces=["US", "DE"]) for _ in range(60)]
    client = client_for("owner_a")
    data = form_data(asins=" ".join(a.asin for a in asins), marketplaces=["US", "DE"])
    with django_assert_max_num_queries(16):
        response = client.post(urls["preview"], data, **HTMX)
    assert response.context["preview"].eligible == 120


# -- submitting -----------------------------------------------------------------------------------

def test_all_or_nothing_writes_nothing_when_one_pair_fails(client_for, world, urls):
    response = client_for("owner_a").post(urls["new"], form_data(asins="B0ALPHA001 B0ALPHA002", marketplaces=["US", "DE"]))
    assert response.status_code == 200
    assert [(e["code"], e["asin"], e["marketplace"]) for e in response.context["errors"]] == [
        ("ASIN_NOT_IN_MARKETPLACE", "B0ALPHA002", "DE")]
    body = response.content.decode()
    assert "Nothing was granted." in body and "ASIN_NOT_IN_MARKETPLACE" in body
    assert Grant.objects.count() == 2
    assert not AuditEvent.objects.filter(action="grant.created").exists()


def test_eligible_only_grants_the_eligible_pairs(client_for, world, urls):
    response = client_for("owner_a").post(
        urls["new"], form_data(asins="B0ALPHA001 B0ALPHA002", marketplaces=["US", "DE"], mode="eligible"), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("grants:seller", args=[world.brand_a.pk, "ASELLERS0001"])
    created = Grant.objects.filter(seller=world.seller_s).exclude(pk=world.grant_s.pk)
    assert sorted(created.values_list("asin__asin", "marketplace_id", "status")) == [
        ("B0ALPHA001", "DE", "ACTIVE"), ("B0ALPHA002", "US", "ACTIVE")]
    assert set(created.values_list("reason", flat=True)) == {"Distributor agreement 2026"}
    body = response.content.decode()
    assert "2 grants for ASELLERS0001 created and active." in body
    assert "1 pair the seller already holds was skipped." in body
    assert "1 pair that is not eligible was left out." in body
    assert AuditEvent.objects.filter(action="grant.created", actor="owner_a", source="web").count() == 2


def test_an_ineligible_seller_is_refused_with_every_reason(client_for, world, urls, weak_seller):
    response = client_for("manager_a").post(urls["new"], form_data(seller=weak_seller.seller_id, asins="B0ALPHA002",
                                                                    mode="eligible"))
    assert response.status_code == 200
    assert [e["code"] for e in response.context["errors"]] == ["SELLER_HEALTH_BELOW_MIN"]
    assert not Grant.objects.filter(seller=weak_seller).exists()


def test_catalog_picks_and_a_term_are_granted(client_for, world, urls):
    until = timezone.localdate() + dt.timedelta(days=90)
    data = form_data(asins="", catalog_asins=["B0ALPHA002"], valid_until=until.isoformat(), letter_reference="LTR-7")
    response = client_for("owner_a").post(urls["new"], data)
    assert response.status_code == 302
    grant = Grant.objects.get(seller=world.seller_s, asin=world.asin_a2)
    assert grant.valid_until.date() == until and grant.letter_reference == "LTR-7"


def test_an_invalid_term_is_shown_next_to_the_end_date(client_for, world, urls):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    response = client_for("owner_a").post(urls["new"], form_data(asins="B0ALPHA002", valid_until=yesterday.isoformat()))
    assert response.status_code == 200
    assert [e["code"] for e in response.context["errors"]] == ["INVALID_TERM"]
    assert response.context["form"].errors["valid_until"]
    assert not Grant.objects.filter(asin=world.asin_a2).exists()


def test_with_dual_control_grants_are_created_pending_and_the_form_says_so(client_for, world, urls):
    world.brand_a.dual_control = True
    world.brand_a.save(update_fields=["dual_control"])
    client = client_for("owner_a")
    assert "Dual control is on." in client.get(urls["new"]).content.decode()
    response = client.post(urls["new"], form_data(asins="B0ALPHA002"), follow=True)
    grant = Grant.objects.get(asin=world.asin_a2)
    assert grant.status == GrantStatus.PENDING_APPROVAL and grant.approved_by is None
    assert "1 grant for ASELLERS0001 created. Dual control is on: it waits for another member&#x27;s approval." in \
        response.content.decode()


# -- the htmx helpers -----------------------------------------------------------------------------

def test_seller_suggestions_search_ids_and_names(client_for, world, urls):
    SellerFactory(seller_id="AUNCONNECT01", name="Shop Unplugged", connected=False)
    client = client_for("owner_a")
    body = client.get(urls["seller_suggestions"], {"seller": "shop"}, **HTMX).content.decode()
    assert 'value="ASELLERS0001"' in body and 'value="ASELLERT0001"' in body
    assert "not connected" in body  # the unplugged shop says so
    body = client.get(urls["seller_suggestions"], {"seller": "asellert"}, **HTMX).content.decode()
    assert 'value="ASELLERT0001"' in body and "ASELLERS0001" not in body
    assert client.get(urls["seller_suggestions"], {"seller": "s"}, **HTMX).content.decode().strip() == ""


@pytest.mark.parametrize("name", ["seller_suggestions", "marketplaces", "catalog", "preview"])
@pytest.mark.parametrize(("role", "status"), [("viewer_a", 403), ("ops", 403), ("owner_b", 404), ("partner_s", 404)])
def test_form_helpers_are_for_owners_and_managers_only(client_for, world, urls, name, role, status):
    client = client_for(role)
    response = (client.post(urls[name], form_data(asins="B0ALPHA002"), **HTMX) if name == "preview"
                else client.get(urls[name], {"seller": "shop"}, **HTMX))
    assert response.status_code == status


def test_picking_a_seller_ticks_its_home_marketplace(client_for, world, urls):
    response = client_for("owner_a").get(urls["marketplaces"], {"seller": "ASELLERS0001"}, **HTMX)
    assert response["HX-Trigger-After-Settle"] == "grant-form-changed"
    assert response.context["form"]["marketplaces"].value() == ["US"]
    body = response.content.decode()
    assert body.count(" checked") == 1 and re.search(r'value="US"[^>]* checked', body)
    assert 'value="DE"' in body and "home" in body


def test_catalog_picker_searches_and_keeps_what_is_ticked(client_for, world, urls):
    client = client_for("owner_a")
    body = client.get(urls["catalog"], {"catalog_q": "teapot"}, **HTMX).content.decode()
    assert "B0ALPHA002" in body and "B0ALPHA001" not in body
    body = client.get(urls["catalog"], {"catalog_q": "teapot", "catalog_asins": ["B0ALPHA001"]}, **HTMX).content.decode()
    assert 'value="B0ALPHA001" id="pick-B0ALPHA001" checked' in body
    assert "B0BRAVO001" not in client.get(urls["catalog"], {"catalog_q": "B0"}, **HTMX).content.decode()


def test_the_term_reaches_the_date_picker_as_iso_dates_in_every_language(world):
    """A date input takes only YYYY-MM-DD; zh-Hans would format a date as 2026/11/23, which the
    browser drops, and the owner's term would vanish from the form."""
    from django.utils import translation

    from authorizations.web.forms import GrantForm

    with translation.override("zh-hans"):
        form = GrantForm(brand=world.brand_a, marketplaces=[],
                         initial={"valid_from": dt.date(2026, 11, 23), "valid_until": dt.date(2027, 1, 5)})
        html = str(form["valid_from"]) + str(form["valid_until"])
    assert 'type="date"' in html
    assert 'value="2026-11-23"' in html and 'value="2027-01-05"' in html
