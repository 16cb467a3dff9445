"""Requests Vault refuses, and exactly how it refuses them: HTTP status and message.

The messages are Vault's own (OpenBao shares them); where the source is the reference,
the test names the function that produces the text.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import hvac
import pytest
import requests

from conftest import (
    CLOCK_SKEW_S,
    DOMAIN,
    LEAF_NAME,
    ROLE_MAX_TTL_S,
    assert_no_content,
    break_csr_signature,
    http_verify,
    joined_errors,
    make_client,
    make_csr,
    openssl_not_after,
    pem_certs,
    post_streaming,
    unique,
    vault_error,
)

# Vault's listener default for max_request_size is 32 MiB; the embedded engine's default
# (--max-body-bytes) is 1 MiB. PKI_TEST_MAX_REQUEST_SIZE overrides both.
VAULT_DEFAULT_MAX_REQUEST = 32 * 1024 * 1024
EMBEDDED_DEFAULT_MAX_REQUEST = 1024 * 1024


class Neg:
    """Names of this module's mounts and roles, unique per run."""

    def __init__(self):
        self.mount = unique("neg")  # a root CA that issues directly
        self.empty = unique("neg-empty")  # a PKI mount with no roles at all
        self.role = "web"  # key_type any, *.testlab.local, max_ttl 10m
        self.ec_role = "ec-only"  # the same, but key_type ec


@pytest.fixture(scope="module")
def neg(client):
    n = Neg()
    for path in (n.mount, n.empty):
        assert_no_content(client.sys.enable_secrets_engine(backend_type="pki", path=path), path)
    assert_no_content(client.sys.tune_mount_configuration(path=n.mount, max_lease_ttl="87600h"), "tune")
    client.secrets.pki.generate_root(
        type="internal",
        common_name=f"{DOMAIN} Negative Root CA",
        extra_params={"ttl": "87600h"},
        mount_point=n.mount,
    )
    common = {"allowed_domains": DOMAIN, "allow_subdomains": True, "max_ttl": "10m"}
    client.secrets.pki.create_or_update_role(n.role, extra_params={**common, "key_type": "any"}, mount_point=n.mount)
    client.secrets.pki.create_or_update_role(
        n.ec_role, extra_params={**common, "key_type": "ec", "key_bits": 256}, mount_point=n.mount
    )
    return n


def sign(c: hvac.Client, neg: Neg, csr: str, name: str, role=None, **extra):
    return c.secrets.pki.sign_certificate(
        name=role or neg.role, csr=csr, common_name=name, extra_params=extra, mount_point=neg.mount
    )


def test_the_fixture_role_signs_a_valid_csr(neg, client):
    """Control: the role used below does sign a good CSR, so each refusal is about the one
    thing the test changes."""
    _, csr = make_csr(LEAF_NAME, "ec")
    assert pem_certs(sign(client, neg, csr, LEAF_NAME)["data"]["certificate"])


def test_name_outside_the_allowed_domain(neg, client):
    # generateCreationBundle (builtin/logical/pki/cert_util.go): validateCommonName.
    _, csr = make_csr("fruits.example.com", "ec")
    exc = vault_error(hvac.exceptions.InvalidRequest, sign, client, neg, csr, "fruits.example.com")
    assert exc.errors == ["common name fruits.example.com not allowed by this role"]


def test_token_without_the_policy_is_denied(neg, client, server):
    token = client.auth.token.create(policies=["default"], ttl="10m")["auth"]
    assert token["policies"] == ["default"]
    plain = make_client(server.url, token["client_token"])
    _, csr = make_csr(LEAF_NAME, "ec")
    exc = vault_error(hvac.exceptions.Forbidden, sign, plain, neg, csr, LEAF_NAME)
    # Vault wraps it: "1 error occurred:\n\t* permission denied\n\n".
    assert "permission denied" in joined_errors(exc)


def test_csr_with_a_broken_signature(neg, client):
    # certutil.SignCertificate (sdk/helper/certutil/helpers.go): csr.CheckSignature()
    # fails -> UserError "request signature invalid". Name and key type are allowed.
    _, csr = make_csr(LEAF_NAME, "rsa")
    exc = vault_error(hvac.exceptions.InvalidRequest, sign, client, neg, break_csr_signature(csr), LEAF_NAME)
    assert "request signature invalid" in joined_errors(exc).lower()


def test_key_type_the_role_forbids(neg, client):
    # signCert (builtin/logical/pki/cert_util.go): role.KeyType "ec", CSR key RSA.
    _, csr = make_csr(LEAF_NAME, "rsa")
    exc = vault_error(hvac.exceptions.InvalidRequest, sign, client, neg, csr, LEAF_NAME, role=neg.ec_role)
    assert exc.errors == ["role requires keys of type ec"]


def test_ttl_above_the_role_max_is_capped_with_a_warning(neg, client):
    # getCertificateNotAfter (builtin/logical/pki/cert_util.go): a warning, not an error.
    _, csr = make_csr(LEAF_NAME, "ec")
    before = dt.datetime.now(dt.timezone.utc)
    resp = sign(client, neg, csr, LEAF_NAME, ttl="1h")
    after = dt.datetime.now(dt.timezone.utc)
    not_after = openssl_not_after(pem_certs(resp["data"]["certificate"])[0])
    assert not_after <= after + dt.timedelta(seconds=ROLE_MAX_TTL_S + CLOCK_SKEW_S)
    assert not_after >= before + dt.timedelta(seconds=ROLE_MAX_TTL_S - CLOCK_SKEW_S)
    assert 'TTL "1h0m0s" is longer than permitted maxTTL "10m0s", so maxTTL is being used' in (
        resp.get("warnings") or []
    ), resp.get("warnings")


def test_list_roles_on_a_mount_without_roles(neg, client, server):
    # A LIST that finds no keys is a 404 with an empty errors array.
    exc = vault_error(hvac.exceptions.InvalidPath, client.secrets.pki.list_roles, mount_point=neg.empty)
    assert exc.errors == []
    raw = requests.request(
        "LIST",
        f"{server.url}/v1/{neg.empty}/roles",
        headers={"X-Vault-Token": server.token},
        timeout=30,
        verify=http_verify(),
    )
    assert raw.status_code == 404
    assert raw.json() == {"errors": []}


def test_unknown_mount(client):
    # Router.routeCommon (vault/router.go) -> ErrUnsupportedPath -> 404.
    exc = vault_error(
        hvac.exceptions.InvalidPath, client.adapter.post, "/v1/nosuchmount/sign/x", json={"common_name": LEAF_NAME}
    )
    assert exc.errors == ['no handler for route "nosuchmount/sign/x". route entry not found.']


def test_malformed_json_body(neg, server):
    # Vault: "error parsing JSON"; OpenBao: "failed to decode JSON input: unexpected EOF".
    resp = requests.post(
        f"{server.url}/v1/{neg.mount}/sign/{neg.role}",
        data='{"common_name": ',
        headers={"X-Vault-Token": server.token, "Content-Type": "application/json"},
        timeout=30,
        verify=http_verify(),
    )
    assert resp.status_code == 400, resp.text
    assert resp.headers.get("Content-Type", "").split(";")[0] == "application/json"
    errors = resp.json()["errors"]
    assert errors and "json" in " ".join(errors).lower(), errors


def max_request_size(server) -> int:
    if os.environ.get("PKI_TEST_MAX_REQUEST_SIZE"):
        return int(os.environ["PKI_TEST_MAX_REQUEST_SIZE"])
    return EMBEDDED_DEFAULT_MAX_REQUEST if server.is_embedded else VAULT_DEFAULT_MAX_REQUEST


def test_oversized_body(neg, client, server):
    # Vault reads bodies through http.MaxBytesReader; "http: request body too large" is
    # turned into 413 by logical.AdjustErrorStatusCode.
    limit = max_request_size(server)
    role = "oversized"
    padding = "a" * (limit + 1024 * 1024)
    body = json.dumps({"allowed_domains": DOMAIN, "padding": padding}).encode()
    resp = post_streaming(
        server.url,
        f"/v1/{neg.mount}/roles/{role}",
        body,
        {"X-Vault-Token": server.token, "Content-Type": "application/json"},
    )
    assert resp.status == 413, (resp.status, resp.body[:300])
    assert resp.headers.get("content-type", "").split(";")[0] == "application/json"
    assert json.loads(resp.body)["errors"], resp.body
    # Nothing was written.
    vault_error(hvac.exceptions.InvalidPath, client.secrets.pki.read_role, role, mount_point=neg.mount)
