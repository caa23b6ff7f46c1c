"""Schemathesis against the served schema: every operation of ``/api/schema/`` is fuzzed in
process (WSGI, ``config.wsgi.application``) with valid and invalid input. Mostly the caller owns a
brand with ASINs and is a partner of a seller with grants, a pending request, a sync job and a
finding; some cases are sent by ops staff, some with no credentials. Each response must:

- not be a server error (``not_a_server_error``): bad input is a 4xx in API.md's error shape;
- conform to the schema: a documented status code, a documented content type, documented headers,
  and a body valid against the documented response schema.

One test per operation; each gets a fresh world inside a transaction that is rolled back, so the
operations cannot disturb each other or the rest of the suite. Throttling is off (the autouse
fixture of ``tests/api/conftest.py``); SP-API points at a closed local port. Generation is
deterministic by default (CI must not turn red at random); ``FUZZ_RANDOM=1`` explores new inputs
on every run and ``FUZZ_EXAMPLES=N`` sets the number of generated cases per operation (25).
"""
from __future__ import annotations

import datetime as dt
import os
import zlib
from types import SimpleNamespace

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
import hypothesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from authorizations.models import AuthorizationRequest, UnauthorizedOffer
from brands.models import RegistryStatus, Role
from config.wsgi import application
from sellers.models import Marketplace
from spapi_client.models import SyncKind, SyncRun, SyncStatus
from tests.factories import (
    AsinFactory, BrandFactory, BrandMembershipFactory, SellerFactory, SellerMembershipFactory, UserFactory,
)

from .conftest import hold_grant

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))

CONFIG = schemathesis.Config.from_dict({
    # Positive and negative (schema-violating) input alike.
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
    },
})

schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)

# Real identifiers of the current test's world, read by the path-parameter hook below at draw time.
KNOWN: dict[str, str] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half of the cases address real objects of the world (a random id is almost always a 404,
    which would leave the interesting code paths untested)."""
    if not path_parameters or not KNOWN:
        return st.just(path_parameters)
    path = context.operation.path
    real = dict(path_parameters)
    for name in path_parameters:
        if name == "id":
            kind = ("grant_id" if path.startswith("/api/v1/grants/")
                    else "request_id" if path.startswith("/api/v1/requests/") else "brand_id")
            real[name] = KNOWN[kind]
        elif name in KNOWN:
            real[name] = KNOWN[name]
    return st.sampled_from([path_parameters, real])


def _real_values(path: str = "") -> dict[str, object]:
    """Values that name objects of the world, by the body or query key that takes them."""
    if path == "/api/v1/requests":  # the caller's seller asks another brand
        return {"brand": int(KNOWN["other_brand_id"]), "seller_id": "ASELLERS0001", "asins": ["B0BRAVO002"],
                "marketplaces": ["US"]}
    return {
        "brand": int(KNOWN["brand_id"]), "seller_id": "ASELLERT0001", "asin": "B0ALPHA001", "marketplace": "US",
        "asins": ["B0ALPHA002"], "marketplaces": ["US"], "username": "bystander", "role": "manager",
        "home_marketplace": "DE", "spapi_account": "ASELLERS0001",
        "items": [{"seller_id": "ASELLERS0001", "asin": "B0ALPHA001", "marketplace": "US"},
                  {"seller_id": "ASELLERT0001", "asin": "B0ALPHA002", "marketplace": "DE"}],
    }


@schema.hook
def flatmap_body(context, body):
    """Half of the JSON bodies name real brands, sellers, ASINs and marketplaces (so that grants,
    requests, members and imports are actually created and their 201 bodies checked)."""
    if not KNOWN:
        return st.just(body)
    if isinstance(body, dict):
        real = _real_values(context.operation.path)
        return st.sampled_from([body, {**body, **{key: real[key] for key in body if key in real}}])
    if isinstance(body, list):
        return st.sampled_from([body, [{"asin": "B0ALPHA003", "title": "Green pot", "marketplaces": ["US", "DE"]},
                                       {"asin": "B0ALPHA001", "title": "Red kettle", "marketplaces": ["US"]}]])
    if isinstance(body, str) and context.operation.path.endswith("/asins"):  # text/csv
        return st.sampled_from([body, "asin,gcid,title,category,marketplaces\r\n"
                                      "B0ALPHA004,,Tea cup,Kitchen,US;DE\r\nB0ALPHA001,,Red kettle,,US\r\n"])
    return st.just(body)


@schema.hook
def flatmap_query(context, query):
    if not query or not KNOWN:
        return st.just(query)
    real = {**_real_values(), "brand": KNOWN["brand_id"]}
    return st.sampled_from([query, {**query, **{key: real[key] for key in query
                                                  if key in real and isinstance(real[key], str)}}])


# Mostly the brand owner and seller partner; sometimes ops staff (their own powers and their
# read-only refusals) or nobody (401s, and the endpoints anyone may call).
IDENTITIES = ("owner", "owner", "owner", "ops", "anonymous")


def identity_of(case) -> str:
    """Who sends ``case``: a function of the case itself, so that a failure replays and shrinks
    as the same caller (``hypothesis.given`` would switch off schemathesis' coverage phase)."""
    key = repr((case.method, case.path_parameters, case.query, case.body)).encode()
    return IDENTITIES[zlib.crc32(key) % len(IDENTITIES)]


@pytest.fixture(autouse=True)
def _no_spapi_traffic(settings):
    """Configured SP-API (so ``connect`` answers 200), but pointing at a closed local port: no
    fuzzed request may reach Amazon. Sync tasks run on commit, and these tests never commit."""
    settings.SPAPI_LWA_CLIENT_ID = "amzn1.application-oa2-client.fuzz"
    settings.SPAPI_LWA_CLIENT_SECRET = "fuzz-secret"
    settings.SPAPI_APP_ID = "amzn1.sp.solution.fuzz"
    settings.SPAPI_ENDPOINT = "http://127.0.0.1:9"
    settings.SPAPI_LWA_TOKEN_URL = "http://127.0.0.1:9/auth/o2/token"
    settings.SPAPI_CONSENT_URL = "http://127.0.0.1:9/apps/authorize/consent"
    settings.SPAPI_MAX_ATTEMPTS = 1
    settings.SPAPI_TIMEOUT = 1.0


@pytest.fixture
def _one_connection():
    """The WSGI handler closes "old" connections at the start and end of every request; inside
    the test's transaction that would drop it. Django's test client disconnects the same receiver."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(db, _one_connection) -> SimpleNamespace:
    """The caller owns brand "Alpha" (ASINs, members, grants, a pending request, a finding) and is
    a partner of seller S (grants, a sync job); brand "Bravo" and seller T belong to others."""
    now = timezone.now()
    user = UserFactory(username="fuzzer")
    other = UserFactory(username="bystander")
    viewer = UserFactory(username="viewer")
    partner_t = UserFactory(username="partner_t")

    brand_a = BrandFactory(name="Alpha", registry_number="ALPHA-0001", registry_status=RegistryStatus.ACTIVE)
    brand_b = BrandFactory(name="Bravo", registry_number="BRAVO-0001", registry_status=RegistryStatus.ACTIVE)
    BrandMembershipFactory(brand=brand_a, user=user, role=Role.OWNER)
    BrandMembershipFactory(brand=brand_a, user=viewer, role=Role.VIEWER)
    BrandMembershipFactory(brand=brand_b, user=other, role=Role.OWNER)

    asin_a1 = AsinFactory(brand=brand_a, asin="B0ALPHA001", title="Red kettle", marketplaces=["US", "DE"])
    asin_a2 = AsinFactory(brand=brand_a, asin="B0ALPHA002", title="Blue teapot", marketplaces=["US"])
    asin_b1 = AsinFactory(brand=brand_b, asin="B0BRAVO001", title="Green mug", marketplaces=["US"])
    AsinFactory(brand=brand_b, asin="B0BRAVO002", title="Green cup", marketplaces=["US"])

    seller_s = SellerFactory(seller_id="ASELLERS0001", name="Shop S", participates_in=["US", "DE"])
    seller_t = SellerFactory(seller_id="ASELLERT0001", name="Shop T", participates_in=["US"])
    SellerMembershipFactory(user=user, seller=seller_s)
    SellerMembershipFactory(user=partner_t, seller=seller_t)

    grant_t = hold_grant(asin_a1, seller_t)  # the caller's brand granted seller T
    hold_grant(asin_b1, seller_s)  # the caller's seller holds a grant of another brand
    hold_grant(asin_a2, seller_s, marketplace="US")
    request = AuthorizationRequest.objects.create(
        brand=brand_a, seller=seller_t, requested_by=partner_t, asins=["B0ALPHA002"], marketplaces=["US"],
        message="Please", created_at=now,
    )
    UnauthorizedOffer.objects.create(
        brand=brand_a, asin=asin_a1, marketplace=Marketplace.objects.get(code="US"),
        offering_seller_id="AROGUE000001", seller_name="Rogue", price="9.99", currency="USD",
        first_seen_at=now - dt.timedelta(days=2), last_seen_at=now,
    )
    job = SyncRun.objects.create(kind=SyncKind.BRAND, brand=brand_a, requested_by=user, status=SyncStatus.SUCCESS,
                                 started_at=now, finished_at=now, result={"verified": 3})

    ops = UserFactory(username="ops", is_staff=True)
    tokens = {"owner": Token.objects.create(user=user).key, "ops": Token.objects.create(user=ops).key}
    KNOWN.update(brand_id=str(brand_a.pk), other_brand_id=str(brand_b.pk), grant_id=str(grant_t.pk),
                 request_id=str(request.pk), seller_id=seller_s.seller_id, username=viewer.username,
                 job_id=str(job.pk))
    yield SimpleNamespace(user=user, tokens=tokens)
    KNOWN.clear()


@schema.parametrize()
@hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
          derandomize=os.environ.get("FUZZ_RANDOM") != "1",
          # One world per operation (function-scoped fixtures) is the point; slow data generation
          # and filtered-out cases are schemathesis' business, not a problem of this test.
          suppress_health_check=list(HealthCheck))
def test_api(case, fuzz_world):
    headers = {}
    if case.headers:
        case.headers.pop("Authorization", None)  # schemathesis' own guess at the token scheme
    who = identity_of(case)
    if who != "anonymous":
        headers["Authorization"] = f"Token {fuzz_world.tokens[who]}"
    case.call_and_validate(headers=headers)
