#!/usr/bin/env python3
"""The check against a peer: django-guardian object permissions on the same data, in-process,
side by side in the same run (alternating rounds).

Guardian's model of "may seller S sell ASIN A in marketplace M": one user per seller, one
permission per marketplace on the ASIN model (``brands.sell_in_us``, ...), one object permission
per grant that authorizes (an ACTIVE grant in its term: ~92 % of the world's grants; guardian has
no notion of status, term or brand registry, so revoked, suspended and expired grants get none).
Object permissions are loaded with COPY.

1. "may S sell A in M": ``selectors.check()`` (codes in, one query) vs guardian's
   ``user.has_perm(perm, asin)``, both with the objects already in hand (guardian's best case:
   only its own queries) and from the codes (looking the user and the ASIN up first, as a
   request naming codes must).
2. "what can S sell in M": the grants-list query (``GET /grants?seller_id=S&marketplace=M&
   status=ACTIVE``) vs ``get_objects_for_user(user, perm, Asin)``.

Run: ``.venv/bin/python bench/bench_guardian.py`` (default: the full world, 1,000,000 grants;
quick: ``--grants 100000 --asins 10000``). Makes and drops its own scratch database.
"""
from __future__ import annotations

import argparse
import random
import time

from _setup import load, machine, ms, percentiles, scratch_database, table

MARKET_PERMS = {"US": "sell_in_us", "DE": "sell_in_de", "UK": "sell_in_uk", "JP": "sell_in_jp"}


def load_guardian(world) -> tuple[dict[int, int], dict[str, object], int]:
    """Users per seller, the marketplace permissions, and one object permission per authorizing
    grant; returns (seller index -> user pk, marketplace -> Permission, object permissions)."""
    from _world import _copy
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction

    from brands.models import Asin

    User = get_user_model()
    asin_type = ContentType.objects.get_for_model(Asin)
    perms = {m: Permission.objects.create(codename=c, name=f"Can sell in {m}", content_type=asin_type)
             for m, c in MARKET_PERMS.items()}
    with transaction.atomic():
        users = User.objects.bulk_create([User(username=f"seller-{world.seller_code(i)}") for i in range(world.sellers)],
                                         batch_size=2000)
        user_of = {i: u.pk for i, u in enumerate(users)}
        with connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")  # consistent by construction
            cur.execute(
                "SELECT g.seller_id, g.asin_id, g.marketplace_id FROM authorizations_grant g "
                "WHERE g.status = 'ACTIVE' AND (g.valid_until IS NULL OR g.valid_until > now())")
            rows = cur.fetchall()
            seller_index = {pk: i for i, pk in enumerate(world.seller_ids)}
            _copy(cur.cursor, "guardian_userobjectpermission",
                  ["object_pk", "content_type_id", "permission_id", "user_id"],
                  ((asin_id, asin_type.pk, perms[market].pk, user_of[seller_index[seller_pk]])
                   for seller_pk, asin_id, market in rows))
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE guardian_userobjectpermission")
    return user_of, perms, len(rows)


def timed_calls(fn, items) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=1_000_000)
    parser.add_argument("--asins", type=int, default=100_000)
    parser.add_argument("--sellers", type=int, default=2_000)
    parser.add_argument("--brands", type=int, default=50)
    parser.add_argument("--calls", type=int, default=3_000, help="checks per side")
    parser.add_argument("--lists", type=int, default=200, help="'what can S sell' calls per side")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    with scratch_database("guardian", settings="guardian_settings"):
        import _world
        from django.contrib.auth import get_user_model
        from django.utils import timezone
        from guardian.shortcuts import get_objects_for_user

        from authorizations import rules, selectors
        from authorizations.models import Grant
        from brands.models import Asin, RegistryStatus

        started = time.perf_counter()
        world = _world.build(brands=args.brands, asins=args.asins, sellers=args.sellers, grants=args.grants)
        built = time.perf_counter() - started
        started = time.perf_counter()
        user_of, _perms, granted = load_guardian(world)
        loaded = time.perf_counter() - started
        print(f"machine: {machine()}; world of {args.grants:,} grants in {built:.0f}s; {granted:,} guardian object "
              f"permissions loaded (COPY) in {loaded:.0f}s", flush=True)

        User = get_user_model()
        probes = world.probes(args.calls)
        seller_index = {world.seller_code(i): i for i in range(world.sellers)}
        users = {u.pk: u for u in User.objects.filter(pk__in=user_of.values())}
        asins = {a.asin: a for a in Asin.objects.filter(asin__in={p[2] for p in probes})}
        in_hand = [(users[user_of[seller_index[s]]], asins[a], f"brands.{MARKET_PERMS[m]}", (s, a, m))
                   for _b, s, a, m in probes]

        # Both sides give the same answers (guardian holds a permission exactly where the check says yes).
        for user, asin, perm, (s, a, m) in in_hand[:300]:
            fresh = User.objects.get(pk=user.pk)  # no permission cache carried over
            assert fresh.has_perm(perm, asin) == selectors.check(seller_id=s, asin=a, marketplace=m).authorized

        def ours(item):
            s, a, m = item[3]
            selectors.check(seller_id=s, asin=a, marketplace=m)

        def guardian_in_hand(item):
            user, asin, perm, _codes = item
            for attr in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
                user.__dict__.pop(attr, None)  # a new request: nothing cached on the user
            user.has_perm(perm, asin)

        def guardian_from_codes(item):
            s, a, m = item[3]
            user = User.objects.get(username=f"seller-{s}")
            asin = Asin.objects.get(asin=a)
            user.has_perm(f"brands.{MARKET_PERMS[m]}", asin)

        now = timezone.now()
        sellers = [world.seller_code(random.Random(n).randrange(world.sellers)) for n in range(args.lists)]

        def ours_list(seller_id):
            return list(Grant.objects.filter(rules.effective_live_q(now), seller__seller_id=seller_id, marketplace_id="US",
                                             status="ACTIVE", brand__registry_status=RegistryStatus.ACTIVE)
                        .values_list("asin__asin", flat=True))

        def guardian_list(seller_id):
            user = User.objects.get(username=f"seller-{seller_id}")
            return list(get_objects_for_user(user, "brands.sell_in_us", klass=Asin, accept_global_perms=False)
                        .values_list("asin", flat=True))

        for seller_id in sellers[:20]:
            assert sorted(ours_list(seller_id)) == sorted(guardian_list(seller_id)), seller_id

        sides = {"ours": ours, "guardian_in_hand": guardian_in_hand, "guardian_from_codes": guardian_from_codes}
        samples: dict[str, list[float]] = {name: [] for name in [*sides, "ours_list", "guardian_list"]}
        for fn in (ours, guardian_in_hand, guardian_from_codes):  # warm
            timed_calls(fn, in_hand[:100])
        chunk, lchunk = len(in_hand) // args.rounds, len(sellers) // args.rounds
        for n in range(args.rounds):
            order = list(sides.items()) if n % 2 == 0 else list(reversed(sides.items()))
            for name, fn in order:
                samples[name] += timed_calls(fn, in_hand[n * chunk:(n + 1) * chunk])
            part = sellers[n * lchunk:(n + 1) * lchunk]
            pairs = [("ours_list", ours_list), ("guardian_list", guardian_list)]
            for name, fn in (pairs if n % 2 == 0 else pairs[::-1]):
                samples[name] += timed_calls(fn, part)
        sizes = [len(ours_list(s)) for s in sellers[:50]]

    stats = {name: percentiles(values) for name, values in samples.items()}
    rows = [[label, f"{len(samples[name]):,}", ms(stats[name]["p50"]), ms(stats[name]["p90"]), ms(stats[name]["p99"]),
             f"{stats[name]['p50'] / stats['ours']['p50']:.1f}x"]
            for label, name in (("ours: `selectors.check()` (codes in, 1 query)", "ours"),
                                ("guardian `user.has_perm(perm, asin)`, user and ASIN in hand", "guardian_in_hand"),
                                ("guardian, from the codes (user and ASIN looked up first)", "guardian_from_codes"))]
    print(f"\n\"May S sell A in M\", {args.grants:,} grants / {granted:,} object permissions; "
          f"{args.rounds} alternating rounds; load average {load()}")
    print(table(["", "calls", "p50 (ms)", "p90 (ms)", "p99 (ms)", "p50 vs ours"], rows))
    print(f"\n\"What can S sell in US\" (~{sum(sizes) / len(sizes):.0f} ASINs per seller)")
    print(table(["", "calls", "p50 (ms)", "p90 (ms)", "p99 (ms)", "p50 vs ours"], [
        [label, f"{len(samples[name]):,}", ms(stats[name]["p50"]), ms(stats[name]["p90"]), ms(stats[name]["p99"]),
         f"{stats[name]['p50'] / stats['ours_list']['p50']:.1f}x"]
        for label, name in (("ours: the grants-list query", "ours_list"),
                            ("guardian `get_objects_for_user()`", "guardian_list"))]))
    print(f"ratio: guardian's has_perm takes {stats['guardian_in_hand']['p50'] / stats['ours']['p50']:.1f}x our check "
          f"(objects in hand), {stats['guardian_from_codes']['p50'] / stats['ours']['p50']:.1f}x from the codes; "
          f"get_objects_for_user {stats['guardian_list']['p50'] / stats['ours_list']['p50']:.1f}x our list")


if __name__ == "__main__":
    main()
