"""A large world for the check benchmarks, loaded with COPY (never the ORM row by row).

Shape (defaults: the benchmarks issue's scale): ``brands`` brands, each with ``asins / brands``
ASINs and ``sellers / brands`` sellers of its own; every ASIN is granted to ``grants / asins``
distinct sellers of its brand, each in one of ``MARKETS`` — so no brand has more than 50 sellers
and no ASIN more than 10 (the product's limits hold in the data too). Statuses: 2 % REVOKED,
2 % ACTIVE but past ``valid_until`` (expired, not yet swept), 2 % SUSPENDED, 2 % with a future
``valid_until``, the rest ACTIVE with no end. One owner per brand (with an API token) is the
caller of the HTTP benchmarks.
"""
from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field

MARKETS = ("US", "DE", "UK", "JP")
SPREAD = 4  # seller stride per grant of one ASIN: grants k = 0..9 of ASIN j go to seller (j + 4k) % per_brand


@dataclass
class World:
    brands: int
    asins: int
    sellers: int
    grants: int
    brand_ids: list[int] = field(default_factory=list)
    asin_ids: list[int] = field(default_factory=list)  # index i -> pk
    seller_ids: list[int] = field(default_factory=list)  # index i -> pk
    tokens: list[str] = field(default_factory=list)  # brand index -> its owner's API token
    owner_ids: list[int] = field(default_factory=list)

    @property
    def asins_per_brand(self) -> int:
        return self.asins // self.brands

    @property
    def sellers_per_brand(self) -> int:
        return self.sellers // self.brands

    @property
    def grants_per_asin(self) -> int:
        return self.grants // self.asins

    @staticmethod
    def asin_code(i: int) -> str:
        return f"B{i:09d}"

    @staticmethod
    def seller_code(i: int) -> str:
        return f"A{i:011d}"

    def grant_of(self, asin: int, k: int) -> tuple[int, str]:
        """The seller index and marketplace of the k-th grant of ASIN index ``asin``."""
        brand, j = divmod(asin, self.asins_per_brand)
        seller = brand * self.sellers_per_brand + (j + SPREAD * k) % self.sellers_per_brand
        return seller, MARKETS[(j + k) % len(MARKETS)]

    def status_of(self, n: int, now: dt.datetime) -> tuple[str, dt.datetime | None]:
        """The status and valid_until of the n-th grant."""
        kind = n % 50
        if kind == 0:
            return "REVOKED", None
        if kind == 1:
            return "ACTIVE", now - dt.timedelta(days=1)  # expired, not yet swept
        if kind == 2:
            return "SUSPENDED", None
        if kind == 3:
            return "ACTIVE", now + dt.timedelta(days=365)
        return "ACTIVE", None

    def probes(self, count: int, *, seed: int = 7, hit_ratio: float = 0.8) -> list[tuple[int, str, str, str]]:
        """(brand index, seller_id, asin, marketplace): ``hit_ratio`` of them name a granted
        triplet (of any status), the rest a seller of the ASIN's brand who holds no grant there."""
        rng = random.Random(seed)
        out = []
        for _ in range(count):
            asin = rng.randrange(self.asins)
            brand = asin // self.asins_per_brand
            if rng.random() < hit_ratio:
                seller, market = self.grant_of(asin, rng.randrange(self.grants_per_asin))
            else:
                held = {self.grant_of(asin, k) for k in range(self.grants_per_asin)}
                while True:
                    seller = brand * self.sellers_per_brand + rng.randrange(self.sellers_per_brand)
                    market = rng.choice(MARKETS)
                    if (seller, market) not in held:
                        break
            out.append((brand, self.seller_code(seller), self.asin_code(asin), market))
        return out


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    """COPY ``rows`` (tuples; None is NULL) into ``table``, 200,000 rows per round trip."""
    def flush(buffer: io.StringIO) -> None:
        buffer.seek(0)
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)

    buffer, n = io.StringIO(), 0
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
        buffer.write("\n")
        n += 1
        if n % 200_000 == 0:
            flush(buffer)
            buffer = io.StringIO()
    if buffer.tell():
        flush(buffer)


def build(*, brands: int = 50, asins: int = 100_000, sellers: int = 2_000, grants: int = 1_000_000,
          verbose: bool = True) -> World:
    """Load the world into the configured (scratch) database; return its map."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from brands.models import Brand, BrandMembership, RegistryStatus, Role
    from sellers.models import Participation, Seller

    assert asins % brands == 0 and sellers % brands == 0 and grants % asins == 0
    world = World(brands=brands, asins=asins, sellers=sellers, grants=grants)
    assert world.grants_per_asin <= 10 and world.sellers_per_brand <= 50
    assert SPREAD * (world.grants_per_asin - 1) < world.sellers_per_brand  # distinct sellers per ASIN
    now = timezone.now()
    User = get_user_model()
    with transaction.atomic():
        brand_rows = Brand.objects.bulk_create(
            [Brand(name=f"Brand {b}", registry_number=f"BR-{b:05d}", registry_status=RegistryStatus.ACTIVE,
                   registry_checked_at=now) for b in range(brands)])
        world.brand_ids = [b.pk for b in brand_rows]
        owners = User.objects.bulk_create([User(username=f"owner{b}", is_active=True) for b in range(brands)])
        world.owner_ids = [u.pk for u in owners]
        BrandMembership.objects.bulk_create(
            [BrandMembership(brand=brand, user=user, role=Role.OWNER) for brand, user in zip(brand_rows, owners)])
        world.tokens = [t.key for t in Token.objects.bulk_create(
            [Token(key=Token.generate_key(), user=user) for user in owners])]
        seller_rows = Seller.objects.bulk_create(
            [Seller(seller_id=world.seller_code(i), name=f"Seller {i}", home_marketplace_id="US", health_score=97,
                    health_checked_at=now) for i in range(sellers)], batch_size=2000)
        world.seller_ids = [s.pk for s in seller_rows]
        Participation.objects.bulk_create(
            [Participation(seller=s, marketplace_id=m) for s in seller_rows for m in MARKETS], batch_size=5000)
        with connection.cursor() as cur:
            raw = cur.cursor
            # As pg_restore does: the rows are consistent by construction, so skip the per-row
            # foreign-key triggers while loading (SET LOCAL: this transaction only).
            cur.execute("SET LOCAL session_replication_role = replica")
            _copy(raw, "brands_asin", ["brand_id", "asin", "gcid", "title", "category", "created_at", "updated_at"],
                  ((world.brand_ids[i // world.asins_per_brand], world.asin_code(i), f"GC{i:014d}", f"Item {i}",
                    "Home", now.isoformat(), now.isoformat()) for i in range(asins)))
            cur.execute("SELECT id FROM brands_asin ORDER BY id")
            world.asin_ids = [r[0] for r in cur.fetchall()]
            started = dt.datetime.now()
            _copy(raw, "authorizations_grant", GRANT_COLUMNS, grant_rows(world, now))
            if verbose:
                print(f"  COPY of {grants:,} grants: {(dt.datetime.now() - started).total_seconds():.1f}s", flush=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    return world


GRANT_COLUMNS = ["brand_id", "seller_id", "asin_id", "marketplace_id", "status", "valid_from", "valid_until",
                 "reason", "letter_reference", "created_at", "status_changed_at", "status_reason_code", "status_reason"]


def grant_rows(world: World, now: dt.datetime):
    since = (now - dt.timedelta(days=30)).isoformat()
    stamp = now.isoformat()
    n = 0
    for asin in range(world.asins):
        brand_pk = world.brand_ids[asin // world.asins_per_brand]
        asin_pk = world.asin_ids[asin]
        for k in range(world.grants_per_asin):
            seller, market = world.grant_of(asin, k)
            status, until = world.status_of(n, now)
            yield (brand_pk, world.seller_ids[seller], asin_pk, market, status, since,
                   None if until is None else until.isoformat(), "bench", "", stamp, stamp, "", "")
            n += 1
