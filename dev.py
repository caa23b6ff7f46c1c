#!/usr/bin/env python3
"""Bootstrap and run the project with nothing but python3.

    python3 dev.py demo        # install into .venv, load the demo world, serve on :8000
    python3 dev.py test [...]  # install into .venv (with test extras), run pytest
    python3 dev.py manage ...  # any manage.py command inside the venv

The virtual environment lives in ``.venv`` and is reinstalled when ``pyproject.toml`` changes.
"""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed"


def _requirements_digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    digest = _requirements_digest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing the project and its test dependencies into .venv ...", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[test]"],
        cwd=ROOT,
        check=True,
    )
    STAMP.write_text(digest)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_environment() -> None:
    """Point the tests at the machine's PostgreSQL and Redis when they run and nothing else was
    configured; otherwise the suite runs on SQLite and skips what needs PostgreSQL."""
    if "DATABASE_URL" not in os.environ and _reachable("127.0.0.1", 5432):
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/sellerauth"
    if "REDIS_URL" not in os.environ and _reachable("127.0.0.1", 6379):
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    database = os.environ.get("DATABASE_URL", "sqlite (var/test.sqlite3)").split("@")[-1]
    print(f"Tests use database {database}; Redis {os.environ.get('REDIS_URL', 'not configured')}", flush=True)


def run(args: list[str]) -> int:
    return subprocess.call([str(PYTHON), *args], cwd=ROOT)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    ensure_venv()
    if command == "demo":
        env_hint = {"DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.dev")}
        os.environ.update(env_hint)
        return run(["manage.py", "demo", *rest])
    if command == "test":
        test_environment()
        return run(["-m", "pytest", *rest])
    if command == "manage":
        return run(["manage.py", *rest])
    if command == "install":
        return 0
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
