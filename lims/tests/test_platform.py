"""Settings, deployment files, authentication and the health check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_production_profile_passes_check_deploy_without_any_warning(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},  # set by the e2e tests
        "LIMS_PROFILE": "production",
        "SECRET_KEY": "x" * 20 + "-production-secret-for-the-deploy-check-0123456789",
        "ALLOWED_HOSTS": "lims.example.org",
        "DATABASE_URL": "sqlite:///" + str(tmp_path / "db.sqlite3"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_profile_refuses_to_start_without_a_real_secret_key(tmp_path):
    env = {**os.environ, "LIMS_PROFILE": "production", "SECRET_KEY": "short", "ALLOWED_HOSTS": "x"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_compose_file_declares_every_service_with_health_checks_and_volumes():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert "migrate" in " ".join(map(str, services["web"]["command"]))
    assert {"pgdata", "media"} <= set(compose["volumes"])
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert (ROOT / ".env.example").exists()


@pytest.mark.django_db
def test_tokens_are_stored_hashed_and_revoked_tokens_are_refused(researcher, token_client):
    client = token_client(researcher)
    token = client.lims_token
    assert len(token.key_hash) == 64 and not token.key_hash.startswith("lims_")
    assert client.get("/api/v1/me/").status_code == 200
    client.post(f"/api/v1/tokens/{token.pk}/revoke/")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This token was revoked."


@pytest.mark.django_db
def test_the_clear_token_key_is_shown_once(researcher, api):
    client = api(researcher)
    created = client.post("/api/v1/tokens/", {"name": "script"}, format="json").json()
    assert created["key"].startswith("lims_")
    listed = client.get("/api/v1/tokens/").json()["results"]
    assert listed[0]["key"] is None


@pytest.mark.django_db
def test_a_viewer_may_hold_a_token_that_reads_and_does_not_write(viewer, team):
    from django.test import Client

    session = Client()
    session.force_login(viewer)
    created = session.post("/api/v1/tokens/", {"name": "notebook"}, content_type="application/json")
    assert created.status_code == 201, created.content
    key = created.json()["key"]
    token = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert token.get("/api/v1/cells/").status_code == 200
    refused = token.post("/api/v1/teams/", {"name": "x"}, content_type="application/json")
    assert refused.status_code in (403, 405)
    write = token.post(
        "/api/v1/chemicals/",
        {"name": "Succinonitrile", "role": "plasticizer"},
        content_type="application/json",
    )
    assert write.status_code == 403  # shared inventory is written by researchers: a viewer's token may not
    assert session.post(f"/api/v1/tokens/{created.json()['id']}/revoke/").status_code == 200
    assert token.get("/api/v1/cells/").status_code == 401


@pytest.mark.django_db
def test_the_api_needs_authentication_and_answers_in_one_error_format(api):
    response = api().get("/api/v1/me/")
    assert response.status_code in (401, 403)
    body = response.json()["error"]
    assert body["status"] == response.status_code and body["message"]


@pytest.mark.django_db
def test_schema_and_offline_docs_are_served(api, researcher):
    client = api(researcher)
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


@pytest.mark.django_db
def test_health_check_reports_the_database(client):
    body = client.get("/health/").json()
    assert body["status"] == "ok" and body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_pages_need_login_and_carry_a_strict_content_security_policy(client, researcher):
    assert client.get("/").status_code == 302
    client.force_login(researcher)
    response = client.get("/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert b"<script>" not in response.content


@pytest.mark.django_db
def test_login_is_throttled_after_repeated_failures(client, researcher, settings):
    from django.core.cache import cache

    cache.clear()
    settings.LIMS_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "rita", "password": "wrong"}).status_code == 200
    locked = client.post("/accounts/login/", {"username": "rita", "password": "pw-rita"})
    assert locked.status_code == 429
    assert b"Too many failed log-in attempts" in locked.content
    cache.clear()
    assert client.post("/accounts/login/", {"username": "rita", "password": "pw-rita"}).status_code == 302


@pytest.mark.django_db
def test_every_form_page_carries_a_csrf_token(client, researcher):
    page = client.get("/accounts/login/")
    assert b"csrfmiddlewaretoken" in page.content


def test_the_wsgi_worker_freezes_what_it_loaded(tmp_path):
    """lims/wsgi.py: a full collection over the ~220,000 objects of a loaded worker took 170 ms (p95 spikes)."""
    code = "import gc, lims.wsgi; print(gc.get_freeze_count(), *gc.get_threshold())"
    env = {**os.environ, "DATABASE_URL": "sqlite:///" + str(tmp_path / "db.sqlite3")}
    env.pop("LIMS_GC_FREEZE", None)
    env.pop("LIMS_GC_THRESHOLD", None)
    tuned = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    frozen, *thresholds = (int(x) for x in tuned.stdout.split())
    assert frozen > 100_000 and thresholds == [700, 10, 10], tuned.stdout + tuned.stderr
    plain = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "LIMS_GC_FREEZE": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plain.stdout.split()[0] == "0" and plain.stdout.split()[1:] == ["700", "10", "10"], plain.stdout
