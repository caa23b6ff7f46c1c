"""The demo world: ``scenario.json`` (the named parts) plus what a seeded ``random.Random``
generates (ASIN codes, GCIDs, most sellers, which ASINs each seller holds), replayed through the
services — brands, sellers, authorizations — so that the data and its audit history are real.

The story spans three months. Each step runs with the clock set back to its day
(:class:`SimulatedClock` stands in for ``django.utils.timezone.now`` during the load), so audit
events carry the day things happened, requests are really weeks old (some overdue), grants
created with a term that has since ended are expired, and health reads are fresh on the last day.
Everything runs in one transaction: a failed load leaves nothing behind.

The same seed gives the same world (codes, names, who holds what); only the dates follow the day
it is loaded.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import string
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from authorizations import services as grants
from authorizations.models import LIVE_STATUS_VALUES, AuthorizationRequest, Grant, GrantStatus, RequestStatus
from authorizations.rules import effective_live_q, is_excluded_category
from brands import services as brands
from brands.models import Asin, Brand, RegistryStatus
from sellers import services as sellers
from sellers.models import Marketplace, Seller, SellerConnection
from sellers.services import health_failures

from .catalog import catalog_results_apply
from .health_reports import health_report

SCENARIO_PATH = Path(__file__).with_name("scenario.json")
OPS_GROUP = "ops"
ID_ALPHABET = string.ascii_uppercase + string.digits
EXPIRED_WRITTEN_DAYS_AGO = 10  # term ended before the expiry task ran: written EXPIRED
EXPIRED_UNWRITTEN_DAYS_AGO = 2  # term ended after it: still ACTIVE in the row, expired everywhere
EXPIRING_SOON_DAYS = (2, 13)  # within settings.EXPIRING_SOON_DAYS (14)


def load_scenario(path: Path = SCENARIO_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def is_loaded(scenario: dict[str, Any] | None = None) -> bool:
    """The world is there when its first brand is (brands are created first, in one transaction
    with everything else)."""
    scenario = scenario or load_scenario()
    return Brand.objects.filter(registry_number=scenario["brands"][0]["registry_number"]).exists()


def demo_refresh_token(seller_id: str) -> str:
    """The SP-API refresh token a demo seller connected with (the demo's fake SP-API knows it)."""
    return f"Atzr|demo-{seller_id}"


def logins(scenario: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """The users to log in as: role, username, password, what to try."""
    scenario = scenario or load_scenario()
    return [{"role": u["role"], "username": u["username"], "password": scenario["password"], "try": u["try"]}
            for u in scenario["users"]]


# -- the clock --------------------------------------------------------------------------------

class SimulatedClock:
    """``timezone.now`` for the load: a day in the past, moving forward a little on every call
    (so events keep their order) and never backwards."""

    STEP = dt.timedelta(milliseconds=5)

    def __init__(self, anchor: dt.datetime) -> None:
        self.anchor = anchor
        self.current = anchor - dt.timedelta(days=365)

    def now(self) -> dt.datetime:
        value = self.current
        self.current += self.STEP
        return value

    def set(self, days_ago: float, minutes: int = 0) -> None:
        target = self.anchor - dt.timedelta(days=days_ago) + dt.timedelta(minutes=minutes)
        self.current = max(self.current, target)
        if self.current >= self.anchor:
            raise RuntimeError(f"the simulated clock ran past the present ({days_ago} days ago)")

    def running(self):
        return mock.patch("django.utils.timezone.now", self.now)


# -- the generated parts ----------------------------------------------------------------------

@dataclass
class AsinPlan:
    code: str
    gcid: str | None
    title: str
    category: str
    marketplaces: list[str]
    hero: bool = False
    later: bool = False
    verify: set[str] = field(default_factory=set)  # marketplaces the catalog sync verifies
    mismatch: dict[str, str] = field(default_factory=dict)  # marketplace -> brand the catalog shows

    @property
    def grantable(self) -> bool:
        return bool(self.gcid) and not is_excluded_category(self.category)

    def item(self) -> dict[str, Any]:
        return {"asin": self.code, "gcid": self.gcid, "title": self.title, "category": self.category,
                "marketplaces": self.marketplaces}


@dataclass
class BrandPlan:
    spec: dict[str, Any]
    asins: list[AsinPlan]
    obj: Brand | None = None

    @property
    def key(self) -> str:
        return self.spec["key"]

    @property
    def marketplaces(self) -> list[str]:
        return self.spec["marketplaces"]

    @property
    def heroes(self) -> list[AsinPlan]:
        return [a for a in self.asins if a.hero]


@dataclass
class SellerPlan:
    key: str
    seller_id: str
    name: str
    markets: list[str]
    joined_days_ago: int
    health: list[str]
    brands: list[str]
    partner: str | None = None
    test_account: bool = False
    hero: bool = False
    disconnected_days_ago: int | None = None
    obj: Seller | None = None
    user: Any = None

    @property
    def wave(self) -> int:
        return 1 if self.joined_days_ago > 31 else 2

    @property
    def partner_username(self) -> str:
        """The user who connected the account: a named login, or the seller's own partner user."""
        return self.partner or f"seller-{self.seller_id.lower()}"


class Generator:
    """Everything the seed decides, before any database work."""

    def __init__(self, scenario: dict[str, Any]) -> None:
        self.scenario = scenario
        self.rng = random.Random(scenario["seed"])
        self.used_codes: set[str] = set()

    def code(self, prefix: str, length: int) -> str:
        while True:
            value = prefix + "".join(self.rng.choice(ID_ALPHABET) for _ in range(length))
            if value not in self.used_codes:
                self.used_codes.add(value)
                return value

    def brands(self) -> list[BrandPlan]:
        return [self.brand(spec) for spec in self.scenario["brands"]]

    def brand(self, spec: dict[str, Any]) -> BrandPlan:
        rng, markets = self.rng, spec["marketplaces"]
        books = spec["books"]["titles"]
        count = spec["asins"] - len(books)
        lines = [(product, variant, edition) for edition in spec.get("editions", [""])
                 for product, variants in spec["products"] for variant in variants][:count]
        if len(lines) < count:
            raise ValueError(f"brand {spec['key']}: {len(lines)} product lines for {count} ASINs")
        asins: list[AsinPlan] = []
        for product, variant, edition in lines:
            title = f"{spec['name']} {product}, {variant}" + (f" – {edition}" if edition else "")
            present = [markets[0]] + [m for m in markets[1:] if rng.random() < 0.7]
            asins.append(AsinPlan(self.code("B0", 8), "".join(rng.choice("0123456789abcdef") for _ in range(16)),
                                  title, spec["category"], present))
        for title in books:
            asins.append(AsinPlan(self.code("B0", 8), "".join(rng.choice("0123456789abcdef") for _ in range(16)),
                                  f"{title}", spec["books"]["category"], [m for m in markets if m in ("US", "UK", "CA")]))
        products = asins[:count]
        later = products[len(products) - spec.get("later_import", 0):] if spec.get("later_import") else []
        for asin in later:
            asin.later = True
        candidates = [a for a in products if not a.later]
        picked = rng.sample(candidates, spec["hero_asins"] + spec["without_gcid"])
        for asin in picked[: spec["hero_asins"]]:
            asin.hero, asin.marketplaces = True, list(markets)
        for asin in picked[spec["hero_asins"]:]:
            asin.gcid = None
        if spec["status"] == RegistryStatus.ACTIVE:  # the catalog sync runs on the brand's SP-API account
            for asin in asins:
                asin.verify = {m for m in asin.marketplaces if asin.hero or m == markets[0] or rng.random() > 0.04}
            mismatch = spec.get("catalog_mismatch")
            if mismatch:
                spots = [(a, m) for a in products if not a.hero and a.grantable for m in a.marketplaces[1:] if m in a.verify]
                for asin, market in rng.sample(spots, mismatch["count"]):
                    asin.verify.discard(market)
                    asin.mismatch[market] = mismatch["brand_name"]
        return BrandPlan(spec, asins)

    def sellers(self) -> list[SellerPlan]:
        spec = self.scenario["sellers"]
        groups = self.scenario["marketplace_groups"]
        named = []
        self.used_codes.update(s["seller_id"] for s in self.scenario["amazon"]["to_connect"])  # not loaded
        for s in spec["named"]:
            self.used_codes.add(s["seller_id"])
            named.append(SellerPlan(
                key=s["key"], seller_id=s["seller_id"], name=s["name"], markets=groups[s["markets"]],
                joined_days_ago=s["joined_days_ago"], health=s["health"], brands=list(s["brands"]),
                partner=s.get("partner"), test_account=s.get("test_account", False), hero=s.get("hero", False),
                disconnected_days_ago=s.get("disconnected_days_ago"),
            ))
        rng, parts = self.rng, spec["name_parts"]
        names = {s.name for s in named}
        generated = []
        for _ in range(spec["total"] - len(named)):
            while True:
                name = " ".join(w for w in (rng.choice(parts["first"]), rng.choice(parts["second"]),
                                            rng.choice(parts["suffix"])) if w)
                if name not in names:
                    names.add(name)
                    break
            seller_id = self.code("A", rng.choice((12, 13)))
            generated.append(SellerPlan(
                key=seller_id.lower(), seller_id=seller_id, name=name,
                markets=groups[rng.choice(spec["generated_markets"])],
                joined_days_ago=rng.choice(spec["generated_joined_days_ago"]),
                health=[rng.choice(spec["generated_health"]) for _ in self.scenario["health_syncs_days_ago"]],
                brands=[],
            ))
        return named + generated

    def plans(self) -> tuple[list[BrandPlan], list[SellerPlan]]:
        """The brands and the sellers (with the brands they sell), in the seed's one order."""
        brand_plans = self.brands()
        seller_plans = self.sellers()
        self.assign_brands(brand_plans, seller_plans)
        return brand_plans, seller_plans

    def assign_brands(self, brand_plans: list[BrandPlan], seller_plans: list[SellerPlan]) -> None:
        """Fill each brand up to its number of (non-test) sellers with generated ones."""
        generated = [s for s in seller_plans if s.key == s.seller_id.lower()]
        for brand in brand_plans:
            wanted = brand.spec["sellers"]
            have = [s for s in seller_plans if brand.key in s.brands and not s.test_account]
            pool = [s for s in generated if brand.key not in s.brands and set(s.markets) & set(brand.marketplaces)]
            for seller in self.rng.sample(pool, max(0, wanted - len(have))):
                seller.brands.append(brand.key)


# -- the load ---------------------------------------------------------------------------------

@dataclass
class LoadResult:
    loaded: bool
    seconds: float = 0.0
    counts: dict[str, Any] = field(default_factory=dict)


class WorldLoader:
    def __init__(self, scenario: dict[str, Any], *, anchor: dt.datetime | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.scenario = scenario
        self.anchor = (anchor or timezone.now()).replace(second=0, microsecond=0)
        self.clock = SimulatedClock(self.anchor)
        self.log = log or (lambda _message: None)
        generator = Generator(scenario)
        self.brand_plans, self.seller_plans = generator.plans()
        self.rng = generator.rng
        self.brand = {b.key: b for b in self.brand_plans}
        self.seller = {s.key: s for s in self.seller_plans}
        self.users: dict[str, Any] = {}
        self.market_ids = dict(Marketplace.objects.values_list("code", "marketplace_id"))
        # What the load has written so far, to choose what to grant next without asking the DB.
        self.imported: set[str] = set()
        self.verified: dict[str, set[str]] = defaultdict(set)  # ASIN code -> verified marketplaces
        self.holders: dict[str, set[str]] = defaultdict(set)  # ASIN code -> sellers holding or asking
        self.held: dict[tuple[str, str], set[str]] = defaultdict(set)  # (seller, brand) -> ASIN codes
        self.hero_holders: dict[str, list[SellerPlan]] = {}
        self.letters: dict[tuple[str, str], str] = {}
        self.requests: dict[int, AuthorizationRequest] = {}  # id(story item) -> request
        self.suspended: dict[int, int] = {}  # id(story item) -> grant pk
        self.steps: list[tuple[float, int, str, Callable[[], None]]] = []

    # -- actors -----------------------------------------------------------------------------

    def as_user(self, username: str) -> Actor:
        return Actor.for_user(self.users[username], source="command")

    @property
    def owner(self) -> Actor:
        return self.as_user("owner")

    # -- running ----------------------------------------------------------------------------

    def at(self, days_ago: float, label: str):
        def register(fn: Callable[[], None]) -> Callable[[], None]:
            self.steps.append((days_ago, len(self.steps), label, fn))
            return fn
        return register

    def run(self) -> None:
        self.plan_story()
        per_day: dict[float, int] = defaultdict(int)
        with self.clock.running():
            for days_ago, _order, label, fn in sorted(self.steps, key=lambda s: (-s[0], s[1])):
                self.clock.set(days_ago, minutes=20 * per_day[days_ago])
                per_day[days_ago] += 1
                started = time.perf_counter()
                try:
                    fn()
                except Exception as exc:
                    raise RuntimeError(f"demo world, {days_ago} days ago, {label}: {exc}") from exc
                self.log(f"{days_ago:>5} days ago  {label} ({time.perf_counter() - started:.2f} s)")

    # -- the story --------------------------------------------------------------------------

    def plan_story(self) -> None:
        story = self.scenario["story"]
        syncs = self.scenario["health_syncs_days_ago"]
        for brand in self.brand_plans:
            created = brand.spec["created_days_ago"]
            self.at(created, f"{brand.spec['name']} registered")(lambda b=brand: self.brand_register(b))
            if brand.spec["status"] != RegistryStatus.PENDING:
                self.at(created - 1, f"{brand.spec['name']} registry verified by ops")(
                    lambda b=brand: self.brand_verify(b))
            self.at(created - 2 if brand.spec["status"] != RegistryStatus.PENDING else created,
                    f"{brand.spec['name']} catalog import")(lambda b=brand: self.catalog_import(b, later=False))
            if brand.spec["status"] == RegistryStatus.ACTIVE:
                self.at(created - 3, f"{brand.spec['name']} catalog sync")(lambda b=brand: self.catalog_sync(b))
            if brand.spec.get("later_import"):
                days = brand.spec["later_import_days_ago"]
                self.at(days, f"{brand.spec['name']} new line imported")(lambda b=brand: self.catalog_import(b, later=True))
                self.at(days - 1, f"{brand.spec['name']} catalog sync (with the new line)")(lambda b=brand: self.catalog_sync(b))
            if brand.spec.get("dual_control_from_days_ago"):
                self.at(brand.spec["dual_control_from_days_ago"], f"{brand.spec['name']} dual control on")(
                    lambda b=brand: brands.brand_update(actor=self.owner, brand=b.obj, dual_control=True))
        for days in sorted({s.joined_days_ago for s in self.seller_plans}, reverse=True):
            self.at(days, "sellers connect")(lambda d=days: self.sellers_connect(d))
        for seller in self.seller_plans:
            if seller.disconnected_days_ago:
                self.at(seller.disconnected_days_ago, f"{seller.name} disconnects")(
                    lambda s=seller: sellers.seller_disconnect(actor=self.as_user(s.partner_username), seller=s.obj))
        for index, days in enumerate(syncs):
            self.at(days, f"health sync #{index + 1}")(lambda i=index: self.health_sync(i))
        self.at(syncs[0], "ops flag test accounts")(self.flag_test_accounts)
        self.at(syncs[0] - 1, "grants, first wave")(self.wave_one)
        self.at(syncs[1] - 1, "grants, second wave")(self.wave_two)
        for item in story["reject_pending"]:
            self.at(item["days_ago"], "dual-control decisions")(lambda i=item: self.dual_control_decisions(i))
        for index, item in enumerate(story["requests"]):
            self.at(item["days_ago"], f"request {index + 1}")(lambda i=item: self.request_create(i))
            if "reject_days_ago" in item:
                self.at(item["reject_days_ago"], f"request {index + 1} rejected")(lambda i=item: grants.request_reject(
                    actor=self.owner, request=self.requests[id(i)], reason=i["reject"]))
            if "approve_days_ago" in item:
                self.at(item["approve_days_ago"], f"request {index + 1} approved")(lambda i=item: self.request_approve(i))
            if "manager_approves_days_ago" in item:
                self.at(item["manager_approves_days_ago"], f"request {index + 1} grants approved")(
                    lambda i=item: self.approve_request_grants(i))
        for item in story["suspend"]:
            self.at(item["days_ago"], "grant suspended")(lambda i=item: self.suspend(i))
            if "reinstate_days_ago" in item:
                self.at(item["reinstate_days_ago"], "grant reinstated")(lambda i=item: self.reinstate(i))
        for item in story["revoke"]:
            self.at(item["days_ago"], "grant revoked")(lambda i=item: self.revoke(i))
        for item in story["revoke_all"]:
            self.at(item["days_ago"], "emergency stop")(lambda i=item: grants.grants_revoke_all(
                actor=self.owner, brand=self.brand[i["brand"]].obj, seller=self.seller[i["seller"]].obj,
                reason=i["reason"]))
        self.at(story["expired_task_days_ago"], "expiry task")(lambda: grants.grants_expire_due(
            actor=Actor.task("authorizations.grants_expire_due")))
        self.at(story["pending_approval_days_ago"], "grants, third wave")(self.wave_three)

    # -- brands and catalog -----------------------------------------------------------------

    def brand_register(self, plan: BrandPlan) -> None:
        spec = plan.spec
        plan.obj = brands.brand_create(actor=self.owner, name=spec["name"], registry_number=spec["registry_number"])
        for role, username in spec["members"].items():
            brands.membership_add(actor=self.owner, brand=plan.obj, user=self.users[username], role=role)

    def brand_verify(self, plan: BrandPlan) -> None:
        plan.obj = brands.brand_set_registry_status(actor=self.as_user("ops"), brand=plan.obj,
                                                    registry_status=plan.spec["status"])

    def catalog_import(self, plan: BrandPlan, *, later: bool) -> None:
        items = [a.item() for a in plan.asins if a.later == later]
        brands.asins_import(actor=self.owner, brand=plan.obj, items=items)
        self.imported.update(item["asin"] for item in items)

    def catalog_sync(self, plan: BrandPlan) -> None:
        asins = [a for a in plan.asins if a.code in self.imported]
        catalog_results_apply(
            brand=plan.obj,
            verified=[(a.code, m) for a in asins for m in sorted(a.verify)],
            mismatched=[(a.code, m, other) for a in asins for m, other in sorted(a.mismatch.items())],
        )
        for asin in asins:
            self.verified[asin.code] = set(asin.verify)

    # -- sellers ----------------------------------------------------------------------------

    def sellers_connect(self, joined_days_ago: int) -> None:
        task = Actor.task("sellers.sync_participations")
        for seller in self.seller_plans:
            if seller.joined_days_ago != joined_days_ago:
                continue
            seller.obj = sellers.seller_connect(
                actor=self.as_user(seller.partner_username), user=self.users[seller.partner_username],
                seller_id=seller.seller_id, refresh_token=demo_refresh_token(seller.seller_id), name=seller.name)
            seller.obj = sellers.seller_participations_apply(
                actor=task, seller=seller.obj, marketplace_ids=[self.market_ids[m] for m in seller.markets])
            for brand in self.brand_plans:
                if brand.spec.get("spapi_account") == seller.key:
                    brands.brand_update(actor=self.owner, brand=brand.obj, spapi_account=seller.obj)

    def connected(self, seller: SellerPlan) -> bool:
        return seller.obj is not None and SellerConnection.objects.filter(
            seller=seller.obj, revoked_at__isnull=True).exclude(refresh_token_encrypted="").exists()

    def health_sync(self, index: int) -> None:
        actor = Actor.task("sellers.sync_health")
        profiles = self.scenario["health_profiles"]
        for seller in self.seller_plans:
            if not self.connected(seller):
                continue
            profile = profiles[seller.health[min(index, len(seller.health) - 1)]]
            report = health_report(profile, [self.market_ids[m] for m in seller.markets], at=timezone.now(),
                                   rng=self.rng)
            sellers.seller_health_apply(actor=actor, seller=seller.obj, report=report)
            seller.obj.refresh_from_db()

    def flag_test_accounts(self) -> None:
        for seller in self.seller_plans:
            if seller.test_account:
                seller.obj = sellers.seller_update(actor=self.as_user("ops"), seller=seller.obj, is_test_account=True)

    def eligible(self, seller: SellerPlan) -> bool:
        if not self.connected(seller):
            return False
        seller.obj.refresh_from_db()
        return not health_failures(seller.obj)

    # -- grants -----------------------------------------------------------------------------

    def letter(self, seller: SellerPlan, brand: BrandPlan) -> str:
        key = (seller.seller_id, brand.key)
        if key not in self.letters:
            prefix = "".join(w[0] for w in brand.spec["name"].replace("&", "").split())
            self.letters[key] = f"{prefix}-ARA-{len(self.letters) + 101:04d}"
        return self.letters[key]

    def candidates(self, seller: SellerPlan, brand: BrandPlan, markets: list[str]) -> list[AsinPlan]:
        held = self.held[(seller.seller_id, brand.key)]
        limit = settings.MAX_SELLERS_PER_ASIN
        return [a for a in brand.asins
                if a.code in self.imported and a.grantable and not a.hero and a.code not in held
                and set(markets) <= self.verified[a.code] and len(self.holders[a.code]) < limit]

    def choose(self, seller: SellerPlan, brand: BrandPlan, count: int, *, markets: list[str] | None = None,
               ) -> tuple[list[AsinPlan], list[str]]:
        available = [m for m in seller.markets if m in brand.marketplaces]
        if markets is None:
            markets = available[: self.rng.choice((1, 1, 2, 2, 3))]
        while True:
            pool = self.candidates(seller, brand, markets)
            if len(pool) >= count or len(markets) == 1:
                break
            markets = markets[:-1]
        return self.rng.sample(pool, min(count, len(pool))), markets

    def grant(self, seller: SellerPlan, brand: BrandPlan, asins: list[AsinPlan], markets: list[str], *,
              valid_until: dt.datetime | None = None, reason: str = "Authorized reseller agreement") -> list[Grant]:
        if not asins or not markets:
            return []
        result = grants.grants_create(
            actor=self.owner, brand=brand.obj, seller=seller.obj, asins=[a.code for a in asins], marketplaces=markets,
            valid_until=valid_until, reason=reason, letter_reference=self.letter(seller, brand))
        if result.skipped:
            raise RuntimeError(f"unexpected ALREADY_GRANTED for {seller.seller_id}: {result.skipped}")
        for asin in asins:
            self.holders[asin.code].add(seller.seller_id)
            self.held[(seller.seller_id, brand.key)].add(asin.code)
        return result.created

    def brand_sellers(self, brand: BrandPlan, *, wave: int | None = None) -> list[SellerPlan]:
        return [s for s in self.seller_plans if brand.key in s.brands and (wave is None or s.wave == wave)]

    def story_targets(self) -> set[str]:
        story = self.scenario["story"]
        return {i["seller"] for i in story["revoke_all"]}

    def pick_hero_holders(self, brand: BrandPlan) -> list[SellerPlan]:
        limit = settings.MAX_SELLERS_PER_ASIN
        stable = [s for s in self.brand_sellers(brand, wave=1)
                  if not s.test_account and s.key not in self.story_targets() and self.eligible(s)]
        chosen = [s for s in stable if s.hero][:limit]
        others = [s for s in stable if not s.hero]
        return chosen + self.rng.sample(others, limit - len(chosen))

    def wave_one(self) -> None:
        """Three months ago: the first sellers' main authorizations (most open-ended, some for a
        year), the best sellers on the hero ASINs, and a few seasonal ones whose term has ended."""
        for brand in self.brand_plans:
            if not brand.spec["sellers"]:
                continue
            heroes = self.hero_holders[brand.key] = self.pick_hero_holders(brand) if brand.heroes else []
            for seller in self.brand_sellers(brand, wave=1):
                if not self.eligible(seller):
                    continue
                asins, markets = self.choose(seller, brand, self.rng.randint(4, 9))
                if seller in heroes:
                    asins += brand.heroes
                valid_until = None
                if self.rng.random() < 0.25:
                    valid_until = self.anchor + dt.timedelta(days=self.rng.randint(60, 300))
                self.grant(seller, brand, asins, markets, valid_until=valid_until)
            seasonal = [s for s in self.brand_sellers(brand, wave=1) if not s.test_account and self.eligible(s)]
            for index, seller in enumerate(self.rng.sample(seasonal, 5)):
                days = EXPIRED_WRITTEN_DAYS_AGO if index < 3 else EXPIRED_UNWRITTEN_DAYS_AGO
                asins, markets = self.choose(seller, brand, 2, markets=[m for m in seller.markets
                                                                        if m in brand.marketplaces][:1])
                self.grant(seller, brand, asins, markets, valid_until=self.anchor - dt.timedelta(days=days),
                           reason="Seasonal promotion")
        for item in self.scenario["story"]["ended_terms"]:
            seller, brand = self.seller[item["seller"]], self.brand[item["brand"]]
            asins, markets = self.choose(seller, brand, item["asins"], markets=item["marketplaces"])
            self.grant(seller, brand, asins, markets, valid_until=self.anchor - dt.timedelta(days=item["ended_days_ago"]),
                       reason=item["reason"])

    def wave_two(self) -> None:
        """A month ago: the sellers who joined since get their authorizations (under the
        kitchen brand's new dual control they wait for approval), and some sellers get a short
        term that ends within the next two weeks."""
        for brand in self.brand_plans:
            for seller in self.brand_sellers(brand, wave=2):
                if self.eligible(seller):
                    asins, markets = self.choose(seller, brand, self.rng.randint(3, 8))
                    self.grant(seller, brand, asins, markets)
            current = [s for s in self.brand_sellers(brand) if s.obj is not None and not s.test_account
                       and s.key not in self.story_targets() and self.eligible(s)]
            short = self.rng.sample(current, min(len(current), 5))
            for key in self.scenario["story"]["expiring_soon_sellers"]:
                if self.seller[key] in current and self.seller[key] not in short:
                    short.append(self.seller[key])
            for seller in short:
                asins, markets = self.choose(seller, brand, self.rng.randint(2, 3))
                days = self.rng.uniform(*EXPIRING_SOON_DAYS)
                self.grant(seller, brand, asins, markets, valid_until=self.anchor + dt.timedelta(days=days),
                           reason="Trial period, renewal to be reviewed")

    def dual_control_decisions(self, item: dict[str, Any]) -> None:
        """The second manager of a dual-control brand rejects a few of the waiting grants and
        approves the rest."""
        brand = self.brand[item["brand"]]
        manager = self.as_user(brand.spec["members"]["manager"])
        pending = list(Grant.objects.filter(brand=brand.obj, status=GrantStatus.PENDING_APPROVAL)
                       .select_related("brand", "asin", "seller").order_by("marketplace_id", "asin__asin", "pk"))
        pending.sort(key=lambda g: g.marketplace_id != "FR")
        for grant in pending[: item["count"]]:
            grants.grant_reject(actor=manager, grant=grant, reason=item["reason"])
            self.holders[grant.asin.asin].discard(grant.seller.seller_id)
            self.held[(grant.seller.seller_id, brand.key)].discard(grant.asin.asin)
        for grant in pending[item["count"]:]:
            grants.grant_approve(actor=manager, grant=grant, reason="Checked against the reseller agreement.")

    def wave_three(self) -> None:
        """Yesterday, after the health sync: new grants waiting for the second manager's
        approval (dual control) and a few additions on the other brands."""
        story = self.scenario["story"]
        for brand in self.brand_plans:
            current = [s for s in self.brand_sellers(brand) if s.obj is not None and not s.test_account
                       and s.key not in self.story_targets() and self.eligible(s)]
            count = story["pending_approval_sellers"] if brand.obj.dual_control else 3
            for seller in self.rng.sample(current, min(count, len(current))):
                asins, markets = self.choose(seller, brand, self.rng.randint(2, 4))
                self.grant(seller, brand, asins, markets, reason="Range extension for the new season")

    # -- lifecycle --------------------------------------------------------------------------

    def story_grant(self, item: dict[str, Any], status: str = GrantStatus.ACTIVE) -> Grant:
        brand = self.brand[item["brand"]]
        grant = (Grant.objects.filter(effective_live_q(timezone.now()), brand=brand.obj,
                                      seller=self.seller[item["seller"]].obj, status=status)
                 .exclude(asin__asin__in=[a.code for a in brand.heroes])
                 .select_related("brand", "asin", "seller").order_by("asin__asin", "marketplace_id").first())
        if grant is None:
            raise RuntimeError(f"no {status} grant of {item['seller']} on {item['brand']} for the story")
        return grant

    def suspend(self, item: dict[str, Any]) -> None:
        grant = self.story_grant(item)
        grants.grant_suspend(actor=self.owner, grant=grant, reason=item["reason"])
        self.suspended[id(item)] = grant.pk

    def reinstate(self, item: dict[str, Any]) -> None:
        grant = Grant.objects.select_related("brand", "asin", "seller").get(pk=self.suspended[id(item)])
        grants.grant_reinstate(actor=self.owner, grant=grant, reason=item["reinstate_reason"])

    def revoke(self, item: dict[str, Any]) -> None:
        grants.grant_revoke(actor=self.owner, grant=self.story_grant(item), reason=item["reason"])

    # -- requests ---------------------------------------------------------------------------

    def request_create(self, item: dict[str, Any]) -> None:
        seller, brand = self.seller[item["seller"]], self.brand[item["brand"]]
        markets = item["marketplaces"]
        if brand.spec["status"] == RegistryStatus.ACTIVE:
            pool = self.candidates(seller, brand, markets)
        else:  # a brand not yet verified: its catalog is not either
            pool = [a for a in brand.asins if a.grantable and set(markets) <= set(a.marketplaces)]
        asins = self.rng.sample(pool, item["asins"])
        for asin in asins:  # asked for: keep the slot free so that approving it can work
            self.holders[asin.code].add(seller.seller_id)
        partner = self.as_user(seller.partner_username)
        request = grants.request_create(actor=partner, brand=brand.obj, seller=seller.obj,
                                        asins=[a.code for a in asins], marketplaces=markets, message=item["message"])
        self.requests[id(item)] = request

    def request_approve(self, item: dict[str, Any]) -> None:
        request = self.requests[id(item)]
        grants.request_approve(actor=self.owner, request=request, reason="Approved: " + item["message"])
        self.held[(request.seller.seller_id, self.brand[item["brand"]].key)].update(request.asins)

    def approve_request_grants(self, item: dict[str, Any]) -> None:
        brand = self.brand[item["brand"]]
        manager = self.as_user(brand.spec["members"]["manager"])
        for grant in (Grant.objects.filter(request=self.requests[id(item)], status=GrantStatus.PENDING_APPROVAL)
                      .select_related("brand", "asin", "seller").order_by("pk")):
            grants.grant_approve(actor=manager, grant=grant, reason="Request checked.")


# -- users ------------------------------------------------------------------------------------

def create_users(loader: WorldLoader) -> None:
    """The logins of ``scenario.json`` (all with the demo password) and one partner user per
    seller account without a named partner (no usable password: they are not logins)."""
    User = get_user_model()
    scenario = loader.scenario
    password = scenario["password"]
    ops_group, _created = Group.objects.get_or_create(name=OPS_GROUP)
    hashed = None
    for spec in scenario["users"]:
        user = User.objects.filter(username=spec["username"]).first()
        if user is None:
            user = User(username=spec["username"], first_name=spec["first_name"], last_name=spec["last_name"],
                        email=spec["email"], is_staff=spec.get("staff", False))
            validate_password(password, user)
            hashed = hashed or make_password(password)  # one hash for the shared demo password
            user.password = hashed
            user.save()
        if spec.get("staff"):
            user.groups.add(ops_group)
        loader.users[spec["username"]] = user
    for seller in loader.seller_plans:
        username = seller.partner_username
        if username in loader.users:
            continue
        user, _created = User.objects.get_or_create(
            username=username,
            defaults={"email": f"sellercentral+{seller.seller_id.lower()}@partners.example",
                      "first_name": seller.name[:150], "password": make_password(None)})
        loader.users[username] = user


# -- entry point ------------------------------------------------------------------------------

def world_counts() -> dict[str, Any]:
    now = timezone.now()
    live = effective_live_q(now)
    brand_sellers = {
        b.name: Grant.objects.filter(live, brand=b, seller__is_test_account=False).values("seller").distinct().count()
        for b in Brand.objects.order_by("name")
    }
    full_asins = (Grant.objects.filter(live).values("asin").annotate(n=Count("seller", distinct=True))
                  .filter(n__gte=settings.MAX_SELLERS_PER_ASIN).count())
    by_status = dict(Grant.objects.values_list("status").annotate(n=Count("id")).order_by())
    expired_unwritten = Grant.objects.filter(status__in=LIVE_STATUS_VALUES, valid_until__lte=now).count()
    expiring = Grant.objects.filter(live, valid_until__isnull=False,
                                    valid_until__lte=now + dt.timedelta(days=settings.EXPIRING_SOON_DAYS)).count()
    return {
        "brands": Brand.objects.count(),
        "asins": Asin.objects.count(),
        "sellers": Seller.objects.count(),
        "sellers_below_min_health": Seller.objects.filter(health_score__lt=settings.MIN_HEALTH_SCORE).count(),
        "sellers_with_infringements": Seller.objects.filter(infringement_count__gt=0).count(),
        "grants": by_status,
        "grants_expired_unwritten": expired_unwritten,
        "grants_expiring_soon": expiring,
        "brand_sellers": brand_sellers,
        "asins_at_seller_limit": full_asins,
        "requests_pending": AuthorizationRequest.objects.filter(status=RequestStatus.PENDING).count(),
        "audit_events": AuditEvent.objects.count(),
    }


def load_world(*, scenario: dict[str, Any] | None = None, log: Callable[[str], None] | None = None) -> LoadResult:
    """Load the demo world into the current database, once: returns ``loaded=False`` when it is
    already there."""
    scenario = scenario or load_scenario()
    started = time.perf_counter()
    with transaction.atomic():
        if is_loaded(scenario):
            return LoadResult(loaded=False)
        loader = WorldLoader(scenario, log=log)
        create_users(loader)
        loader.run()
    return LoadResult(loaded=True, seconds=time.perf_counter() - started, counts=world_counts())
