"""Fixtures for the web app's tests.

Two kinds of test live here:

* page tests with Django's test client (``client``): access rules, forms, query counts;
* journeys in a real browser: Playwright driving Debian's Chromium (``/usr/bin/chromium``)
  against ``live_server``. They are skipped, saying why, where Chromium is not installed
  (``.ci/run`` installs it).

``web`` wraps a Playwright page: ``web.login(user)``, ``web.go("/path")``, ``web.shot("name")``
(a full-page screenshot under ``test-artifacts/screenshots/``, ignored by git), and
``web.language("zh-hans")`` to browse in Chinese from the next page on.

The world of the API tests (``world``: brands A and B, sellers S and T, one user per role) is
shared here.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.api.conftest import PASSWORD, hold_grant, world  # noqa: F401  (shared fixtures)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + sync Playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
HAVE_CHROMIUM = shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "page" in getattr(item, "fixturenames", ()) and not HAVE_CHROMIUM:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-US"}


class Web:
    """A browser session against the live server."""

    def __init__(self, page, live_server, request):
        self.page = page
        self.base = live_server.url
        self._test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.set_default_timeout(15_000)
        self.console_errors: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        # A failed sub-resource (a missing stylesheet, script or icon) counts as an error too.
        page.on("response", lambda response: response.status >= 400 and response.request.resource_type != "document"
                and self.console_errors.append(f"{response.status} {response.url}"))

    def url(self, path: str) -> str:
        return self.base + path

    def go(self, path: str):
        return self.page.goto(self.url(path))

    def login(self, user, password: str = PASSWORD) -> None:
        username = user if isinstance(user, str) else user.username
        self.go("/accounts/login/")
        self.page.locator("input[name=username]").fill(username)
        self.page.locator("input[name=password]").fill(password)
        self.page.locator("main form button[type=submit]").click()
        self.page.wait_for_load_state()

    def logout(self) -> None:
        self.page.context.clear_cookies()

    def language(self, code: str) -> None:
        """Browse in ``code`` from the next page on (the cookie the language switch sets)."""
        host = self.base.split("//", 1)[1].split(":")[0]
        self.page.context.add_cookies([{"name": "django_language", "value": code, "domain": host, "path": "/"}])

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def web(page, live_server, request) -> Web:
    return Web(page, live_server, request)


@pytest.fixture
def client_for(client, world):
    """``client_for("owner_a")``: Django's test client logged in as a world user (or anonymous)."""

    def login(role: str | None):
        client.logout()
        if role and role != "anonymous":
            client.force_login(getattr(world, role))
        return client

    return login
