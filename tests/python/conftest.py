"""Fixtures and helpers for the Vault-client compatibility suite.

The suite speaks to a server only through the real Vault client library (hvac), plain
`requests` for unauthenticated or deliberately malformed calls, and the `openssl` CLI for
independent checks of what comes back. It runs against one of two targets:

* a real Vault or OpenBao, when both VAULT_ADDR and VAULT_TOKEN are set (dev mode is fine);
* otherwise our own `pki-console` binary (the embedded engine), started here on a free
  port with a fresh data directory.

Tests that must restart the server or read its files call `skip_unless_embedded()` first.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import queue
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import hvac
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

REPO_ROOT = Path(__file__).resolve().parents[2]
# Without PKI_CONSOLE_BIN: the newer of the debug build (what `cargo xtask test` builds)
# and the release build.
DEFAULT_BINARY = max(
    (REPO_ROOT / "target" / profile / "pki-console" for profile in ("debug", "release")),
    key=lambda p: p.stat().st_mtime if p.is_file() else 0,
)
READY_PREFIX = "PKI Console is ready: "
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15
HTTP_TIMEOUT_S = 60

# The domain, role and TTLs of the recipe.
DOMAIN = "testlab.local"
LEAF_NAME = f"fruits.{DOMAIN}"
ROLE_MAX_TTL_S = 10 * 60
# Allowed difference between our clock and the server's when checking certificate times.
CLOCK_SKEW_S = 60


# --------------------------------------------------------------------------------------
# Small utilities
# --------------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    """A name no other test module (or earlier run against the same Vault) uses."""
    return f"{prefix}-{secrets.token_hex(4)}"


def http_verify():
    """TLS verification for plain `requests` calls and hvac, following Vault's CLI variables."""
    if os.environ.get("VAULT_CACERT"):
        return os.environ["VAULT_CACERT"]
    if os.environ.get("VAULT_SKIP_VERIFY", "").lower() in ("1", "true", "yes"):
        return False
    return True


def make_client(url: str, token: Optional[str]) -> hvac.Client:
    return hvac.Client(url=url, token=token, timeout=HTTP_TIMEOUT_S, verify=http_verify())


def skip_unless_embedded(server, why: str) -> None:
    """Call at the top of a test body that needs our own server process or its files."""
    if not server.is_embedded:
        pytest.skip(f"needs the embedded engine: {why}")


def vault_error(exc_type, fn: Callable, *args, **kwargs):
    """Runs `fn`, which must raise exactly `exc_type`; returns the exception.

    hvac maps HTTP statuses to exception classes (InvalidRequest 400, Forbidden 403,
    InvalidPath 404, InternalServerError 500, UnexpectedError for the rest), so the class
    is the status. `.errors` is Vault's `errors` array, and hvac fills it only when the
    response's Content-Type is exactly `application/json`, as Vault sends it.
    """
    with pytest.raises(hvac.exceptions.VaultError) as info:
        fn(*args, **kwargs)
    assert type(info.value) is exc_type, (
        f"expected {exc_type.__name__}, got {type(info.value).__name__}: {info.value}"
    )
    return info.value


def joined_errors(exc) -> str:
    assert isinstance(exc.errors, list), (
        f"the error response carried no JSON `errors` array (hvac saw: {exc.text!r})"
    )
    return " | ".join(exc.errors)


# --------------------------------------------------------------------------------------
# Keys, CSRs, PEM
# --------------------------------------------------------------------------------------

PEM_CERT_RE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def new_key(kind: str):
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unknown key kind {kind!r}")


def make_csr(common_name: str, kind: str = "ec", dns_names: Optional[list] = None):
    """A fresh key and a PEM CSR for `common_name` (with the same name as its DNS SAN)."""
    key = new_key(kind)
    names = [common_name] if dns_names is None else dns_names
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    csr = builder.sign(key, hashes.SHA256())
    return key, csr.public_bytes(serialization.Encoding.PEM).decode()


def pem_encode(label: str, der: bytes) -> str:
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def pem_body_der(pem: str) -> bytes:
    """The DER inside the first PEM block of `pem`, whatever its label."""
    m = re.search(r"-----BEGIN [^-]+-----(.+?)-----END [^-]+-----", pem, re.DOTALL)
    assert m, f"not PEM: {pem[:80]!r}"
    return base64.b64decode("".join(m.group(1).split()))


def break_csr_signature(csr_pem: str) -> str:
    """The same CSR with one bit of its signature flipped: it still parses, but its
    signature no longer verifies."""
    der = bytearray(x509.load_pem_x509_csr(csr_pem.encode()).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # the signature BIT STRING is the last field of a CSR
    broken = x509.load_der_x509_csr(bytes(der))
    assert not broken.is_signature_valid, "flipping a signature bit left the CSR valid"
    return pem_encode("CERTIFICATE REQUEST", bytes(der))


def pem_certs(text: str) -> list:
    """Every PEM certificate in `text`, in order."""
    return PEM_CERT_RE.findall(text or "")


def load_cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def cert_der(pem: str) -> bytes:
    return load_cert(pem).public_bytes(serialization.Encoding.DER)


def ders(pems) -> list:
    """DER encodings of every certificate in a PEM string or a list of PEM strings."""
    if isinstance(pems, str):
        pems = [pems]
    return [cert_der(c) for p in pems for c in pem_certs(p)]


def vault_serial(cert: x509.Certificate) -> str:
    """A serial as Vault formats it: lowercase hex bytes joined by colons."""
    n = cert.serial_number
    raw = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    return ":".join(f"{b:02x}" for b in raw)


SERIAL_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2})+$")


# --------------------------------------------------------------------------------------
# openssl CLI
# --------------------------------------------------------------------------------------


def openssl(*args: str, stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    if shutil.which("openssl") is None:
        pytest.fail("the `openssl` CLI is needed (apt-get install openssl)", pytrace=False)
    return subprocess.run(
        ["openssl", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def openssl_verify(tmp_path: Path, root_pem: str, intermediate_pem: str, leaf_pem: str):
    """`openssl verify -CAfile root.pem -untrusted intermediate.pem leaf.pem`."""
    (tmp_path / "root.pem").write_text(root_pem)
    (tmp_path / "intermediate.pem").write_text(intermediate_pem)
    (tmp_path / "leaf.pem").write_text(leaf_pem)
    return openssl(
        "verify",
        "-CAfile", str(tmp_path / "root.pem"),
        "-untrusted", str(tmp_path / "intermediate.pem"),
        str(tmp_path / "leaf.pem"),
    )


def assert_openssl_verifies(tmp_path: Path, root_pem: str, intermediate_pem: str, leaf_pem: str):
    res = openssl_verify(tmp_path, root_pem, intermediate_pem, leaf_pem)
    assert res.returncode == 0 and res.stdout.strip().endswith(": OK"), (
        f"openssl verify failed (rc {res.returncode}): {res.stdout} {res.stderr}"
    )


def openssl_ext(cert_pem: str, ext: str) -> str:
    """`openssl x509 -noout -ext <ext>` text, e.g. for subjectAltName."""
    res = openssl("x509", "-noout", "-ext", ext, stdin=cert_pem)
    assert res.returncode == 0, f"openssl x509 -ext {ext}: {res.stderr}"
    return res.stdout


def openssl_san_entries(cert_pem: str) -> list:
    text = openssl_ext(cert_pem, "subjectAltName")
    body = " ".join(line.strip() for line in text.splitlines()[1:])
    return [e.strip() for e in body.split(",") if e.strip()]


def openssl_not_after(cert_pem: str) -> dt.datetime:
    """notAfter as printed by `openssl x509 -enddate`, as an aware UTC datetime."""
    res = openssl("x509", "-noout", "-enddate", stdin=cert_pem)
    assert res.returncode == 0, res.stderr
    value = res.stdout.strip().split("=", 1)[1]  # e.g. "Mar  1 12:00:00 2027 GMT"
    parsed = dt.datetime.strptime(" ".join(value.split()), "%b %d %H:%M:%S %Y GMT")
    return parsed.replace(tzinfo=dt.timezone.utc)


def openssl_crl_serials(crl_pem: str) -> set:
    """Serial numbers listed by `openssl crl -text -noout` (it prints them as uppercase hex
    without colons), as integers."""
    res = openssl("crl", "-noout", "-text", stdin=crl_pem)
    assert res.returncode == 0, f"openssl crl could not parse the CRL: {res.stderr}"
    return {int(s, 16) for s in re.findall(r"Serial Number:\s*([0-9A-Fa-f]+)", res.stdout)}


def serial_int(vault_serial_str: str) -> int:
    return int(vault_serial_str.replace(":", ""), 16)


# --------------------------------------------------------------------------------------
# Raw HTTP for bodies too large for a server to read
# --------------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict
    body: bytes


def _split_head(buf: bytes):
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, buf[end + 4 :]


def _dechunk(data: bytes) -> Optional[bytes]:
    out = bytearray()
    while True:
        eol = data.find(b"\r\n")
        if eol < 0:
            return None
        size = int(data[:eol].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        chunk = data[eol + 2 : eol + 2 + size]
        if len(chunk) < size:
            return None
        out += chunk
        data = data[eol + 2 + size + 2 :]


def _parse_complete(buf: bytes, eof: bool) -> Optional[RawResponse]:
    head = _split_head(buf)
    if head is None:
        return None
    status, headers, rest = head
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(rest)
        return None if body is None else RawResponse(status, headers, body)
    if "content-length" in headers:
        n = int(headers["content-length"])
        return RawResponse(status, headers, rest[:n]) if len(rest) >= n else None
    return RawResponse(status, headers, rest) if eof else None


def post_streaming(url: str, path: str, body: bytes, headers: dict, timeout: float = 120) -> RawResponse:
    """POSTs `body` while listening for an early answer.

    A server that rejects a body as too large may answer and close before it has read
    it all; a client that only reads after sending everything then sees a reset instead
    of the answer. This one interleaves sending and reading on a raw socket (plain HTTP;
    for https it falls back to `requests`).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        r = requests.post(url + path, data=body, headers=headers, timeout=timeout, verify=http_verify())
        return RawResponse(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
    received = bytearray()
    sent = 0
    try:
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {parts.netloc}",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ] + [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sock.setblocking(False)
        view = memoryview(body)
        can_send, eof = True, False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = _parse_complete(bytes(received), eof)
            if done is not None:
                return done
            if eof:
                break
            writers = [sock] if can_send and sent < len(body) else []
            readable, writable, _ = select.select([sock], writers, [], 0.5)
            if readable:
                try:
                    chunk = sock.recv(65536)
                    if chunk:
                        received += chunk
                    else:
                        eof = True
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    eof = True
            if writable:
                try:
                    sent += sock.send(view[sent : sent + 256 * 1024])
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    can_send = False
    finally:
        sock.close()
    raise AssertionError(
        f"no complete HTTP response to a {len(body)}-byte POST {path} "
        f"(sent {sent} bytes, received {bytes(received[:200])!r})"
    )


# --------------------------------------------------------------------------------------
# The servers
# --------------------------------------------------------------------------------------


class ExternalServer:
    """A real Vault/OpenBao given by VAULT_ADDR and VAULT_TOKEN."""

    is_embedded = False
    data_dir = None

    def __init__(self, url: str, token: str):
        self.url = url.rstrip("/")
        self.token = token

    def restart(self, kill: bool = False):
        raise RuntimeError("cannot restart an external Vault; guard with skip_unless_embedded()")

    def __repr__(self):
        return f"ExternalServer({self.url})"


class ServerStartError(Exception):
    pass


class EmbeddedServer:
    """Our `pki-console` binary on 127.0.0.1:0 with its own data directory."""

    is_embedded = True

    def __init__(self, binary: Path, data_dir: Path, log_path: Path):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        self.url: Optional[str] = None
        self.token: Optional[str] = None
        self.stdout_lines: list = []

    def __repr__(self):
        return f"EmbeddedServer({self.url}, data_dir={self.data_dir})"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "pki-console.db"

    def _log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        out = "\n".join(lines[-n:] + self.stdout_lines[-n:])
        return out or "(no output)"

    def start(self) -> "EmbeddedServer":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        env = dict(os.environ)
        env.setdefault("PKI_CONSOLE_LOG", "warn")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.binary), "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
            )
        lines: queue.Queue = queue.Queue()
        self.stdout_lines = []

        def pump(stream, sink: list):
            # Keeps reading after the ready line so the child never blocks on a full pipe.
            for raw in iter(stream.readline, b""):
                line = raw.decode(errors="replace").rstrip("\r\n")
                sink.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, args=(self.proc.stdout, self.stdout_lines), daemon=True).start()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.proc.kill()
                self.proc.wait()
                raise ServerStartError(
                    f"{self.binary} did not print `{READY_PREFIX}...` within {READY_TIMEOUT_S} s:\n"
                    + self._log_tail()
                )
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait(timeout=STOP_TIMEOUT_S)
                raise ServerStartError(
                    f"{self.binary} exited with code {code} before it was ready:\n" + self._log_tail()
                )
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].strip().rstrip("/")
                break
        self.token = self._read_root_token()
        return self

    def _read_root_token(self) -> str:
        path = self.root_token_path
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if path.exists():
                token = path.read_text().strip()
                if token:
                    return token
            time.sleep(0.1)
        raise ServerStartError(f"{path} does not hold a root token after the ready line")

    @property
    def root_token_path(self) -> Path:
        return self.data_dir / "root-token"

    def stop(self, kill: bool = False) -> Optional[int]:
        """SIGTERM and wait up to 15 s (or SIGKILL, as a crash). Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        if kill:
            self.proc.send_signal(signal.SIGKILL)
            return self.proc.wait(timeout=STOP_TIMEOUT_S)
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"the server did not stop within {STOP_TIMEOUT_S} s of SIGTERM:\n" + self._log_tail()
            )

    def restart(self, kill: bool = False) -> Optional[int]:
        """Stops the server (gracefully, or with SIGKILL) and starts the same binary on the
        same data directory. The port may change: use `.url` afterwards. Returns the exit
        code of the stopped process."""
        code = self.stop(kill=kill)
        self.start()
        return code


def embedded_binary() -> Path:
    binary = Path(os.environ.get("PKI_CONSOLE_BIN") or DEFAULT_BINARY)
    if not binary.is_file():
        pytest.fail(
            f"{binary} does not exist: build it with `cargo xtask test` (which builds the server "
            "and runs this suite), or set PKI_CONSOLE_BIN, or point the suite at a real "
            "Vault with VAULT_ADDR and VAULT_TOKEN",
            pytrace=False,
        )
    return binary


def external_target() -> Optional[ExternalServer]:
    addr, token = os.environ.get("VAULT_ADDR"), os.environ.get("VAULT_TOKEN")
    if addr and token:
        return ExternalServer(addr, token)
    return None


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def embedded_server_factory(tmp_path_factory):
    """`make(name)` starts a fresh embedded server with its own data directory; all are
    stopped (SIGTERM) at the end of the session."""
    started: list = []

    def make(name: str) -> EmbeddedServer:
        binary = embedded_binary()
        base = tmp_path_factory.mktemp(name)
        srv = EmbeddedServer(binary, base / "data", base / "server.log")
        try:
            srv.start()
        except ServerStartError as e:
            pytest.fail(str(e), pytrace=False)
        started.append(srv)
        return srv

    yield make
    failures = []
    for srv in started:
        try:
            srv.stop()
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="session")
def server(embedded_server_factory):
    """The shared target: `.url`, `.token`, `.is_embedded`, `.data_dir` and
    `.restart(kill=False)` (embedded only)."""
    ext = external_target()
    if ext is not None:
        return ext
    return embedded_server_factory("shared")


@pytest.fixture(scope="session")
def client(server) -> hvac.Client:
    """hvac with the root token of the shared target."""
    return make_client(server.url, server.token)


# --------------------------------------------------------------------------------------
# The recipe: root CA, intermediate CA, role, policy and a token limited to it
# --------------------------------------------------------------------------------------


@dataclass
class Pki:
    url: str
    root_mount: str
    int_mount: str
    role: str
    policy: str
    policy_text: str
    root_generate: dict
    intermediate_signed: dict
    root_pem: str
    int_pem: str
    limited_token: str
    token_create: dict
    urls: dict = field(default_factory=dict)


def assert_no_content(resp, what: str) -> None:
    """Vault answers 204 with no body for mount, tune and policy writes."""
    assert isinstance(resp, requests.Response) and resp.status_code == 204, (
        f"{what}: expected 204 No Content, got {getattr(resp, 'status_code', resp)!r}"
    )


def mount_urls(url: str, mount: str) -> dict:
    return {
        "issuing_certificates": [f"{url}/v1/{mount}/ca"],
        "crl_distribution_points": [f"{url}/v1/{mount}/crl"],
    }


def build_pki(
    client: hvac.Client,
    url: str,
    *,
    root_mount: str,
    int_mount: str,
    role: str,
    policy: str,
    root_type: str = "internal",
) -> Pki:
    """The issue's recipe, step by step, through hvac. Each step must succeed."""
    pki = client.secrets.pki

    # 1. Two PKI mounts with the recipe's maximum lease TTLs.
    for path, max_ttl in ((root_mount, "87600h"), (int_mount, "43800h")):
        assert_no_content(client.sys.enable_secrets_engine(backend_type="pki", path=path), f"mount {path}")
        assert_no_content(
            client.sys.tune_mount_configuration(path=path, max_lease_ttl=max_ttl), f"tune {path}"
        )

    # 2. A self-signed root, its key kept inside (or, for `exported`, also returned once).
    root_generate = pki.generate_root(
        type=root_type,
        common_name=f"{DOMAIN} Root CA",
        extra_params={"ttl": "87600h"},
        mount_point=root_mount,
    )
    root_pem = pem_certs(root_generate["data"]["certificate"])[0]

    # 3. Issuing-certificate and CRL URLs on the root mount (they go into the intermediate).
    urls = {root_mount: mount_urls(url, root_mount), int_mount: mount_urls(url, int_mount)}
    pki.set_urls(dict(urls[root_mount]), mount_point=root_mount)

    # 4. The intermediate's key and CSR, generated inside the intermediate mount.
    gen = pki.generate_intermediate(
        type="internal", common_name=f"{DOMAIN} Intermediate CA", mount_point=int_mount
    )
    csr = gen["data"]["csr"]
    assert "BEGIN CERTIFICATE REQUEST" in csr

    # 5. The root signs it.
    signed = pki.sign_intermediate(
        csr=csr,
        common_name=f"{DOMAIN} Intermediate CA",
        extra_params={"format": "pem_bundle", "ttl": "43800h"},
        mount_point=root_mount,
    )
    int_pem = pem_certs(signed["data"]["certificate"])[0]

    # 6. The signed intermediate goes back with the root, so the chain is complete.
    pki.set_signed_intermediate(certificate=int_pem.strip() + "\n" + root_pem.strip() + "\n", mount_point=int_mount)

    # 7. URLs on the intermediate mount too (they go into the leaves).
    pki.set_urls(dict(urls[int_mount]), mount_point=int_mount)

    # 8. The role. key_type "any" so that both EC and RSA CSRs are signed (Vault's
    #    default key_type for a role is "rsa").
    pki.create_or_update_role(
        role,
        extra_params={
            "allowed_domains": DOMAIN,
            "allow_subdomains": True,
            "max_ttl": "10m",
            "key_type": "any",
        },
        mount_point=int_mount,
    )

    # 9. A policy that allows signing with that role and nothing else.
    policy_text = f'path "{int_mount}/sign/{role}" {{\n  capabilities = ["create", "update"]\n}}\n'
    assert_no_content(client.sys.create_or_update_policy(name=policy, policy=policy_text), "policy")

    # 10. A token with only that policy (plus `default`).
    token_create = client.auth.token.create(policies=[policy], ttl="1h")
    limited = token_create["auth"]["client_token"]
    assert limited and limited != client.token

    return Pki(
        url=url,
        root_mount=root_mount,
        int_mount=int_mount,
        role=role,
        policy=policy,
        policy_text=policy_text,
        root_generate=root_generate,
        intermediate_signed=signed,
        root_pem=root_pem,
        int_pem=int_pem,
        limited_token=limited,
        token_create=token_create,
        urls=urls,
    )


@dataclass
class Leaf:
    kind: str
    key: object
    csr: str
    response: dict
    requested_at: float
    answered_at: float

    @property
    def data(self) -> dict:
        return self.response["data"]

    @property
    def pem(self) -> str:
        return pem_certs(self.data["certificate"])[0]

    @property
    def cert(self) -> x509.Certificate:
        return load_cert(self.pem)

    @property
    def serial(self) -> str:
        return self.data["serial_number"]


def sign_leaf(client: hvac.Client, pki: Pki, kind: str = "ec", name: str = LEAF_NAME, **extra) -> Leaf:
    """Signs a fresh CSR for `name` through the role, with `client`'s token."""
    key, csr = make_csr(name, kind)
    before = time.time()
    resp = client.secrets.pki.sign_certificate(
        name=pki.role, csr=csr, common_name=name, extra_params=dict(extra), mount_point=pki.int_mount
    )
    return Leaf(kind, key, csr, resp, before, time.time())
