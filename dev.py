#!/usr/bin/env python3
"""Bootstrap and run the project with nothing but python3.

    python3 dev.py demo        # install into .venv, load the demo world, serve on :8000 (fake SP-API)
    python3 dev.py test [...]  # install into .venv (with test extras), run pytest
    python3 dev.py manage ...  # any manage.py command inside the venv
    python3 dev.py messages    # refresh every zh-Hans catalogue (makemessages) and compile them

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


BROWSER_PACKAGES = {"chromium": Path("/usr/bin/chromium"),
                    "fonts-wqy-zenhei": Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")}  # CJK glyphs


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium (with a CJK font for the Chinese pages); install
    them when missing and we may (root + apt)."""
    missing = [name for name, path in BROWSER_PACKAGES.items() if not path.exists()]
    if not missing:
        return
    if os.geteuid() == 0 and Path("/usr/bin/apt-get").exists():
        print(f"Installing Debian's {' and '.join(missing)} for the browser tests ...", flush=True)
        install = ["apt-get", "install", "-y", "-q", *missing]
        if subprocess.call(install, stdout=subprocess.DEVNULL) != 0:
            subprocess.call(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL)
            subprocess.call(install, stdout=subprocess.DEVNULL)
    if not Path("/usr/bin/chromium").exists():
        print("Chromium is not installed: the browser journeys will be skipped.", flush=True)


# Every catalogue: each app's own (<app>/locale) and the shared templates' (locale/).
TRANSLATED_APPS = ("audit", "authorizations", "brands", "sellers", "spapi_client")


def messages() -> int:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    admin = str(VENV / "bin" / "django-admin")
    for app in TRANSLATED_APPS:
        (ROOT / app / "locale").mkdir(exist_ok=True)
        subprocess.run([admin, "makemessages", "-l", "zh_Hans", "--no-obsolete"], cwd=ROOT / app, env=env, check=True)
    ignored = [flag for app in (*TRANSLATED_APPS, "demo", "tests", "bench", "var", "docs", "test-artifacts")
               for flag in ("-i", app)]
    subprocess.run([admin, "makemessages", "-l", "zh_Hans", "--no-obsolete", *ignored], cwd=ROOT, env=env, check=True)
    return run(["manage.py", "compilemessages", "-i", ".venv"])


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
        ensure_chromium()
        return run(["-m", "pytest", *rest])
    if command == "manage":
        return run(["manage.py", *rest])
    if command == "messages":
        return messages()
    if command == "install":
        return 0
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
