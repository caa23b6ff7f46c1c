"""The partner's journey in a real browser, in English and in Chinese: a newcomer connects a Seller
Central account through the fake SP-API's consent page (which sends the browser back to the live
server's /spapi/callback), sees the seller's page with its health score and breakdown, asks the
diagnosis why an ASIN cannot be sold (every failing rule in words, rendered in place by htmx),
requests the authorization, and finds the request and the authorizations on their pages.

A live server needs a transactional test; its clean-up (a flush) is refused by SQLite's
append-only audit triggers once an event was written, so the journey runs on PostgreSQL (CI)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from authorizations.models import AuthorizationRequest, GrantStatus
from sellers.models import Seller
from tests.api.conftest import hold_grant
from tests.web.partner_support import INFRINGER

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "en": {"empty": "connect your Seller Central account", "sellers": "My sellers", "health": "Late shipment rate",
           "connected": "is connected", "below": "Below minimum", "verdict": "may not sell B0ALPHA001 in US",
           "fails": "rules fail", "fail": "Fail", "request": "Request this authorization",
           "sent": "Request sent to Alpha", "waiting": "Waiting for the brand", "mine": "My authorizations",
           "ends": "ends in", "absent": "我的卖家账户", "refused": "The seller account was not connected"},
    "zh-hans": {"empty": "关联您的卖家平台账户", "sellers": "我的卖家账户", "health": "迟发率",
                "connected": "已关联", "below": "低于最低要求", "verdict": "不能在 US 站点销售 B0ALPHA001",
                "fails": "项规则未通过", "fail": "未通过", "request": "申请此授权",
                "sent": "已向 Alpha 提交", "waiting": "等待品牌方处理", "mine": "我的授权",
                "ends": "后到期", "absent": "My sellers", "refused": "卖家账户未关联"},
}


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_a_partner_connects_diagnoses_and_requests(web, world, marketplaces, fake_spapi_live, settings, lang):
    words = WORDS[lang]
    settings.SITE_URL = web.base  # the consent page sends the browser back to this live server
    fake_spapi_live.set_consent_seller(INFRINGER)  # health 65, 2 IP complaints: fails the health rules
    page = web.page
    if lang != "en":
        web.language(lang)
    web.login("newcomer")

    # My sellers: nothing yet, one way in
    web.go("/partner/sellers/")
    body = page.locator("main").inner_text()
    assert words["empty"] in body and words["absent"] not in page.content()
    web.shot(f"partner-sellers-empty-{lang}")

    # Connect: Seller Central's (fake) consent page sends the browser back; the first sync runs at once
    page.locator('main form[action="/partner/sellers/connect/"] button').click()
    page.wait_for_url(re.compile(rf"/partner/sellers/{INFRINGER}/$"))
    body = page.locator("main").inner_text()
    assert words["connected"] in body
    assert "65" in body and words["below"] in body and words["health"] in body and "−15" in body
    web.shot(f"partner-seller-{lang}")

    # Given state for the authorizations page: the new seller holds one grant, ending soon
    seller = Seller.objects.get(seller_id=INFRINGER)
    hold_grant(world.asin_a2, seller, status=GrantStatus.ACTIVE, valid_until=timezone.now() + dt.timedelta(days=6))

    web.go("/partner/sellers/")
    assert INFRINGER in page.locator("main").inner_text()
    web.shot(f"partner-sellers-{lang}")

    # Diagnosis: the result renders in place (htmx) and the address follows it
    web.go("/partner/diagnosis/")
    page.fill("input[name=asin]", "b0alpha001")
    page.select_option("select[name=marketplace]", "US")
    page.locator("#diagnosis form button[type=submit]").click()
    page.wait_for_selector("#verdict")
    assert "asin=b0alpha001" in page.url.lower()
    verdict = page.locator("#verdict").inner_text()
    assert words["verdict"] in verdict and words["fails"] in verdict
    failed_rows = page.locator("table.rules tr.failed").all_inner_texts()
    assert any("SELLER_HEALTH_BELOW_MIN" in row and words["fail"] in row for row in failed_rows)
    assert any("SELLER_HAS_INFRINGEMENTS" in row for row in failed_rows)
    web.shot(f"partner-diagnosis-{lang}")

    # Request it: the form comes prefilled; the brand search works as one types
    page.get_by_role("link", name=words["request"]).click()
    page.wait_for_url(re.compile(r"/partner/requests/new/"))
    assert page.locator("textarea[name=asins]").input_value().strip() == "B0ALPHA001"
    search = page.locator("input[name=brand_q]")
    search.fill("Bra")
    page.wait_for_selector("#brand-choices label:has-text('Bravo')")
    assert page.locator("#brand-choices input[type=radio]:checked").count() == 1  # Alpha stays chosen
    search.fill("Alpha")
    page.wait_for_function("() => !document.querySelector('#brand-choices').innerText.includes('Bravo')")
    page.fill("textarea[name=message]", "Authorized distributor in the US since 2019.")
    web.shot(f"partner-request-new-{lang}")
    page.locator("main form[method=post] button.primary").click()
    page.wait_for_url(re.compile(r"/partner/requests/$"))
    body = page.locator("main").inner_text()
    assert words["sent"] in body and words["waiting"] in body and "B0ALPHA001" in body
    web.shot(f"partner-requests-{lang}")
    req = AuthorizationRequest.objects.get()
    assert (req.seller.seller_id, req.brand.name, req.asins, req.marketplaces) == (INFRINGER, "Alpha", ["B0ALPHA001"], ["US"])

    # My authorizations: the grant ending soon is highlighted
    web.go("/partner/authorizations/")
    assert page.locator("tr.highlight").count() == 1
    body = page.locator("main").inner_text()
    assert words["mine"] in body and "B0ALPHA002" in body and words["ends"] in body
    web.shot(f"partner-authorizations-{lang}")

    # The filters swap the table in place
    page.select_option("select[name=status]", "REVOKED")
    page.wait_for_function("() => !document.querySelector('#grant-results').innerText.includes('B0ALPHA002')")
    assert "status=REVOKED" in page.url

    # A phone: the tables stack, nothing overflows the screen
    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in [(f"/partner/sellers/{INFRINGER}/", "seller"), ("/partner/authorizations/", "authorizations")]:
        web.go(path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        web.shot(f"partner-{name}-narrow-{lang}")

    assert web.console_errors == []

    # A refused callback (a forged or expired state) is a page in words, not JSON. (Its 400 status
    # is logged by the browser's console, hence after the check above.)
    page.set_viewport_size({"width": 1280, "height": 900})
    web.go(f"/spapi/callback?state=forged&selling_partner_id={INFRINGER}&spapi_oauth_code=ANx")
    assert words["refused"] in page.locator("h1").inner_text()
    assert "INVALID_STATE" in page.locator("main").inner_text()
    web.shot(f"partner-connect-failed-{lang}")
