"""In a real browser, in English and in Chinese: a brand owner signs up, registers a brand, imports
its ASINs from CSV, grants a seller through the grant form (after the live preview explained why
another seller is refused), turns dual control on, creates a grant that waits for approval, and a
second member (a manager) approves it and then revokes all of the seller's grants.

Out of band, as ops staff and Amazon would: the brand's registry status is set ACTIVE
(``brand_set_registry_status`` with a system actor), the catalog sync verifies the imported ASINs
(``catalog_results_apply``), and the sellers exist with their SP-API facts (factories, like
tests/api/conftest.py)."""
from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audit.context import Actor
from audit.models import AuditEvent
from authorizations.models import Grant, GrantStatus
from brands.models import Brand
from brands.services import brand_set_registry_status
from brands.sync import catalog_results_apply
from tests.api.conftest import PASSWORD
from tests.factories import SellerFactory, UserFactory, ensure_marketplaces

pytestmark = pytest.mark.django_db(transaction=True)

CSV = """asin,gcid,title,category,marketplaces
B0TEAPOT01,GC00000000000001,Blue teapot,Home & Kitchen,US;DE
B0TEAPOT02,GC00000000000002,Red kettle,Home & Kitchen,US
B0TEAPOT03,GC00000000000003,Tea cups,Home & Kitchen,US
"""

# The words each language shows (English source; the zh-Hans catalogues' translations).
WORDS = {
    "en": SimpleNamespace(
        register="Register a brand", imported="B0TEAPOT03", grant_heading="Grant a seller",
        health_rule="The seller's health score is at least the minimum",
        health_detail="Seller AWEAKSHOP001 has health score 72, below the minimum 90.",
        nothing="Nothing was granted.", eligible="All 2 pairs are eligible.",
        created="2 grants for AGOODSHOP001 created and active.",
        one_pending="Submitting creates 1 grant waiting for another member's approval.",
        dual_note="Dual control is on.",
        pending_created="1 grant for AGOODSHOP001 created. Dual control is on",
        yours="Yours: another member approves", approved="1 grant approved.",
        revoke_all="Revoke all…", will_revoke="3 live grants will be revoked at once.",
        revoked="3 grants of AGOODSHOP001 on Teapot Co revoked.", approve="Approve",
        english_only=None,
    ),
    "zh-hans": SimpleNamespace(
        register="注册品牌", imported="B0TEAPOT03", grant_heading="授权卖家",
        health_rule="卖家的账户健康分不低于最低要求",
        health_detail="卖家 AWEAKSHOP001 的账户健康分为 72，低于最低要求 90。",
        nothing="未授予任何授权。", eligible="所选组合均符合条件（共 2 个）。",
        created="已为 AGOODSHOP001 创建 2 项授权，已生效。",
        one_pending="提交后将创建 1 项授权，等待另一位成员批准。",
        dual_note="双人审批已开启。",
        pending_created="已为 AGOODSHOP001 创建 1 项授权。双人审批已开启",
        yours="您创建的：需另一位成员批准", approved="已批准 1 项授权。",
        revoke_all="全部撤销…", will_revoke="将立即撤销 3 项生效中的授权。",
        revoked="已撤销 AGOODSHOP001 在 Teapot Co 的 3 项授权。", approve="批准",
        english_only=["Grant a seller", "Eligibility", "Approvals", "Revoke all"],
    ),
}


class Journey:
    def __init__(self, web, lang: str):
        self.web, self.page, self.lang, self.words = web, web.page, lang, WORDS[lang]

    def use_language(self) -> None:
        if self.lang != "en":
            self.web.language(self.lang)

    def see(self, text: str) -> None:
        expect(self.page.locator("main")).to_contain_text(text)

    def no_english(self) -> None:
        if self.words.english_only:
            body = self.page.locator("main").inner_text()
            leaked = [w for w in self.words.english_only if w in body]
            assert not leaked, f"English on a {self.lang} page: {leaked}"

    def submit(self, button) -> None:
        """Click a submit button and wait for the page it leads to."""
        with self.page.expect_navigation():
            button.click()

    def preview_settled(self) -> None:
        """Wait for the live preview's htmx request to finish."""
        expect(self.page.locator(".htmx-request")).to_have_count(0)


def _verify_catalog(brand: Brand) -> None:
    """What the catalog sync would record: Amazon shows the ASINs under the brand's name."""
    system = Actor.task("tests.catalog_sync")
    found = SimpleNamespace(brand=brand.name, category="Home & Kitchen")
    catalog_results_apply(actor=system, brand=brand, marketplace="US", asked=["B0TEAPOT01", "B0TEAPOT02", "B0TEAPOT03"],
                          items_by_asin={a: found for a in ("B0TEAPOT01", "B0TEAPOT02", "B0TEAPOT03")})
    catalog_results_apply(actor=system, brand=brand, marketplace="DE", asked=["B0TEAPOT01"],
                          items_by_asin={"B0TEAPOT01": found})


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_owner_grants_with_dual_control_and_a_manager_approves_then_revokes_all(transactional_db, web, lang):
    j = Journey(web, lang)
    page, w = j.page, j.words
    ensure_marketplaces()  # a transactional test before this one flushed the data migration's rows
    good = SellerFactory(seller_id="AGOODSHOP001", name="Good Tea Shop", participates_in=["US", "DE"])
    SellerFactory(seller_id="AWEAKSHOP001", name="Weak Tea Shop", health_score=72, participates_in=["US"])
    UserFactory(username="mei")  # the second member, added by the owner below

    # -- sign up and register a brand ----------------------------------------------------------
    j.use_language()
    web.go("/accounts/signup/")
    page.fill("input[name=username]", "olivia")
    page.fill("input[name=email]", "olivia@example.com")
    page.fill("input[name=password1]", "Oolong-garden-passphrase-9")
    page.fill("input[name=password2]", "Oolong-garden-passphrase-9")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(web.url("/"))
    page.get_by_role("link", name=w.register).first.click()
    page.fill("input[name=name]", "Teapot Co")
    page.fill("input[name=registry_number]", "TEAPOT-0001")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/brands/\d+/$"))
    brand = Brand.objects.get(name="Teapot Co")

    # -- import the catalog through the CSV import page ---------------------------------------
    web.go(f"/brands/{brand.pk}/asins/import/")
    page.fill("textarea[name=csv_text]", CSV)
    j.submit(page.locator("main form button[type=submit]"))
    j.see(w.imported)
    assert brand.asins.count() == 3

    # -- out of band: ops verify the registry, the catalog sync verifies the ASINs ------------
    brand_set_registry_status(actor=Actor.task("tests.ops"), brand=brand, registry_status="ACTIVE")
    _verify_catalog(brand)

    # -- the grant form: a weak seller is refused, in words, before anything is written --------
    web.go(f"/brands/{brand.pk}/grants/new/")
    expect(page.get_by_role("heading", name=w.grant_heading)).to_be_visible()
    page.fill("#id_seller", "tea sh")  # suggestions by name, as <datalist> options
    expect(page.locator("#seller-options option")).to_have_count(2)
    page.fill("#id_seller", "AWEAKSHOP001")
    page.press("#id_seller", "Tab")
    expect(page.locator("#marketplaces-field input[value=US]")).to_be_checked()
    page.fill("#id_asins", "B0TEAPOT01\nB0TEAPOT02")
    expect(page.locator("#preview")).to_contain_text("SELLER_HEALTH_BELOW_MIN")
    expect(page.locator("#preview")).to_contain_text(w.health_rule)
    expect(page.locator("#preview")).to_contain_text(w.health_detail)
    j.preview_settled()
    web.shot(f"owner-grant-preview-refused-{lang}")
    j.no_english()
    j.submit(page.locator("#grant-form button.primary"))
    j.see(w.nothing)
    j.see(w.health_detail)
    assert not Grant.objects.filter(seller__seller_id="AWEAKSHOP001").exists()

    # -- ...and an eligible seller is granted -------------------------------------------------
    page.fill("#id_seller", "AGOODSHOP001")
    page.press("#id_seller", "Tab")
    expect(page.locator("#preview")).to_contain_text(w.eligible)
    j.preview_settled()
    expect(page.locator("#submit-errors")).to_be_empty()  # the last refusal no longer applies
    expect(page.locator("#marketplaces-field input[type=checkbox]")).to_have_count(13)
    web.shot(f"owner-grant-form-{lang}")
    page.locator("#grant-form button.primary").click()
    page.wait_for_url(re.compile(r"/sellers/AGOODSHOP001/$"))
    j.see(w.created)
    web.shot(f"owner-seller-{lang}")
    assert set(Grant.objects.filter(seller=good).values_list("status", flat=True)) == {GrantStatus.ACTIVE}

    web.go(f"/brands/{brand.pk}/grants/")
    j.see("B0TEAPOT02")
    web.shot(f"owner-grants-{lang}")
    j.no_english()
    page.fill("input[name=asin]", "B0TEAPOT02")  # the filter bar updates the table in place (htmx)
    expect(page.locator("#grant-results tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"asin=B0TEAPOT02"))

    # -- dual control on; a new grant waits for another member --------------------------------
    web.go(f"/brands/{brand.pk}/settings/")
    page.check("input[name=dual_control]")
    j.submit(page.locator("main form.form button[type=submit]").first)
    brand.refresh_from_db()
    assert brand.dual_control

    web.go(f"/brands/{brand.pk}/members/")
    add_member = page.locator("main form", has=page.locator("input[type=text][name$=username]"))
    add_member.locator("input[type=text][name$=username]").fill("mei")
    add_member.locator("select[name$=role]").select_option("manager")
    j.submit(add_member.locator("button[type=submit]"))
    assert brand.memberships.filter(user__username="mei", role="manager").exists()

    web.go(f"/brands/{brand.pk}/grants/new/?seller=AGOODSHOP001")
    j.see(w.dual_note)
    page.locator("details.picker summary").click()  # pick the ASIN from the catalog this time
    page.fill("#catalog-q", "cups")
    expect(page.locator("#catalog-results input[name=catalog_asins]")).to_have_count(1)
    page.check("#pick-B0TEAPOT03")
    expect(page.locator("#preview")).to_contain_text(w.one_pending)
    j.preview_settled()
    web.shot(f"owner-grant-form-dual-control-{lang}")
    page.locator("#grant-form button.primary").click()
    page.wait_for_url(re.compile(r"/sellers/AGOODSHOP001/$"))
    j.see(w.pending_created)
    pending = Grant.objects.get(seller=good, asin__asin="B0TEAPOT03")
    assert pending.status == GrantStatus.PENDING_APPROVAL

    web.go(f"/brands/{brand.pk}/approvals/")
    j.see(w.yours)  # the creator cannot approve their own grant
    expect(page.locator("button[disabled]", has_text=w.approve)).to_have_count(1)
    web.shot(f"owner-approvals-{lang}")

    # -- the manager approves, then revokes all -----------------------------------------------
    web.logout()
    j.use_language()
    web.login("mei", PASSWORD)
    web.go(f"/brands/{brand.pk}/approvals/")
    j.submit(page.locator("button[form=approve-one]"))
    j.see(w.approved)
    pending.refresh_from_db()
    assert pending.status == GrantStatus.ACTIVE and pending.approved_by.username == "mei"
    web.shot(f"manager-approvals-{lang}")

    web.go(f"/brands/{brand.pk}/sellers/AGOODSHOP001/")
    page.get_by_role("link", name=w.revoke_all).click()
    page.wait_for_url(re.compile(r"/revoke-all/$"))
    j.see(w.will_revoke)
    web.shot(f"owner-revoke-all-{lang}")
    page.fill("textarea[name=reason]", "Counterfeit complaints from customers")
    page.locator("main form button.danger").click()
    page.wait_for_url(re.compile(r"/sellers/AGOODSHOP001/$"))
    j.see(w.revoked)
    web.shot(f"manager-seller-revoked-{lang}")
    assert set(Grant.objects.filter(seller=good).values_list("status", flat=True)) == {GrantStatus.REVOKED}
    assert AuditEvent.objects.filter(action="grant.revoked", actor="mei",
                                     reason="Counterfeit complaints from customers").count() == 3
    assert web.console_errors == []


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_owner_pages_on_a_phone(transactional_db, web, world, lang):
    """The grant list, approval queue and a seller's page stay usable at 390 px: no sideways
    scrolling, tables stacked, an overdue request and an expiring grant highlighted."""
    from authorizations import services
    from tests.api.conftest import hold_grant

    ensure_marketplaces()
    hold_grant(world.asin_a2, world.seller_s, valid_until=timezone.now() + dt.timedelta(days=5))
    req = services.request_create(actor=Actor.for_user(world.partner_s), brand=world.brand_a, seller=world.seller_s,
                                  asins=["B0ALPHA002"], marketplaces=["DE"], message="We stock your teapots.")
    type(req).objects.filter(pk=req.pk).update(created_at=timezone.now() - dt.timedelta(days=16))
    j = Journey(web, lang)
    web.page.set_viewport_size({"width": 390, "height": 844})
    j.use_language()
    web.login(world.owner_a)
    brand = world.brand_a.pk
    for name, path in [("grants", f"/brands/{brand}/grants/"), ("approvals", f"/brands/{brand}/approvals/"),
                       ("seller", f"/brands/{brand}/sellers/{world.seller_s.seller_id}/"),
                       ("revoke", f"/brands/{brand}/grants/revoke/?grant={world.grant_s.pk}"),
                       ("new", f"/brands/{brand}/grants/new/?seller={world.seller_s.seller_id}")]:
        web.go(path)
        width = web.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name} scrolls sideways on a phone ({width}px)"
        web.shot(f"owner-{name}-narrow-{lang}")
        j.no_english()
    web.go(f"/brands/{brand}/grants/")
    expect(web.page.locator("tr.highlight")).to_have_count(1)  # the grant ending in 5 days
    web.go(f"/brands/{brand}/approvals/")
    expect(web.page.locator(f"#request-{req.pk}.highlight")).to_be_visible()  # 16 days old: overdue
    assert web.console_errors == []
