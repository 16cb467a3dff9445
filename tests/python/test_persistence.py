"""What the embedded engine keeps across restarts and crashes, and what it never writes in
the clear. Embedded only: each test skips against a real Vault.

The module runs the recipe on a server of its own (so restarting and killing it disturbs
no other module), with the root generated as `exported` so that the test knows one CA
private key and can look for it in the database files.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

import hvac
import pytest

from conftest import (
    Pki,
    assert_openssl_verifies,
    build_pki,
    cert_der,
    ders,
    make_client,
    pem_body_der,
    sign_leaf,
    skip_unless_embedded,
    unique,
)


@dataclass
class Persisted:
    server: object  # EmbeddedServer
    pki: Pki
    root_key_pem: str
    first_serial: str


@pytest.fixture(scope="module")
def persisted(embedded_server_factory) -> Persisted:
    """A server of its own, the recipe on it, and one leaf signed with the limited token.
    Requested from test bodies (after their skip), never as an argument."""
    srv = embedded_server_factory("persistence")
    client = make_client(srv.url, srv.token)
    pki = build_pki(
        client,
        srv.url,
        root_mount=unique("proot"),
        int_mount=unique("pint"),
        role="fruits-catalog",
        policy=unique("fruits"),
        root_type="exported",
    )
    root_key = pki.root_generate["data"].get("private_key") or ""
    assert "PRIVATE KEY" in root_key, "root/generate/exported must return the private key once"
    leaf = sign_leaf(make_client(srv.url, pki.limited_token), pki)
    return Persisted(srv, pki, root_key, leaf.serial)


def clients(p: Persisted):
    """Fresh root and limited clients: the port changes on every restart."""
    return make_client(p.server.url, p.server.token), make_client(p.server.url, p.pki.limited_token)


def assert_cert_kept(root: hvac.Client, p: Persisted, serial: str, pem: str = None):
    data = root.secrets.pki.read_certificate(serial, mount_point=p.pki.int_mount)["data"]
    if pem is not None:
        assert ders(data["certificate"]) == [cert_der(pem)]
    assert serial in root.secrets.pki.list_certificates(mount_point=p.pki.int_mount)["data"]["keys"]


def test_graceful_restart_keeps_everything(server, request, tmp_path):
    skip_unless_embedded(server, "restarts the server process")
    p: Persisted = request.getfixturevalue("persisted")
    pki = p.pki

    code = p.server.restart()
    assert code == 0, f"SIGTERM should end the server cleanly, exit code {code}"
    root, limited = clients(p)

    mounts = root.sys.list_mounted_secrets_engines()["data"]
    for mount, hours in ((pki.root_mount, 87600), (pki.int_mount, 43800)):
        assert mounts[f"{mount}/"]["type"] == "pki"
        assert mounts[f"{mount}/"]["config"]["max_lease_ttl"] == hours * 3600

    role = root.secrets.pki.read_role(pki.role, mount_point=pki.int_mount)["data"]
    assert (role["allowed_domains"], role["allow_subdomains"], role["max_ttl"]) == (["testlab.local"], True, 600)
    assert pki.role in root.secrets.pki.list_roles(mount_point=pki.int_mount)["data"]["keys"]
    assert root.sys.read_policy(pki.policy)["data"]["rules"] == pki.policy_text

    assert ders(root.secrets.pki.read_ca_certificate(mount_point=pki.int_mount)) == [cert_der(pki.int_pem)]
    assert ders(root.secrets.pki.read_ca_certificate(mount_point=pki.root_mount)) == [cert_der(pki.root_pem)]
    assert_cert_kept(root, p, p.first_serial)

    # The limited token survived, with its policies, and still signs (with the same CAs).
    assert set(limited.auth.token.lookup_self()["data"]["policies"]) == {"default", pki.policy}
    leaf = sign_leaf(limited, pki)
    assert_openssl_verifies(tmp_path, pki.root_pem, pki.int_pem, leaf.pem)


def test_sigkill_right_after_a_sign_keeps_the_acknowledged_cert(server, request):
    skip_unless_embedded(server, "kills the server process")
    p: Persisted = request.getfixturevalue("persisted")
    _, limited = clients(p)

    leaf = sign_leaf(limited, p.pki)  # acknowledged: the 200 has been received
    p.server.restart(kill=True)  # no chance to flush anything after that

    root, limited = clients(p)
    assert_cert_kept(root, p, leaf.serial, leaf.pem)
    assert_cert_kept(root, p, p.first_serial)
    sign_leaf(limited, p.pki)  # and the engine still works after recovering


def database_files(p: Persisted):
    db = p.server.db_path
    assert db.is_file() and db.stat().st_size > 0, f"no database at {db}"
    files = [db]
    for suffix in ("-wal", "-shm"):
        extra = db.with_name(db.name + suffix)
        if extra.exists():
            files.append(extra)
    return files


def assert_no_private_key_in(files, root_key_pem: str):
    der = pem_body_der(root_key_pem)
    middle = der[len(der) // 2 - 16 : len(der) // 2 + 16]
    assert len(der) > 64 and len(middle) == 32
    b64_lines = [line for line in root_key_pem.splitlines() if line and not line.startswith("-----")]
    needles = {
        "a PEM private key": b"PRIVATE KEY",
        "the root CA key (DER)": der,
        "32 bytes from the middle of the root CA key": middle,
        "a line of the root CA key's base64": b64_lines[len(b64_lines) // 2].encode(),
    }
    for f in files:
        blob = f.read_bytes()
        found = [what for what, needle in needles.items() if needle in blob]
        assert not found, f"{f} holds {', '.join(found)}"


def test_database_files_hold_no_private_key(server, request):
    skip_unless_embedded(server, "reads the server's database files")
    p: Persisted = request.getfixturevalue("persisted")
    _, limited = clients(p)
    sign_leaf(limited, p.pki)

    # As a crash leaves them (recent writes still in the WAL) ...
    p.server.stop(kill=True)
    assert_no_private_key_in(database_files(p), p.root_key_pem)
    # ... and after a clean shutdown (checkpointed into the main file).
    p.server.start()
    root, _ = clients(p)
    assert p.pki.int_mount + "/" in root.sys.list_mounted_secrets_engines()["data"]
    assert p.server.stop() == 0
    assert_no_private_key_in(database_files(p), p.root_key_pem)
    p.server.start()


def test_root_token_file_is_private(server, request):
    skip_unless_embedded(server, "reads the server's data directory")
    p: Persisted = request.getfixturevalue("persisted")
    path = p.server.root_token_path
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, f"{path} has mode {oct(mode)}"
    token = path.read_text()
    assert token.strip() and "\n" not in token.strip(), "just the token, maybe with a trailing newline"
