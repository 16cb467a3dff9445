"""sys/health and sys/seal-status: an initialized, unsealed, active server."""

from __future__ import annotations

import requests

from conftest import http_verify


def test_health_through_hvac(client):
    health = client.sys.read_health_status(method="GET")
    assert isinstance(health, dict), f"expected 200 with JSON, got {health!r}"
    assert health["initialized"] is True
    assert health["sealed"] is False
    assert health["standby"] is False


def test_health_needs_no_token(server):
    resp = requests.get(f"{server.url}/v1/sys/health", timeout=30, verify=http_verify())
    assert resp.status_code == 200
    assert resp.headers.get("Content-Type", "").split(";")[0] == "application/json"
    assert resp.json()["initialized"] is True


def test_seal_status(client, server):
    status = client.sys.read_seal_status()
    assert status["sealed"] is False
    assert status["initialized"] is True
    assert client.sys.is_sealed() is False
    # Unauthenticated too.
    resp = requests.get(f"{server.url}/v1/sys/seal-status", timeout=30, verify=http_verify())
    assert resp.status_code == 200
    assert resp.json()["sealed"] is False
