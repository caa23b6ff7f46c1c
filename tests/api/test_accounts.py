"""Accounts, marketplaces, health and the API's own description (API.md "Auth", "Marketplaces",
"Health", and the OpenAPI schema and docs)."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.urls import Resolver404, resolve
from rest_framework.authtoken.models import Token

from tests.api.conftest import PASSWORD, ROLES, error_codes

User = get_user_model()
REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
STRONG = "Quiet-Lantern-42"

SUPPORTED = {"US", "CA", "MX", "UK", "DE", "FR", "IT", "ES", "NL", "SE", "PL", "JP", "AU"}


def sign_up(**overrides) -> dict:
    return {"username": "zoe", "password": STRONG, "email": "zoe@example.com", **overrides}


# -- register -----------------------------------------------------------------------------------

def test_register_creates_a_user_with_no_role(api):
    # given
    anonymous = api(None)

    # when
    response = anonymous.post(REGISTER, sign_up(), format="json")

    # then
    assert response.status_code == 201
    assert response.json() == {"username": "zoe", "email": "zoe@example.com"}
    user = User.objects.get(username="zoe")
    assert user.check_password(STRONG)
    assert not user.is_staff
    assert not user.brand_memberships.exists()
    assert not user.seller_memberships.exists()


def test_a_registered_user_gets_a_token_and_sees_no_roles(api):
    # given
    api(None).post(REGISTER, sign_up(), format="json")

    # when
    token = api(None).post(TOKEN, {"username": "zoe", "password": STRONG}, format="json").json()["token"]
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION="Token " + token)
    me = client.get("/api/v1/me")

    # then
    assert me.status_code == 200
    assert me.json() == {"username": "zoe", "is_ops": False, "brands": [], "sellers": []}


@pytest.mark.parametrize("password", ["123", "password", "zoe-zoe", "12345678901"])
def test_register_refuses_a_weak_password(api, password):
    # given
    before = User.objects.count()

    # when
    response = api(None).post(REGISTER, sign_up(password=password), format="json")

    # then
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "WEAK_PASSWORD"
    assert error["field"] == "password"
    assert error["detail"]
    assert User.objects.count() == before


@pytest.mark.parametrize("username", ["owner_a", "OWNER_A", "Owner_A"])
def test_register_refuses_a_taken_username_whatever_its_case(api, username):
    # given
    before = User.objects.count()

    # when
    response = api(None).post(REGISTER, sign_up(username=username), format="json")

    # then
    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert (error["code"], error["field"]) == ("USERNAME_TAKEN", "username")
    assert User.objects.count() == before


@pytest.mark.parametrize("missing", ["username", "password", "email"])
def test_register_names_a_missing_field(api, missing):
    # given
    body = sign_up()
    del body[missing]

    # when
    response = api(None).post(REGISTER, body, format="json")

    # then
    assert response.status_code == 400
    assert {"code": "REQUIRED", "field": missing} in [
        {"code": e["code"], "field": e.get("field")} for e in response.json()["errors"]
    ]
    assert not User.objects.filter(username="zoe").exists()


@pytest.mark.parametrize("field, value", [
    ("username", 12345), ("username", ["zoe"]), ("password", 1234567890123), ("password", None),
    ("email", "not-an-email"), ("email", 5), ("username", "zo"), ("username", "zoe smith"),
])
def test_register_refuses_malformed_fields(api, field, value):
    # when
    response = api(None).post(REGISTER, sign_up(**{field: value}), format="json")

    # then
    assert response.status_code == 400
    assert field in [e.get("field") for e in response.json()["errors"]]
    assert not User.objects.filter(email="zoe@example.com").exists()


# -- token --------------------------------------------------------------------------------------

def test_token_for_the_right_password(api, world):
    # when
    response = api(None).post(TOKEN, {"username": "owner_a", "password": PASSWORD}, format="json")

    # then
    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    assert response.json()["token"] == Token.objects.get(user=world.owner_a).key


def test_the_token_authenticates_later_requests(api):
    # given
    token = api(None).post(TOKEN, {"username": "owner_a", "password": PASSWORD}, format="json").json()["token"]
    client = api(None)

    # when
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    # then
    assert client.get("/api/v1/me").json()["username"] == "owner_a"


@pytest.mark.parametrize("username, password", [
    ("owner_a", "wrong-password"), ("nobody", PASSWORD), ("owner_a", ""),
])
def test_token_refuses_wrong_credentials_with_401(api, world, username, password):
    # when
    response = api(None).post(TOKEN, {"username": username, "password": password}, format="json")

    # then
    if password:
        assert response.status_code == 401
        assert error_codes(response) == ["AUTHENTICATION_FAILED"]
    else:  # a blank password is malformed input
        assert response.status_code == 400
    assert not Token.objects.filter(user=world.owner_a).exists()


def test_token_refuses_an_inactive_user(api, world):
    # given
    world.owner_a.is_active = False
    world.owner_a.save(update_fields=["is_active"])

    # when
    response = api(None).post(TOKEN, {"username": "owner_a", "password": PASSWORD}, format="json")

    # then
    assert response.status_code == 401


def test_token_names_missing_fields(api, world):
    # when
    response = api(None).post(TOKEN, {}, format="json")

    # then
    assert response.status_code == 400
    assert sorted((e["code"], e["field"]) for e in response.json()["errors"]) == [
        ("REQUIRED", "password"), ("REQUIRED", "username")]


# -- me -----------------------------------------------------------------------------------------

def test_me_of_a_brand_owner(api, world):
    # when
    response = api("owner_a").get("/api/v1/me")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "username": "owner_a", "is_ops": False,
        "brands": [{"id": world.brand_a.pk, "name": "Alpha", "role": "owner"}], "sellers": [],
    }


@pytest.mark.parametrize("role, brands, sellers, is_ops", [
    ("newcomer", [], [], False),
    ("manager_a", [("Alpha", "manager")], [], False),
    ("viewer_a", [("Alpha", "viewer")], [], False),
    ("owner_b", [("Bravo", "owner")], [], False),
    ("partner_s", [], ["ASELLERS0001"], False),
    ("partner_t", [], ["ASELLERT0001"], False),
    ("ops", [], [], True),
])
def test_me_lists_exactly_the_callers_roles(api, world, role, brands, sellers, is_ops):
    # when
    body = api(role).get("/api/v1/me").json()

    # then
    assert set(body) == {"username", "is_ops", "brands", "sellers"}
    assert body["username"] == role
    assert body["is_ops"] is is_ops
    assert [(b["name"], b["role"]) for b in body["brands"]] == brands
    assert all(set(b) == {"id", "name", "role"} for b in body["brands"])
    assert body["sellers"] == sellers


def test_me_of_someone_with_several_roles(api, world):
    # given: owner_a also connected seller T's account
    from tests.factories import SellerMembershipFactory

    SellerMembershipFactory(user=world.owner_a, seller=world.seller_t)

    # when
    body = api("owner_a").get("/api/v1/me").json()

    # then
    assert body["brands"] == [{"id": world.brand_a.pk, "name": "Alpha", "role": "owner"}]
    assert body["sellers"] == ["ASELLERT0001"]


@pytest.mark.parametrize("credentials", [None, "Token not-a-token", "Bearer abc", "Token "])
def test_me_without_valid_credentials_is_401(api, world, credentials):
    # given
    client = api(None)
    if credentials is not None:
        client.credentials(HTTP_AUTHORIZATION=credentials)

    # when
    response = client.get("/api/v1/me")

    # then
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] in {"NOT_AUTHENTICATED", "AUTHENTICATION_FAILED"}


# -- the account endpoints for every role ---------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/marketplaces"])
def test_read_endpoints_answer_every_user_and_nobody_else(api, world, role, path):
    # when
    response = api(role).get(path)

    # then
    assert response.status_code == (401 if role == "anonymous" else 200)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_marketplaces_are_read_only(api, world, method):
    # when
    response = getattr(api("ops"), method)("/api/v1/marketplaces", {"code": "XX"}, format="json")

    # then
    assert response.status_code == 405
    assert error_codes(response) == ["METHOD_NOT_ALLOWED"]


# -- marketplaces -------------------------------------------------------------------------------

def test_marketplaces_by_code_with_their_amazon_ids(api, world):
    # when
    response = api("newcomer").get("/api/v1/marketplaces")

    # then
    assert response.status_code == 200
    rows = response.json()
    assert isinstance(rows, list)
    assert all(set(row) == {"code", "marketplace_id", "region", "name", "supported"} for row in rows)
    by_code = {row["code"]: row for row in rows}
    assert {code for code, row in by_code.items() if row["supported"]} == SUPPORTED
    assert by_code["US"]["marketplace_id"] == "ATVPDKIKX0DER" and by_code["US"]["region"] == "NA"
    assert by_code["UK"]["marketplace_id"] == "A1F83G8C2ARO7P" and by_code["UK"]["region"] == "EU"
    assert by_code["JP"]["region"] == "FE"
    assert "GB" not in by_code
    assert by_code["BR"]["supported"] is False


# -- health -------------------------------------------------------------------------------------

def test_healthz_needs_no_credentials(api, db):
    # when
    response = api(None).get("/healthz")

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"db", "broker", "version"}
    assert body["db"] == "ok"
    assert body["broker"] == "eager"
    assert body["version"]


def test_healthz_is_not_throttled(api, db, throttle_rates):
    # given: a load balancer probes far more often than anonymous clients may call
    throttle_rates(anon="2/min")

    # when
    statuses = {api(None).get("/healthz").status_code for _ in range(5)}

    # then
    assert statuses == {200}


# -- throttling ---------------------------------------------------------------------------------

def test_token_endpoint_is_throttled_after_the_auth_rate(api, world, throttle_rates):
    # given
    throttle_rates(auth="3/min")
    client = api(None)
    for _ in range(3):
        assert client.post(TOKEN, {"username": "owner_a", "password": "wrong"}, format="json").status_code == 401

    # when: even the right password, once the bucket is empty
    response = client.post(TOKEN, {"username": "owner_a", "password": PASSWORD}, format="json")

    # then
    assert response.status_code == 429
    assert error_codes(response) == ["THROTTLED"]
    assert int(response["Retry-After"]) > 0
    assert not Token.objects.filter(user=world.owner_a).exists()


def test_register_shares_the_auth_throttle(api, world, throttle_rates):
    # given
    throttle_rates(auth="2/min")
    client = api(None)
    client.post(TOKEN, {"username": "owner_a", "password": "wrong"}, format="json")
    client.post(REGISTER, sign_up(username="first"), format="json")

    # when
    response = client.post(REGISTER, sign_up(username="second"), format="json")

    # then
    assert response.status_code == 429
    assert error_codes(response) == ["THROTTLED"]
    assert not User.objects.filter(username="second").exists()


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [REGISTER, TOKEN])
def test_a_body_that_is_not_json_is_invalid_json(api, db, path):
    # given
    before = User.objects.count()

    # when
    response = api(None).generic("POST", path, '{"username": "zoe",', content_type="application/json")

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_JSON"]
    assert User.objects.count() == before


@pytest.mark.parametrize("body", ["[]", '"zoe"', "42", "null"])
@pytest.mark.parametrize("path", [REGISTER, TOKEN])
def test_json_that_is_not_an_object_is_refused(api, db, path, body):
    # when
    response = api(None).generic("POST", path, body, content_type="application/json")

    # then
    assert response.status_code == 400
    assert response.json()["errors"]


def test_a_huge_body_is_413(api, db, settings):
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps(sign_up(email="x" * 20_000))

    # when
    response = api(None).generic("POST", REGISTER, body, content_type="application/json")

    # then
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"]
    assert not User.objects.filter(username="zoe").exists()


def test_a_form_body_is_415(api, db):
    # when
    response = api(None).post(TOKEN, "username=owner_a&password=x", content_type="application/x-www-form-urlencoded")

    # then
    assert response.status_code == 415
    assert error_codes(response) == ["UNSUPPORTED_MEDIA_TYPE"]


# -- OpenAPI schema and docs --------------------------------------------------------------------

# Every endpoint of API.md under /api/v1/ (method, path).
API_MD_ENDPOINTS = [
    ("post", "/api/v1/auth/register"), ("post", "/api/v1/auth/token"), ("get", "/api/v1/me"),
    ("get", "/api/v1/marketplaces"),
    ("post", "/api/v1/brands"), ("get", "/api/v1/brands"), ("get", "/api/v1/brands/{id}"),
    ("patch", "/api/v1/brands/{id}"), ("post", "/api/v1/brands/{id}/members"),
    ("post", "/api/v1/brands/{id}/asins"), ("get", "/api/v1/brands/{id}/asins"),
    ("post", "/api/v1/brands/{id}/sync"), ("get", "/api/v1/jobs/{job_id}"),
    ("post", "/api/v1/sellers/connect"), ("get", "/api/v1/sellers"), ("get", "/api/v1/sellers/{seller_id}"),
    ("patch", "/api/v1/sellers/{seller_id}"), ("post", "/api/v1/sellers/{seller_id}/sync"),
    ("post", "/api/v1/grants"), ("get", "/api/v1/grants"),
    *[("post", f"/api/v1/grants/{{id}}/{verb}") for verb in ("approve", "reject", "revoke", "suspend", "reinstate")],
    ("post", "/api/v1/brands/{id}/sellers/{seller_id}/revoke-all"),
    ("post", "/api/v1/requests"), ("get", "/api/v1/requests"),
    ("post", "/api/v1/requests/{id}/approve"), ("post", "/api/v1/requests/{id}/reject"),
    ("get", "/api/v1/check"), ("post", "/api/v1/check/batch"), ("get", "/api/v1/diagnose"),
    ("get", "/api/v1/grants/changes"), ("get", "/api/v1/brands/{id}/findings"),
    ("get", "/api/v1/audit-events"), ("get", "/api/v1/audit-events/verify"),
]
# The endpoints of these tests' area: they must exist.
OWN_ENDPOINTS = [
    e for e in API_MD_ENDPOINTS
    if re.match(r"/api/v1/(auth|me|marketplaces|audit-events"
                r"|brands(/\{id\}(/members|/asins)?)?$|sellers(/\{seller_id\})?$)", e[1])
]
SAMPLES = {"id": "7", "seller_id": "ASAMPLE00001", "job_id": "0a1b2c3d"}


def _routed(method: str, template: str) -> bool:
    """Whether config/api_urls.py routes this API.md endpoint to a view that takes ``method``
    (not merely a catch-all such as /grants/{id} answering /grants/changes)."""
    sample = re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)], template)
    try:
        match = resolve(sample)
    except Resolver404:
        return False
    placeholders = {SAMPLES[name] for name in re.findall(r"\{(\w+)\}", template)}
    if set(map(str, match.kwargs.values())) != placeholders:
        return False
    actions = getattr(match.func, "actions", None)
    if actions is not None:
        return method in actions
    view_class = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
    return view_class is not None and hasattr(view_class, method)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture
def schema(api, db) -> dict:
    response = api(None).get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_openapi_3(api, db):
    # when
    response = api(None).get("/api/schema/")

    # then
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_schema_describes_every_routed_api_md_endpoint(schema):
    # given
    described = {(method, _shape(path)) for path, operations in schema["paths"].items() for method in operations}
    routed = [(method, path) for method, path in API_MD_ENDPOINTS if _routed(method, path)]

    # then
    assert set(OWN_ENDPOINTS) <= set(routed), "an endpoint of API.md is missing from config/api_urls.py"
    missing = [(method, path) for method, path in routed if (method, _shape(path)) not in described]
    assert missing == []


def test_schema_names_path_parameters_as_api_md_does(schema):
    # then: brands by numeric id, sellers by seller_id (the names integrations see)
    assert "/api/v1/brands/{id}" in schema["paths"]
    assert "/api/v1/sellers/{seller_id}" in schema["paths"]
    assert "/healthz" in schema["paths"]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/api/docs/"])
def test_docs_work_offline(api, db, page):
    # when
    response = api(None).get(page)

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    parser = _Assets()
    parser.feed(html)
    assert parser.urls, "the page loads no assets at all?"
    external = [u for u in parser.urls if re.match(r"^(https?:)?//", u)]
    assert external == []
    assert not re.search(r"https?://[^\"'\s]*(cdn|jsdelivr|unpkg|cdnjs)", html)
    for url in parser.urls:
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a local static file"


@pytest.mark.parametrize("path, body", [("/api/v1/me", None), (TOKEN, {"username": "owner_a", "password": "wrong"})])
def test_a_401_names_the_token_scheme(api, world, path, body):
    # when
    response = api(None).post(path, body, format="json") if body else api(None).get(path)

    # then
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v2/brands", "/api/v1/grants/1/no-such-action"])
def test_unknown_api_paths_answer_the_json_error_shape(api, db, path, settings):
    # given a production-like server (DEBUG off: Django's own 404 handler runs)
    settings.DEBUG = False
    # when a client calls a path that does not exist
    response = api("newcomer").get(path)
    # then it gets API.md's error shape, not an HTML page
    assert response.status_code == 404
    assert response.json() == {"errors": [{"code": "NOT_FOUND", "detail": "Not found."}]}


def test_validation_errors_of_list_items_name_the_item_by_its_index():
    # given DRF's validation detail for a list field whose second item is wrong
    from rest_framework import serializers

    from config.rest import exception_handler

    class Body(serializers.Serializer):
        asins = serializers.ListField(child=serializers.CharField(max_length=10))

    body = Body(data={"asins": ["B0ALPHA001", "B0TOOLONGVALUE"]})
    assert not body.is_valid()
    # when the API's exception handler renders it
    response = exception_handler(serializers.ValidationError(body.errors), {})
    # then the error names asins[1]
    assert response.status_code == 400
    assert [e["field"] for e in response.data["errors"]] == ["asins[1]"]
