"""In a real browser: a newcomer signs up, switches to Chinese with the language menu (the
choice survives logging out and in), and the pages load with no script or policy error."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_up_switch_language_and_come_back(web):
    page = web.page
    web.go("/accounts/signup/")
    web.shot("shell-signup-en")
    page.fill("input[name=username]", "lin")
    page.fill("input[name=email]", "lin@example.com")
    page.fill("input[name=password1]", "Tea-garden-passphrase-42")
    page.fill("input[name=password2]", "Tea-garden-passphrase-42")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(web.url("/"))
    assert page.get_by_role("heading", name="Welcome, lin").is_visible()
    assert page.get_by_role("link", name="Register a brand").is_visible()
    web.shot("shell-home-en")

    # The language menu submits itself (static/js/app.js), and the choice is kept in a cookie.
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    assert page.get_by_role("link", name="注册品牌").is_visible()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    web.shot("shell-home-zh-hans")

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(web.url("/accounts/login/"))
    assert page.get_by_role("heading", name="登录").is_visible()
    web.login("lin", "Tea-garden-passphrase-42")
    assert page.get_by_role("heading", name="欢迎，lin").is_visible()
    assert web.console_errors == []


def test_narrow_screen_keeps_the_navigation_usable(web, world):
    web.page.set_viewport_size({"width": 390, "height": 844})
    web.login(world.partner_s)
    assert web.page.get_by_role("link", name="Partner", exact=True).is_visible()
    assert web.page.get_by_role("button", name="Log out").is_visible()
    width = web.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    web.shot("shell-partner-narrow-en")
    assert web.console_errors == []
