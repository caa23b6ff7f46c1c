"""With DEBUG off, static files are served by whitenoise after ``collectstatic`` (API.md), under
hashed names, including the API docs' Swagger UI (drf-spectacular-sidecar)."""
from __future__ import annotations

import json

from .production import PRODUCTION_ENV, manage

FETCH = """
from django.templatetags.static import static
from django.test import Client
client = Client(HTTP_HOST="auth.example.com")
for name in ("css/app.css", "js/app.js", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"):
    url = static(name)
    response = client.get(url, secure=True)
    print(url, response.status_code, response.get("Cache-Control", ""))
"""


def test_collected_static_files_are_served_by_whitenoise_in_production(tmp_path):
    # given the image's build step: collectstatic under the production settings
    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path)}
    collect = manage("collectstatic", "--noinput", env=env)
    assert collect.returncode == 0, collect.stderr
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    assert {"css/app.css", "js/app.js", "django_htmx/htmx-2.min.js"} <= set(manifest)

    # when the production app is asked for them by their hashed URLs
    result = manage("shell", "-c", FETCH, env=env)

    # then whitenoise serves each, cacheable for ever
    assert result.returncode == 0, result.stderr
    rows = [line.split(" ", 2) for line in result.stdout.strip().splitlines()[-3:]]
    assert [url for url, _status, _cache in rows] == [
        "/static/" + manifest[name] for name in
        ("css/app.css", "js/app.js", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")]
    assert all(status == "200" and "immutable" in cache for _url, status, cache in rows)
