"""Production settings (DEBUG off, HTTPS on) still answer the container's HEALTHCHECK: Django
reads SECURE_REDIRECT_EXEMPT, and /healthz over plain HTTP is 200, not a redirect to https."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests

from tests.servers import ROOT, Daphne

pytestmark = pytest.mark.django_db(transaction=True)


def healthcheck_command() -> str:
    """The Python one-liner of the Dockerfile's HEALTHCHECK, exactly as the image runs it."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    match = re.search(r'HEALTHCHECK [^\n]*\\\n\s*CMD python -c "([^\n]+)"\n', dockerfile)
    assert match, 'Dockerfile has no `HEALTHCHECK … CMD python -c "…"`'
    return match.group(1)


@pytest.fixture
def production_web(metering, oversight_shared):
    server = Daphne(
        extra_env={
            "DJANGO_SETTINGS_MODULE": "trading_demo.settings",
            "DEBUG": "0",
            "HTTPS": "1",
            "SECRET_KEY": "production-like-secret-key-for-the-healthz-test-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "METERING_GRPC_URL": metering.target,
            "OVERSIGHT_GRPC_URL": oversight_shared.target,
        }
    )
    yield server
    server.stop()


def test_plain_http_pages_redirect_to_https(production_web):
    # The settings really are production's: anything but /healthz goes to https.
    response = requests.get(production_web.url + "/login/", allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://")


def test_healthz_answers_plain_http_with_200(production_web):
    response = requests.get(production_web.url + "/healthz", allow_redirects=False, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


def test_the_dockerfile_healthcheck_passes(production_web):
    result = subprocess.run(
        [sys.executable, "-c", healthcheck_command()],
        env={"PORT": str(production_web.port), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
