"""In a real browser, in English and in Chinese: a brand owner goes from the dashboard to the ASIN
catalog (the filters update the table in place), imports a small pasted CSV, then a large one
that runs as a background job, looks at the members and changes a setting — with no script or
Content-Security-Policy error on the way."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from brands.models import Asin, Brand
from tests.factories import AsinFactory

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "en": {"dashboard": "Dashboard", "catalog": "ASIN catalog", "finished": "Import finished.", "members": "Members",
           "settings": "Brand settings", "saved": "Settings saved.", "brand_word": "Brand", "import": "Import",
           "save": "Save", "dual": "Dual control", "job": "Import job", "search": "Search"},
    "zh-hans": {"dashboard": "概览", "catalog": "ASIN 目录", "finished": "导入完成。", "members": "成员",
                "settings": "品牌设置", "saved": "设置已保存。", "brand_word": "品牌", "import": "导入",
                "save": "保存", "dual": "双人审批", "job": "导入任务", "search": "搜索"},
}


SMALL_CSV = "asin,gcid,title,category,marketplaces\nB0JOURNEY1,GC00000000000042,Walnut tray,Home & Kitchen,US;DE\n"


def _large_csv(n: int = 1200) -> str:
    return "asin,gcid,title,category,marketplaces\n" + "".join(f"B2{i:08d},,Bulk {i},Home,US\n" for i in range(n))


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_owner_journey_through_the_brand_pages(web, world, lang):
    words = WORDS[lang]
    for n in range(8):
        AsinFactory(brand=world.brand_a, asin=f"B0TEAPOT{n:02d}", title=f"Porcelain teapot {n}", marketplaces=["JP"])
    page = web.page
    if lang != "en":
        web.language(lang)
    web.login(world.owner_a)
    brand = world.brand_a.pk

    # dashboard
    web.go(f"/brands/{brand}/")
    expect(page.get_by_role("heading", name="Alpha", exact=True)).to_be_visible()
    expect(page.locator("nav.subnav a[aria-current=page]")).to_have_text(words["dashboard"])
    expect(page.locator("svg.chart polyline.series-a")).to_have_count(1)
    if lang != "en":
        assert "品牌" in page.content() or "卖家" in page.content()
        assert "Sellers used" not in page.locator("main").inner_text()
    web.shot(f"owner-dashboard-{lang}")

    # catalog: typing filters the table in place (htmx), and the URL follows
    page.locator("nav.subnav a[href$='/asins/']").click()
    expect(page.get_by_role("heading", name=words["catalog"])).to_be_visible()
    page.get_by_label(words["search"]).fill("teapot")
    expect(page.locator("#asin-results tbody tr")).to_have_count(9)  # 8 porcelain teapots + the blue teapot
    expect(page).to_have_url(re.compile(r"q=teapot"))
    page.select_option("#id_marketplace", "JP")
    expect(page.locator("#asin-results tbody tr")).to_have_count(8)
    expect(page).to_have_url(re.compile(r"marketplace=JP"))
    web.shot(f"owner-catalog-filtered-{lang}")
    page.locator("#asin-results th a").first.click()  # sort by ASIN, descending (a boosted link)
    expect(page.locator("#asin-results tbody tr").first).to_contain_text("B0TEAPOT07")
    expect(page.locator("#id_q")).to_have_value("teapot")

    # import a small pasted CSV
    web.go(f"/brands/{brand}/asins/import/")
    page.locator("#id_csv_text").fill(SMALL_CSV)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".alert.success")).to_contain_text(words["finished"])
    assert Asin.objects.filter(brand=world.brand_a, asin="B0JOURNEY1").exists()
    web.shot(f"owner-import-small-{lang}")

    # a bad line: listed with its line number, nothing written
    page.locator("#id_csv_text").fill(SMALL_CSV.replace("B0JOURNEY1", "B0JOURNEY2") + "bad,,x,,US;XX\n")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("table.import-errors tbody tr")).to_have_count(2)  # every error of the line
    expect(page.locator("table.import-errors")).to_contain_text("INVALID_ASIN")
    expect(page.locator("table.import-errors")).to_contain_text("INVALID_MARKETPLACE")
    assert not Asin.objects.filter(asin="B0JOURNEY2").exists()
    web.shot(f"owner-import-errors-{lang}")

    # a large import runs as a job (eagerly here: it is done when the page shows)
    page.locator("#id_csv_text").evaluate("(area, text) => { area.value = text; }", _large_csv())  # typing 1,200 lines is slow
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"job="))
    expect(page.locator("#import-job")).to_contain_text(words["finished"])
    expect(page.locator("#import-job progress")).to_have_attribute("value", "1")
    assert Asin.objects.filter(brand=world.brand_a, asin__startswith="B2").count() == 1200
    web.shot(f"owner-import-job-{lang}")

    # members
    page.locator("nav.subnav").get_by_role("link", name=words["members"]).click()
    expect(page.get_by_role("heading", name=words["members"], exact=True)).to_be_visible()
    expect(page.locator("main table")).to_contain_text("manager_a")
    web.shot(f"owner-members-{lang}")

    # settings: turn dual control on
    page.locator("nav.subnav a[href$='/settings/']").click()
    expect(page.get_by_role("heading", name=words["settings"])).to_be_visible()
    page.get_by_label(words["dual"]).check()
    page.get_by_role("button", name=words["save"]).click()
    expect(page.locator(".messages")).to_contain_text(words["saved"])
    assert Brand.objects.get(pk=brand).dual_control is True
    web.shot(f"owner-settings-{lang}")

    if lang != "en":
        text = page.locator("main").inner_text() + page.locator("nav.subnav").inner_text()
        for english in ("Brand settings", "Dashboard", "Audit trail", "Registry number"):
            assert english not in text
    # The rejected import answers 400 (Chrome logs every 4xx page it loads); nothing else may appear:
    # no Content-Security-Policy violation, no script error, no failed static file.
    rejected = [e for e in web.console_errors if "status of 400 (Bad Request)" in e]
    assert len(rejected) == 1 and web.console_errors == rejected


def test_a_viewer_on_a_phone_reads_the_dashboard_without_sideways_scrolling(web, world):
    web.page.set_viewport_size({"width": 390, "height": 844})
    web.login(world.viewer_a)
    web.go(f"/brands/{world.brand_a.pk}/")
    expect(web.page.get_by_role("heading", name="Alpha", exact=True)).to_be_visible()
    assert web.page.get_by_role("button", name="Sync now").count() == 0
    width = web.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard scrolls sideways on a phone ({width}px)"
    web.shot("viewer-dashboard-narrow-en")
    web.go(f"/brands/{world.brand_a.pk}/asins/")
    width = web.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the catalog scrolls sideways on a phone ({width}px)"
    web.shot("viewer-catalog-narrow-en")
    assert web.console_errors == []
