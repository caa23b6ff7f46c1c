"""In Chromium, under the real header: the API docs (Swagger UI) start and show the API, and
neither they nor the login page break a rule of the Content-Security-Policy."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

# Collects the browser's own reports of blocked content (injected by the test driver, not the page).
LISTEN = """window.__violations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline")));"""


@pytest.fixture
def watched(page):
    page.add_init_script(LISTEN)
    console: list[str] = []
    page.on("console", lambda message: message.type == "error" and console.append(message.text))
    return page, console


def test_the_api_docs_start_under_the_policy(watched, live_server):
    page, console = watched
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock", timeout=20_000)  # Swagger UI fetched the schema and drew it
    assert page.locator(".opblock").count() > 10
    assert page.evaluate("window.__violations") == []
    assert not [text for text in console if "Content Security Policy" in text]


def test_the_login_page_breaks_no_rule(watched, live_server):
    page, console = watched
    page.goto(f"{live_server.url}/accounts/login/")
    page.wait_for_load_state("load")
    assert page.evaluate("window.__violations") == []
    assert console == []
