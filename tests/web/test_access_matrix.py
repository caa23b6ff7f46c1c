"""Nobody sees another brand's or seller's pages: every page of the web app, found by walking the
URL configuration (so a page added later is covered without editing this file), is asked for by
each role that must not see it.

* brand pages (``brands:`` with a brand id, ``grants:``) of brand A: owner of brand B, the
  partners, a newcomer → 404; anonymous → the login page;
* partner pages about seller S: the partner of seller T, a newcomer, brand owners → 404 (or the
  page of their own sellers for pages that take no seller); anonymous → login;
* ops pages: everyone but ops → 403; anonymous → login.
"""
from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

NAMESPACES = ("brands", "grants", "partner", "ops")


def _patterns(resolver=None, namespace=None):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and namespace in NAMESPACES and entry.name:
            yield namespace, entry


PAGES = [(ns, p.name) for ns, p in _patterns()]


def test_the_web_app_has_pages_in_every_area():
    assert {ns for ns, _ in PAGES} == set(NAMESPACES), PAGES


def _url(namespace: str, name: str, world) -> str:
    from django.urls.exceptions import NoReverseMatch

    for candidate in (
        {}, {"brand_id": world.brand_a.pk}, {"seller_id": world.seller_s.seller_id},
        {"brand_id": world.brand_a.pk, "seller_id": world.seller_s.seller_id},
        {"brand_id": world.brand_a.pk, "grant_id": world.grant_s.pk},
        {"brand_id": world.brand_a.pk, "asin": world.asin_a1.asin},
        {"run_id": uuid.uuid4()},
    ):
        try:
            return reverse(f"{namespace}:{name}", kwargs=candidate)
        except NoReverseMatch:
            continue
    pytest.fail(f"{namespace}:{name} takes parameters this test does not know: map them in _url()")


def _about_brand_a(namespace: str, url: str, world) -> bool:
    return namespace == "grants" or url.startswith(f"/brands/{world.brand_a.pk}/")


@pytest.mark.parametrize(("namespace", "name"), PAGES, ids=[f"{ns}:{n}" for ns, n in PAGES])
def test_anonymous_is_sent_to_login(client, world, namespace, name):
    url = _url(namespace, name, world)
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    assert response.status_code == 302, url
    assert response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize(("namespace", "name"), PAGES, ids=[f"{ns}:{n}" for ns, n in PAGES])
@pytest.mark.parametrize("outsider", ["owner_b", "partner_t", "newcomer"])
def test_outsiders_never_see_brand_a_or_seller_s(client_for, world, namespace, name, outsider):
    url = _url(namespace, name, world)
    client = client_for(outsider)
    response = client.get(url)
    if response.status_code == 405:  # an action page: the POST must be refused just the same
        response = client.post(url, {})
    body = response.content.decode(errors="replace")
    if namespace == "ops":
        assert response.status_code == 403, url
    elif _about_brand_a(namespace, url, world) or world.seller_s.seller_id in url:
        assert response.status_code == 404, (url, response.status_code)
    else:
        assert response.status_code in (200, 302), (url, response.status_code)
    # Whatever the status, nothing of brand A's catalog or seller S leaks into the page (but for
    # the address the outsider typed, which the language switch echoes back).
    body = body.replace(url, "")
    for secret in ("Alpha", world.asin_a1.asin, world.seller_s.seller_id, "Shop S"):
        assert secret not in body, (url, secret)


@pytest.mark.parametrize(("namespace", "name"), [p for p in PAGES if p[0] == "ops"],
                         ids=[f"{ns}:{n}" for ns, n in PAGES if ns == "ops"])
@pytest.mark.parametrize("member", ["owner_a", "partner_s"])
def test_ops_pages_refuse_brand_members_and_partners(client_for, world, namespace, name, member):
    client = client_for(member)
    url = _url(namespace, name, world)
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    assert response.status_code == 403, url
