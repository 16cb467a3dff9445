"""The issue's recipe, end to end, through hvac, checked independently with `openssl`.

Mount names, the role and the policy are the ones the issue mandates (`pki`, `pki_int`,
`fruits-catalog`), so this is the only module that uses them.

    root CA (pki, 87600h) ── signs ──> intermediate CA (pki_int, 43800h)
        └── role fruits-catalog: *.testlab.local, max_ttl 10m
        └── policy fruits-catalog: create/update on pki_int/sign/fruits-catalog
        └── a token with only that policy signs CSRs made here (EC P-256 and RSA-2048)
"""

from __future__ import annotations

import datetime as dt

import hvac
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import (
    CLOCK_SKEW_S,
    DOMAIN,
    LEAF_NAME,
    ROLE_MAX_TTL_S,
    SERIAL_RE,
    assert_openssl_verifies,
    build_pki,
    cert_der,
    ders,
    http_verify,
    load_cert,
    make_client,
    openssl,
    openssl_crl_serials,
    openssl_ext,
    openssl_not_after,
    openssl_san_entries,
    pem_certs,
    serial_int,
    sign_leaf,
    vault_error,
    vault_serial,
)

ROOT, INT, ROLE, POLICY = "pki", "pki_int", "fruits-catalog", "fruits-catalog"
KINDS = ["ec", "rsa"]


@pytest.fixture(scope="module")
def pki(client, server):
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    taken = [m for m in (ROOT, INT) if f"{m}/" in mounts]
    if taken:
        pytest.fail(
            f"{', '.join(taken)} already mounted on {server.url}: this module needs the mandated "
            "mount names, so run it against a fresh server (a dev server keeps nothing across "
            "restarts) or disable them first (`vault secrets disable pki_int; vault secrets disable pki`)",
            pytrace=False,
        )
    return build_pki(client, server.url, root_mount=ROOT, int_mount=INT, role=ROLE, policy=POLICY)


@pytest.fixture(scope="module")
def limited(pki, server) -> hvac.Client:
    """hvac with the token that has only the fruits-catalog policy."""
    return make_client(server.url, pki.limited_token)


@pytest.fixture(scope="module")
def leaves(pki, limited):
    """One leaf per key kind, signed with the limited token."""
    return {kind: sign_leaf(limited, pki, kind) for kind in KINDS}


# --- setup: mounts, CAs, URLs -----------------------------------------------------------


def test_mounts_are_pki_with_the_tuned_max_ttl(pki, client):
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    for mount, hours in ((ROOT, 87600), (INT, 43800)):
        assert mounts[f"{mount}/"]["type"] == "pki"
        assert mounts[f"{mount}/"]["config"]["max_lease_ttl"] == hours * 3600
        tune = client.sys.read_mount_configuration(path=mount)["data"]
        assert tune["max_lease_ttl"] == hours * 3600


def test_root_is_self_signed_and_keeps_its_key(pki):
    data = pki.root_generate["data"]
    root = load_cert(pki.root_pem)
    assert root.subject == root.issuer
    assert root.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == f"{DOMAIN} Root CA"
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert "private_key" not in data or not data["private_key"], "an internal root must not export its key"
    assert ders(data["issuing_ca"]) == [cert_der(pki.root_pem)]
    assert SERIAL_RE.match(data["serial_number"]) and data["serial_number"] == vault_serial(root)
    lifetime = root.not_valid_after_utc - root.not_valid_before_utc
    assert abs(lifetime - dt.timedelta(hours=87600)) < dt.timedelta(minutes=5), lifetime


def test_intermediate_is_signed_by_the_root(pki, tmp_path):
    inter = load_cert(pki.int_pem)
    assert inter.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == f"{DOMAIN} Intermediate CA"
    assert inter.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert inter.issuer == load_cert(pki.root_pem).subject
    # openssl: the intermediate chains to the root (verify it as the "leaf").
    (tmp_path / "root.pem").write_text(pki.root_pem)
    (tmp_path / "int.pem").write_text(pki.int_pem)
    res = openssl("verify", "-CAfile", str(tmp_path / "root.pem"), str(tmp_path / "int.pem"))
    assert res.returncode == 0, res.stdout + res.stderr
    lifetime = inter.not_valid_after_utc - inter.not_valid_before_utc
    assert abs(lifetime - dt.timedelta(hours=43800)) < dt.timedelta(minutes=5), lifetime
    # pem_bundle: the certificate first, then the CA that signed it.
    bundle = pem_certs(pki.intermediate_signed["data"]["certificate"])
    assert ders(bundle) == [cert_der(pki.int_pem), cert_der(pki.root_pem)]
    # The URLs configured on the root mount went into the intermediate.
    aia = openssl_ext(pki.int_pem, "authorityInfoAccess")
    assert f"CA Issuers - URI:{pki.url}/v1/{ROOT}/ca" in aia
    assert f"URI:{pki.url}/v1/{ROOT}/crl" in openssl_ext(pki.int_pem, "crlDistributionPoints")


def test_urls_read_back(pki, client):
    for mount in (ROOT, INT):
        data = client.secrets.pki.read_urls(mount_point=mount)["data"]
        for key, value in pki.urls[mount].items():
            assert data[key] == value, (mount, key, data)


# --- the limited token signs ------------------------------------------------------------


def test_limited_token_has_only_its_policy(pki, limited):
    assert set(pki.token_create["auth"]["policies"]) == {"default", POLICY}
    assert set(limited.auth.token.lookup_self()["data"]["policies"]) == {"default", POLICY}
    # Anything outside pki_int/sign/fruits-catalog is denied.
    vault_error(hvac.exceptions.Forbidden, limited.secrets.pki.read_role, ROLE, mount_point=INT)
    vault_error(hvac.exceptions.Forbidden, limited.sys.list_mounted_secrets_engines)


@pytest.mark.parametrize("kind", KINDS)
def test_leaf_verifies_with_openssl(kind, pki, leaves, tmp_path):
    assert_openssl_verifies(tmp_path, pki.root_pem, pki.int_pem, leaves[kind].pem)


@pytest.mark.parametrize("kind", KINDS)
def test_leaf_is_for_the_csr_key_and_name(kind, leaves):
    leaf = leaves[kind]
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert leaf.cert.public_key().public_bytes(serialization.Encoding.DER, spki) == leaf.key.public_key().public_bytes(
        serialization.Encoding.DER, spki
    )
    assert leaf.cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == LEAF_NAME
    assert openssl_san_entries(leaf.pem) == [f"DNS:{LEAF_NAME}"]
    # Not a CA (Vault leaves carry no BasicConstraints unless the role asks for it).
    constraints = [e.value for e in leaf.cert.extensions if isinstance(e.value, x509.BasicConstraints)]
    assert all(c.ca is False for c in constraints)


@pytest.mark.parametrize("kind", KINDS)
def test_leaf_lifetime_is_the_role_max_ttl(kind, leaves):
    leaf = leaves[kind]
    not_after = openssl_not_after(leaf.pem)
    latest = dt.datetime.fromtimestamp(leaf.answered_at + ROLE_MAX_TTL_S + CLOCK_SKEW_S, dt.timezone.utc)
    earliest = dt.datetime.fromtimestamp(leaf.requested_at + ROLE_MAX_TTL_S - CLOCK_SKEW_S, dt.timezone.utc)
    assert not_after <= latest, f"notAfter {not_after} is beyond now + 10 minutes"
    assert not_after >= earliest, f"notAfter {not_after}: no TTL was asked for, so Vault gives the role's max_ttl"
    assert leaf.data["expiration"] == int(not_after.timestamp())


@pytest.mark.parametrize("kind", KINDS)
def test_leaf_issuing_ca_and_chain(kind, pki, leaves):
    data = leaves[kind].data
    assert ders(data["issuing_ca"]) == [cert_der(pki.int_pem)]
    chain = ders(data["ca_chain"])
    assert cert_der(pki.int_pem) in chain
    assert cert_der(pki.root_pem) in chain


@pytest.mark.parametrize("kind", KINDS)
def test_leaf_serial_number_format(kind, leaves):
    leaf = leaves[kind]
    assert SERIAL_RE.match(leaf.serial), leaf.serial
    assert leaf.serial == vault_serial(leaf.cert)


@pytest.mark.parametrize("kind", KINDS)
def test_leaf_carries_the_intermediate_mount_urls(kind, pki, leaves):
    pem = leaves[kind].pem
    assert f"CA Issuers - URI:{pki.url}/v1/{INT}/ca" in openssl_ext(pem, "authorityInfoAccess")
    assert f"URI:{pki.url}/v1/{INT}/crl" in openssl_ext(pem, "crlDistributionPoints")


def test_leaf_urls_serve_the_issuer_and_its_crl(pki, leaves):
    """The URLs in the leaf work without a token: DER intermediate, DER CRL."""
    ca = requests.get(f"{pki.url}/v1/{INT}/ca", timeout=30, verify=http_verify())
    assert ca.status_code == 200
    assert x509.load_der_x509_certificate(ca.content).public_bytes(serialization.Encoding.DER) == cert_der(pki.int_pem)
    crl = requests.get(f"{pki.url}/v1/{INT}/crl", timeout=30, verify=http_verify())
    assert crl.status_code == 200
    parsed = x509.load_der_x509_crl(crl.content)
    assert parsed.issuer == load_cert(pki.int_pem).subject


# --- reading back -------------------------------------------------------------------------


def test_role_reads_back(pki, client):
    data = client.secrets.pki.read_role(ROLE, mount_point=INT)["data"]
    assert data["allowed_domains"] == [DOMAIN]
    assert data["allow_subdomains"] is True
    assert data["max_ttl"] == ROLE_MAX_TTL_S
    assert data["key_type"] == "any"


def test_roles_list_includes_the_role(pki, client):
    assert ROLE in client.secrets.pki.list_roles(mount_point=INT)["data"]["keys"]


def test_policy_reads_back(pki, client):
    assert client.sys.read_policy(POLICY)["data"]["rules"] == pki.policy_text


@pytest.mark.parametrize("kind", KINDS)
def test_cert_by_serial(kind, leaves, client):
    leaf = leaves[kind]
    data = client.secrets.pki.read_certificate(leaf.serial, mount_point=INT)["data"]
    assert ders(data["certificate"]) == [cert_der(leaf.pem)]
    assert data["revocation_time"] == 0


def test_certs_list_includes_the_serials(leaves, client):
    keys = client.secrets.pki.list_certificates(mount_point=INT)["data"]["keys"]
    for leaf in leaves.values():
        assert leaf.serial in keys


def test_ca_pem_is_unauthenticated_and_is_the_intermediate(pki, client):
    resp = requests.get(f"{pki.url}/v1/{INT}/ca/pem", timeout=30, verify=http_verify())
    assert resp.status_code == 200
    assert ders(resp.text) == [cert_der(pki.int_pem)]
    assert ders(client.secrets.pki.read_ca_certificate(mount_point=INT)) == [cert_der(pki.int_pem)]
    assert ders(client.secrets.pki.read_ca_certificate(mount_point=ROOT)) == [cert_der(pki.root_pem)]


def test_ca_chain_holds_intermediate_and_root(pki, client):
    chain = ders(client.secrets.pki.read_ca_certificate_chain(mount_point=INT))
    assert cert_der(pki.int_pem) in chain
    assert cert_der(pki.root_pem) in chain


def test_issuers_list_includes_the_intermediate(pki, client):
    keys = client.secrets.pki.list_issuers(mount_point=INT)["data"]["keys"]
    assert len(keys) >= 1
    certs = [client.secrets.pki.read_issuer(k, mount_point=INT)["data"]["certificate"] for k in keys]
    assert cert_der(pki.int_pem) in ders(certs)


# --- revocation -----------------------------------------------------------------------------


def test_revoked_serial_is_in_the_crl(pki, client, limited, leaves):
    victim = sign_leaf(limited, pki, "ec")
    revoked = client.secrets.pki.revoke_certificate(victim.serial, mount_point=INT)
    assert revoked["data"]["revocation_time"] > 0

    crl_resp = requests.get(f"{pki.url}/v1/{INT}/crl/pem", timeout=30, verify=http_verify())
    assert crl_resp.status_code == 200
    crl_pem = crl_resp.text
    assert "BEGIN X509 CRL" in crl_pem
    listed = openssl_crl_serials(crl_pem)
    assert serial_int(victim.serial) in listed, f"{victim.serial} not in {sorted(map(hex, listed))}"
    # openssl prints the serial as uppercase hex without colons.
    crl_text = openssl("crl", "-noout", "-text", stdin=crl_pem).stdout
    assert f"Serial Number: {victim.serial.replace(':', '').upper()}" in crl_text
    # Only what was revoked: the flow's other leaves are not listed.
    for leaf in leaves.values():
        assert serial_int(leaf.serial) not in listed
    # The CRL is signed by the intermediate.
    inter = load_cert(pki.int_pem)
    assert x509.load_pem_x509_crl(crl_pem.encode()).is_signature_valid(inter.public_key())
    # hvac's helper reads the same CRL.
    assert serial_int(victim.serial) in openssl_crl_serials(client.secrets.pki.read_crl(mount_point=INT))

    data = client.secrets.pki.read_certificate(victim.serial, mount_point=INT)["data"]
    assert data["revocation_time"] > 0
