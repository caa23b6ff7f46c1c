"""The shell every user meets: sign-up, log in / out, the home that sends each role to its pages,
the language switch, password change and the error pages."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.api.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_anonymous_home_goes_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


@pytest.mark.parametrize(("role", "target"), [
    ("owner_a", "/brands/{brand_a}/"),   # one brand: straight to its dashboard
    ("partner_s", "/partner/sellers/"),
    ("ops", "/ops/audit/"),
])
def test_home_sends_each_role_to_its_pages(client_for, world, role, target):
    response = client_for(role).get("/")
    assert response.status_code == 302
    assert response["Location"] == target.format(brand_a=world.brand_a.pk)


def test_member_of_several_brands_lands_on_the_brand_list(client_for, world):
    from tests.factories import BrandMembershipFactory

    BrandMembershipFactory(brand=world.brand_b, user=world.owner_a, role="viewer")
    response = client_for("owner_a").get("/")
    assert response["Location"] == reverse("brands:list")


def test_newcomer_home_offers_both_ways_in(client_for):
    response = client_for("newcomer").get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "You have no brands yet" in body
    assert reverse("brands:create") in body
    assert "connect your Seller Central account" in body


def test_signup_creates_the_account_and_logs_in(client):
    response = client.post(reverse("signup"), {
        "username": "newowner", "email": "new@example.com",
        "password1": "a-Long-enough-passphrase-7", "password2": "a-Long-enough-passphrase-7",
    })
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newowner")
    assert user.email == "new@example.com"
    assert client.get("/").status_code == 200  # logged in: the newcomer home


def test_signup_refuses_a_taken_username_in_any_case_and_a_weak_password(client, world):
    response = client.post(reverse("signup"), {
        "username": "OWNER_A", "email": "x@example.com", "password1": "password", "password2": "password",
    })
    assert response.status_code == 200
    form = response.context["form"]
    assert "username" in form.errors and "password2" in form.errors
    assert not get_user_model().objects.filter(username="OWNER_A").exists()


def test_login_and_logout(client, world):
    response = client.post(reverse("login"), {"username": "partner_s", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/partner/sellers/").status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/partner/sellers/").status_code == 302


def test_wrong_password_is_explained(client, world):
    response = client.post(reverse("login"), {"username": "partner_s", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_language_switch_is_remembered(client_for):
    client = client_for("newcomer")
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "zh-hans"
    assert response.cookies["django_language"]["max-age"] >= 30 * 24 * 3600
    body = client.get("/").content.decode()
    assert "注册品牌" in body and "Register a brand" not in body
    assert '<html lang="zh-hans">' in body


def test_password_change(client_for, world):
    client = client_for("owner_a")
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "Another-long-passphrase-9",
        "new_password2": "Another-long-passphrase-9",
    })
    assert response.status_code == 302
    world.owner_a.refresh_from_db()
    assert world.owner_a.check_password("Another-long-passphrase-9")


def test_unknown_page_is_an_html_404_and_api_paths_keep_json(client_for):
    client = client_for("newcomer")
    page = client.get("/no/such/page/")
    assert page.status_code == 404 and "text/html" in page["Content-Type"]
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["errors"][0]["code"] == "NOT_FOUND"


def test_a_service_refusal_becomes_an_explained_page_not_a_500(client_for, world):
    # Ops staff are read-only: registering a brand is refused by the service, in words.
    response = client_for("ops").post(reverse("brands:create"), {"name": "X", "registry_number": "X-1"})
    assert response.status_code == 400
    assert "read-only" in response.content.decode()
