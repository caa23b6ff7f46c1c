"""In a real browser, in English and in Chinese: ops staff log in, filter the audit log by brand
and action (the table updates in place and the address follows), page older and back, open an
event's before/after, export the filtered events as CSV, verify the hash chains now, and watch
the sync runs — a running one's progress bar moves on by itself until it finishes."""
from __future__ import annotations

import csv
import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from audit.export import EXPORT_COLUMNS
from audit.models import AuditEvent
from spapi_client.models import SyncKind, SyncStatus
from spapi_client.runs import run_finish, run_progress
from tests.web import ops_helpers
from tests.web.ops_helpers import make_run

audit_log, fresh_cache = ops_helpers.audit_log, ops_helpers.fresh_cache  # fixtures

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "en": SimpleNamespace(
        audit="Audit log", brand_all="All brands", export="Export CSV", older="Older", newer="Newer",
        action_label="Authorization revoked", change="1 change", verification="Chain verification",
        verify="Verify now", intact="Intact", verified_msg="The audit log verifies", runs="Sync runs",
        last_activity="Last worker activity", failed="Failed", succeeded="Succeeded", throttled="Throttled (HTTP 429)",
        running="Running", updates="Updates every 2 seconds.", english_only=None,
    ),
    "zh-hans": SimpleNamespace(
        audit="审计日志", brand_all="全部品牌", export="导出 CSV", older="较早", newer="较新",
        action_label="授权已撤销", change="1 处变更", verification="哈希链校验",
        verify="立即校验", intact="完好", verified_msg="审计日志校验通过", runs="同步任务",
        last_activity="worker 最近活动", failed="失败", succeeded="成功", throttled="被限流（HTTP 429）",
        running="运行中", updates="每 2 秒更新一次。",
        english_only=["Audit log", "Export CSV", "Verify now", "Sync runs", "Time (UTC)", "Last worker activity"],
    ),
}


def assert_language(page, words) -> None:
    if words.english_only:
        text = page.locator("body").inner_text()
        for english in words.english_only:
            assert english not in text, english


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_ops_journey(web, world, audit_log, lang):
    w = WORDS[lang]
    page = web.page
    failed = make_run(SyncKind.SELLER, SyncStatus.FAILURE, seller=world.seller_s, minutes_ago=5,
                      counts={"calls": 12, "throttled": 7, "retries": 4},
                      error="SP-API getMarketplaceParticipations: 429 QuotaExceeded after 5 attempts")
    make_run(SyncKind.SELLER_HEALTH, SyncStatus.SUCCESS, seller=world.seller_t, minutes_ago=8,
             counts={"calls": 3, "throttled": 0}, result={"health_score": 97})
    running = make_run(SyncKind.BRAND, SyncStatus.RUNNING, brand=world.brand_a, minutes_ago=1, done=3, total=10,
                       counts={"calls": 6}, requested_by=world.owner_a)
    if lang != "en":
        web.language(lang)

    # Ops staff land on the audit log.
    web.login("ops")
    page.wait_for_url(web.url("/ops/audit/"))
    expect(page.get_by_role("heading", name=w.audit, exact=True)).to_be_visible()
    assert page.locator("table.audit-events > tbody > tr").count() == 50
    assert_language(page, w)
    web.shot(f"ops-audit-{lang}")

    # Filter by brand, then action: the table changes in place (htmx) and the address follows.
    page.select_option("#id_brand", label="Bravo")
    page.wait_for_url(re.compile(rf"brand={world.brand_b.pk}"))
    page.select_option("#id_action", value="grant.revoked")
    page.wait_for_url(re.compile(r"action=grant\.revoked"))
    rows = page.locator("table.audit-events > tbody > tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Bravo")
    expect(rows.first).to_contain_text(w.action_label)
    assert page.locator("table.audit-events").inner_text().count("Alpha") == 0

    # Page to the older events (the 51st) and back.
    page.get_by_role("link", name=re.compile(w.older)).click()
    page.wait_for_url(re.compile(r"before=\d+"))
    expect(rows).to_have_count(1)
    page.get_by_role("link", name=re.compile(w.newer)).first.click()
    page.wait_for_url(re.compile(r"after=\d+"))
    expect(rows).to_have_count(50)

    # An event's before/after opens in place, without script.
    first = rows.first
    first.locator("details summary").click()
    expect(first.locator("table.diff-table")).to_be_visible()
    expect(first.locator("tr.changed")).to_contain_text("REVOKED")
    assert w.change in first.inner_text()
    web.shot(f"ops-audit-filtered-{lang}")

    # Export what the filters select: every event, not only one page.
    with page.expect_download() as download:
        page.get_by_role("link", name=w.export).click()
    path = download.value.path()
    with open(path, newline="", encoding="utf-8") as handle:
        exported = list(csv.reader(handle))
    assert tuple(exported[0]) == EXPORT_COLUMNS
    assert len(exported) == 1 + 51
    brand, action = EXPORT_COLUMNS.index("brand_id"), EXPORT_COLUMNS.index("action")
    assert {(r[brand], r[action]) for r in exported[1:]} == {(str(world.brand_b.pk), "grant.revoked")}
    assert download.value.suggested_filename.startswith("audit-events-")

    # Verify the chains now.
    page.locator(".subnav").get_by_role("link", name=w.verification).click()
    page.wait_for_url(web.url("/ops/audit/verify/"))
    web.shot(f"ops-verify-empty-{lang}")
    page.get_by_role("button", name=w.verify).click()
    page.wait_for_url(web.url("/ops/audit/verify/"))
    expect(page.locator(".messages")).to_contain_text(w.verified_msg)
    expect(page.locator(".verify-result .badge")).to_have_text(w.intact)
    expect(page.locator(".verify-result")).to_contain_text(f"{AuditEvent.objects.count()}")
    assert_language(page, w)
    web.shot(f"ops-verify-{lang}")

    # Sync runs: the list, a failed run's throttling, and a running run that finishes while watched.
    page.locator(".subnav").get_by_role("link", name=w.runs).click()
    page.wait_for_url(web.url("/ops/sync-runs/"))
    expect(page.locator("main")).to_contain_text(w.last_activity)
    expect(page.locator("table.sync-runs > tbody > tr")).to_have_count(3)
    assert_language(page, w)
    web.shot(f"ops-sync-runs-{lang}")
    page.select_option("#id_status", value="FAILURE")
    page.wait_for_url(re.compile(r"status=FAILURE"))
    expect(page.locator("table.sync-runs > tbody > tr")).to_have_count(1)
    page.locator("table.sync-runs > tbody > tr a").first.click()
    page.wait_for_url(web.url(f"/ops/sync-runs/{failed.pk}/"))
    expect(page.locator("#run-status")).to_contain_text(w.throttled)
    expect(page.locator("#run-status .badge").first).to_have_text(w.failed)
    web.shot(f"ops-sync-run-failed-{lang}")

    web.go(f"/ops/sync-runs/{running.pk}/")
    expect(page.locator("#run-status")).to_contain_text(w.updates)
    assert page.locator("#run-status progress").get_attribute("value") == "3"
    web.shot(f"ops-sync-run-running-{lang}")
    run_progress(running, done=7)
    expect(page.locator("#run-status progress")).to_have_attribute("value", "7", timeout=10_000)
    run_finish(running, result={"verified": 10}, counts={"calls": 10})
    expect(page.locator("#run-status .badge").first).to_have_text(w.succeeded, timeout=10_000)
    expect(page.locator("#run-status")).not_to_contain_text(w.updates)
    web.shot(f"ops-sync-run-finished-{lang}")

    assert web.console_errors == []
