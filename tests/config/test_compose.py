"""docker-compose.yml is valid Compose (checked by docker-compose, v1, when installed: .ci/run
installs it) and wires the optional fake SP-API profile."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from .production import ROOT

DOCKER_COMPOSE = shutil.which("docker-compose")
REQUIRED = {"POSTGRES_PASSWORD": "ci", "SECRET_KEY": "ci", "FIELD_ENCRYPTION_KEY": "ci"}

pytestmark = pytest.mark.skipif(DOCKER_COMPOSE is None,
                                reason="docker-compose is not installed (apt-get install docker-compose)")


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKER_COMPOSE, "-f", "docker-compose.yml", *args], cwd=ROOT, env={"PATH": "/usr/bin:/bin",
                          **env}, capture_output=True, text=True, timeout=60)


def test_the_compose_file_is_valid():
    result = compose("config", "-q", env=REQUIRED)
    assert result.returncode == 0, result.stderr


def test_the_compose_file_refuses_to_start_without_its_secrets():
    result = compose("config", "-q", env={})
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD" in result.stderr or "set SECRET_KEY" in result.stderr


def test_the_fake_spapi_profile_runs_the_fake_and_points_the_app_at_it():
    # given the settings docs/operations.md gives for the profile
    env = {**REQUIRED, "SPAPI_ENDPOINT": "http://fake-spapi:8100",
           "SPAPI_LWA_TOKEN_URL": "http://fake-spapi:8100/auth/o2/token",
           "SPAPI_CONSENT_URL": "http://localhost:8100/apps/authorize/consent"}

    # when compose resolves the file with the profile
    result = compose("--profile", "fake-spapi", "config", env=env)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]

    # then the fake runs only with the profile, and web and worker talk to it
    assert services["fake-spapi"]["profiles"] == ["fake-spapi"]
    assert services["fake-spapi"]["command"][:3] == ["python", "manage.py", "fake_spapi"]
    assert "8100" in str(services["fake-spapi"]["ports"])
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert environment["SPAPI_ENDPOINT"] == "http://fake-spapi:8100"
        assert environment["SPAPI_LWA_TOKEN_URL"] == "http://fake-spapi:8100/auth/o2/token"
        assert environment["SPAPI_CONSENT_URL"] == "http://localhost:8100/apps/authorize/consent"
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
