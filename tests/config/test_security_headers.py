"""The Content-Security-Policy (django-csp) is the same in every environment, pages pass it, and
the API docs page widens it by nonce only."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from .production import PRODUCTION_ENV, manage

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'", "https://sellercentral.amazon.com"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}


def policy_of(response) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in response["Content-Security-Policy"].split(";")]
    return {name: values for name, *values in directives}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str, name: str) -> list[dict[str, str | None]]:
    parser = _Tags()
    parser.feed(html)
    return [attrs for tag, attrs in parser.tags if tag == name]


@pytest.mark.django_db
def test_pages_carry_the_policy(settings):
    # given the consent page is Amazon's (no SPAPI_CONSENT_URL)
    settings.SPAPI_CONSENT_URL = ""
    # when a page is served
    response = Client().get("/accounts/login/")
    # then it carries exactly the policy, and no inline script or style of its own
    assert response.status_code == 200
    assert policy_of(response) == POLICY
    html = response.content.decode()
    assert all(script.get("src") for script in tags(html, "script"))
    assert not tags(html, "style") and " style=" not in html


@pytest.mark.django_db
def test_form_action_allows_the_consent_page_named_by_the_settings(settings):
    # given the consent page is the fake server's (as the demo and tests set it, at run time)
    settings.SPAPI_CONSENT_URL = "http://127.0.0.1:8100/apps/authorize/consent"
    # when
    response = Client().get("/accounts/login/")
    # then the seller-connect form may be redirected there, and nowhere else
    assert policy_of(response)["form-action"] == ["'self'", "http://127.0.0.1:8100"]


def test_production_uses_the_same_policy_with_extra_form_targets():
    # given production settings naming another region's Seller Central too
    env = {**PRODUCTION_ENV, "CSP_FORM_ACTION_EXTRA": "https://sellercentral-europe.amazon.com"}
    # when the policy is read
    result = manage("shell", "-c", "from django.conf import settings as s; "
                    "print(sorted(s.CONTENT_SECURITY_POLICY['DIRECTIVES'].items()))", env=env)
    # then it is the base policy (the middleware adds the consent page's origin), plus the extra target
    assert result.returncode == 0, result.stderr
    expected = {**POLICY, "form-action": ["'self'", "https://sellercentral-europe.amazon.com"]}
    assert result.stdout.strip().splitlines()[-1] == str(sorted(expected.items()))


@pytest.mark.django_db
def test_api_docs_render_under_the_policy_by_nonce():
    # when
    response = Client().get("/api/docs/")

    # then the policy allows one nonce beyond 'self' for scripts and styles
    assert response.status_code == 200
    policy = policy_of(response)
    [nonce] = set(re.findall(r"'nonce-([^']+)'", " ".join(policy["script-src"] + policy["style-src"])))
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert {k: v for k, v in policy.items() if k not in {"script-src", "style-src"}} == {
        k: v for k, v in POLICY.items() if k not in {"script-src", "style-src"}}
    # and every script is a local file or carries the nonce; so does the inline style
    html = response.content.decode()
    scripts = tags(html, "script")
    assert [s["src"] for s in scripts if s.get("src")] and all(
        (s.get("src") or "").startswith("/static/") or s.get("nonce") == nonce for s in scripts)
    assert [s for s in scripts if s.get("nonce") == nonce]  # the start-up script is inline, by nonce
    assert tags(html, "style") == [{"nonce": nonce}]
    assert "SwaggerUIBundle" in html


@pytest.mark.django_db
def test_every_response_gets_a_new_nonce():
    client = Client()
    first, second = (policy_of(client.get("/api/docs/"))["script-src"][1] for _ in range(2))
    assert first != second
