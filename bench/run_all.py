#!/usr/bin/env python3
"""Run every benchmark, one after the other, and print their tables (``make bench``).

Quick set by default: the same scripts at a smaller scale (100,000 grants instead of 1,000,000,
100,000 audit events instead of 1,000,000, shorter load phases) so the whole set runs in under
10 minutes on 2 cores. ``--full`` runs the scale of docs/benchmarks.md (about 25 minutes).
Each script builds its own data in a scratch PostgreSQL database and drops it; ``--only`` runs
some of them (``--only check_http,grants``).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name: (script, quick arguments, full arguments)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "check_http": ("bench_check_http.py",
                   ["--grants", "100000", "--asins", "10000", "--rate", "1000,300", "--duration", "8",
                    "--throughput-seconds", "6"], ["--rate", "1000,300"]),
    "guardian": ("bench_guardian.py", ["--grants", "100000", "--asins", "10000", "--calls", "1200", "--lists", "80"], []),
    "check_batch": ("bench_check_batch.py", ["--grants", "100000", "--asins", "10000", "--requests", "200"], []),
    "grants": ("bench_grants.py", [], []),
    "audit": ("bench_audit.py", ["--events", "100000", "--calls", "200", "--writer-seconds", "4", "--queries", "100",
                                 "--deep-pages", "15"], []),
    "audit_verify": ("bench_audit_verify.py", ["--events", "100000"], ["--events", "1000000", "--runs", "3"]),
    "pages": ("bench_pages.py", [], []),
    "sync": ("bench_sync.py", [], []),  # the SP-API sync section's (its own scale either way)
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full scale of docs/benchmarks.md")
    parser.add_argument("--only", default="", help="comma-separated names: " + ", ".join(BENCHMARKS))
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    failed, timings = [], []
    started = time.perf_counter()
    for name in names:
        script, quick, full = BENCHMARKS[name]
        if not (HERE / script).exists():
            print(f"\n## {name}: {script} is not there, skipped")
            continue
        command = [sys.executable, str(HERE / script), *(full if args.full else quick)]
        print(f"\n## {name}\n$ {' '.join(['.venv/bin/python', 'bench/' + script, *command[2:]])}", flush=True)
        begin = time.perf_counter()
        code = subprocess.call(command, cwd=HERE)
        timings.append((name, time.perf_counter() - begin))
        if code:
            failed.append(name)
    print("\n## timings\n" + "\n".join(f"- {name}: {seconds:.0f}s" for name, seconds in timings)
          + f"\n- total: {time.perf_counter() - started:.0f}s")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
