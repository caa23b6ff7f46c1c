"""The zh-Hans catalogues are complete, compiled and current: every user-visible string of every
app has a translation, none is fuzzy, and the compiled .mo files hold exactly what the .po say.
When this fails, run ``python3 dev.py messages``, translate what it added, and run it again."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("audit", "authorizations", "brands", "sellers", "spapi_client")
CATALOGUES = [ROOT / app / "locale" for app in APPS] + [ROOT / "locale"]
DJANGO_ADMIN = Path(sys.executable).with_name("django-admin")


def _po(locale_dir: Path) -> polib.POFile:
    return polib.pofile(str(locale_dir / "zh_Hans" / "LC_MESSAGES" / "django.po"))


def _key(entry) -> tuple[str, str]:
    return (entry.msgctxt or "", entry.msgid)


@pytest.mark.parametrize("locale_dir", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_catalogue_is_fully_translated(locale_dir):
    po = _po(locale_dir)
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"untranslated in {locale_dir}: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy in {locale_dir}: {fuzzy[:10]}"


@pytest.mark.parametrize("locale_dir", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiled_catalogue_matches_source(locale_dir):
    po = _po(locale_dir)
    mo = polib.mofile(str(locale_dir / "zh_Hans" / "LC_MESSAGES" / "django.mo"))
    compiled = {_key(e): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in mo if e.msgid}
    source = {_key(e): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
              for e in po.translated_entries() if not e.obsolete}
    assert compiled == source, f"{locale_dir} is not compiled: run python3 dev.py messages"


def test_a_string_reads_the_same_in_every_catalogue():
    """Django merges the apps' catalogues into one: a msgid that two apps translate differently
    shows whichever app loads first, on the other app's pages too (a request's "Pending" read as
    a brand's "under review"). Words whose meaning differs by place carry a msgctxt instead."""
    translations: dict[tuple[str, str], dict[str, str]] = {}
    for locale_dir in CATALOGUES:
        for entry in _po(locale_dir).translated_entries():
            text = entry.msgstr or repr(sorted(entry.msgstr_plural.items()))
            translations.setdefault(_key(entry), {})[str(locale_dir.relative_to(ROOT))] = text
    differing = {key: where for key, where in translations.items() if len(set(where.values())) > 1}
    assert not differing, f"translated differently by different apps: {differing}"


def _extract(source_dir: Path, work: Path, *ignore: str) -> set[tuple[str, str]]:
    """Run makemessages over a copy of ``source_dir`` and return the msgids it finds."""
    copy = work / source_dir.name
    shutil.copytree(source_dir, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", *ignore))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run([str(DJANGO_ADMIN), "makemessages", "-l", "zh_Hans", "--no-obsolete", "--no-location"],
                   cwd=copy, env=env, check=True, capture_output=True)
    return {_key(e) for e in _po(copy / "locale") if e.msgid}


@pytest.mark.parametrize("app", APPS)
def test_catalogue_has_every_string_of_the_app(app, tmp_path):
    found = _extract(ROOT / app, tmp_path)
    known = {_key(e) for e in _po(ROOT / app / "locale") if e.msgid and not e.obsolete}
    assert found <= known, f"{app}: strings missing from the catalogue: {sorted(found - known)[:10]}"


def test_shared_catalogue_has_every_string_of_the_templates(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for part in ("templates", "config", "locale"):
        shutil.copytree(ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run([str(DJANGO_ADMIN), "makemessages", "-l", "zh_Hans", "--no-obsolete", "--no-location"],
                   cwd=root, env=env, check=True, capture_output=True)
    found = {_key(e) for e in _po(root / "locale") if e.msgid}
    known = {_key(e) for e in _po(ROOT / "locale") if e.msgid and not e.obsolete}
    assert found <= known, f"shared strings missing from locale/: {sorted(found - known)[:10]}"
