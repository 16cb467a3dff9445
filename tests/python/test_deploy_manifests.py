"""deploy/kubernetes and the Containerfile: schemas, the deployment's promises, and the
agreement of the pieces with each other and with the server's code.

* Every object in every manifest validates against the Kubernetes 1.30 schemas
  (`kubernetes-validate`, strict: an unknown field is an error, as `kubectl apply`'s
  default field validation makes it) or, for cert-manager's kinds, against the
  `openAPIV3Schema` of cert-manager's CRDs in `../shared/crds` (made strict the same
  way). `PKI_TEST_CRDS` names another directory of CRDs.
* With `kubectl` on PATH, `kubectl kustomize` renders the kustomization (with the
  generated Secrets and the optional Ingress) and every rendered object validates too.
* The Deployment keeps what the README promises (two replicas, non-root, read-only root
  filesystem, no privilege escalation, requests and limits, probes on /healthz), and the
  objects fit together (selectors, Secret names, mounted paths, the Issuer, RBAC).
* Environment variables the manifests set exist in `backend/src`; the Containerfile's
  user, port and binary are the ones the Deployment expects.
* Our binary (`$PKI_CONSOLE_BIN`, as for the rest of the suite), started with the
  Deployment's environment, accepts it, serves /healthz over HTTPS in upstream mode and
  exits 0 on SIGTERM.
* Broken copies (a misspelt field, a wrong type, a missing required field, a weakened
  security setting) fail: the checks can fail.

The module needs no Vault target (it reads files and starts the binary on its own), so
it runs once: in the run against the embedded engine (VAULT_ADDR unset), not again when
the suite targets an external Vault.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import ipaddress
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import requests
import yaml
from conftest import READY_PREFIX, embedded_binary
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("VAULT_ADDR")),
    reason="reads files only: runs in the embedded-engine run (VAULT_ADDR unset)",
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy" / "kubernetes"
CONTAINERFILE = REPO_ROOT / "Containerfile"
CRDS = Path(os.environ.get("PKI_TEST_CRDS") or REPO_ROOT.parent / "shared" / "crds")
# The oldest Kubernetes the manifests are written for.
K8S_VERSION = "1.30"
NAMESPACE = "pki-console"
READ_ONLY_VERBS = {"get", "list", "watch"}


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def load_docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def kustomizations() -> list[Path]:
    return sorted(DEPLOY.rglob("kustomization.yaml"))


def patch_files() -> set[Path]:
    """Files that kustomizations use as patches: fragments, not whole objects."""
    out = set()
    for k in kustomizations():
        spec = yaml.safe_load(k.read_text())
        for p in spec.get("patches", []) or []:
            if isinstance(p, dict) and "path" in p:
                out.add((k.parent / p["path"]).resolve())
    return out


def manifest_files() -> list[Path]:
    patches = patch_files()
    return sorted(
        p
        for p in DEPLOY.rglob("*.yaml")
        if p.name != "kustomization.yaml" and p.resolve() not in patches
    )


def base_objects() -> list[dict]:
    """Every object of the base directory's listed and optional manifests."""
    objs = []
    for name in listed_resources(DEPLOY / "kustomization.yaml")[0] | optional_resources(
        DEPLOY / "kustomization.yaml"
    ):
        objs.extend(load_docs((DEPLOY / name).read_text()))
    return objs


def listed_resources(kustomization: Path) -> tuple[set[str], dict]:
    spec = yaml.safe_load(kustomization.read_text())
    return set(spec.get("resources", []) or []), spec


def optional_resources(kustomization: Path) -> set[str]:
    """Resources left commented out in the list (`# - ingress.yaml`): offered, not applied."""
    return set(re.findall(r"^#\s*-\s*(\S+\.yaml)\s*$", kustomization.read_text(), re.M))


def one(objs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [
        o
        for o in objs
        if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


# --------------------------------------------------------------------------------------
# Schema validation
# --------------------------------------------------------------------------------------


def strict(schema):
    """An OpenAPI schema from a CRD, with unknown fields refused wherever the schema lists
    the fields (what the API server's strict field validation does)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


_crd_schemas: dict | None = None


def crd_schemas() -> dict:
    """(apiVersion, kind) -> the strict openAPIV3Schema, from every CRD in CRDS."""
    global _crd_schemas
    if _crd_schemas is None:
        if not CRDS.is_dir():
            pytest.fail(
                f"cert-manager's CRDs are not at {CRDS} (the shared/ folder beside the "
                "repository); set PKI_TEST_CRDS to a directory holding them",
                pytrace=False,
            )
        found = {}
        for f in sorted(CRDS.glob("*.yaml")):
            for crd in load_docs(f.read_text()):
                if crd.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for v in crd["spec"]["versions"]:
                    schema = strict(copy.deepcopy(v["schema"]["openAPIV3Schema"]))
                    # metadata is `type: object` there; it is checked as ObjectMeta below.
                    schema["properties"]["metadata"] = {"type": "object"}
                    found[(f"{group}/{v['name']}", kind)] = schema
        assert found, f"no CustomResourceDefinition in {CRDS}"
        _crd_schemas = found
    return _crd_schemas


def path_of(err) -> str:
    return ".".join(str(p) for p in err.absolute_path) or "(top)"


def problems(obj: dict) -> list[str]:
    """Why the API server would refuse `obj` (empty when it validates)."""
    kind, api = obj.get("kind"), obj.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api, str):
        return ["an object without apiVersion/kind"]
    what = f"{kind} {obj.get('metadata', {}).get('name', '?')}"
    if api.split("/")[0].endswith("cert-manager.io"):
        schema = crd_schemas().get((api, kind))
        if schema is None:
            return [f"{what}: no CRD in {CRDS} defines {kind} in {api}"]
        errs = [
            f"{what}: {path_of(e)}: {e.message}"
            for e in jsonschema.Draft202012Validator(schema).iter_errors(obj)
        ]
        # ObjectMeta's schema, by way of a built-in kind that has nothing else required.
        meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj.get("metadata")}
        stand_in = f"ConfigMap {obj.get('metadata', {}).get('name', '?')}"
        return errs + [e.replace(stand_in, what, 1) for e in problems(meta)]
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        return [f"{what}: {path_of(e)}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError as e:
        return [f"{what}: {e.message}"]
    return []


def file_problems(path: Path) -> list[str]:
    docs = load_docs(path.read_text())
    if not docs:
        return [f"{path}: no object"]
    return [p for d in docs for p in problems(d)]


# --------------------------------------------------------------------------------------
# The deployment's promises and how the objects fit together
# --------------------------------------------------------------------------------------


def matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def deployment_problems(objs: list[dict], replicas: int = 2) -> list[str]:
    """What the README promises about the Deployment; empty when it holds."""
    dep = one(objs, "Deployment", "pki-console")
    out = []
    spec, pod = dep["spec"], dep["spec"]["template"]["spec"]
    if spec.get("replicas") != replicas:
        out.append(f"replicas is {spec.get('replicas')}, not {replicas}")
    if not matches(spec["selector"]["matchLabels"], dep["spec"]["template"]["metadata"]["labels"]):
        out.append("the Deployment's selector does not match its pods")
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True or not psc.get("runAsUser"):
        out.append("the pod must set runAsNonRoot and a non-zero runAsUser")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        out.append("the pod must use the RuntimeDefault seccomp profile")
    if len(pod["containers"]) != 1:
        out.append("expected one container")
    c = pod["containers"][0]
    sc = c.get("securityContext", {})
    if sc.get("readOnlyRootFilesystem") is not True:
        out.append("readOnlyRootFilesystem must be true")
    if sc.get("allowPrivilegeEscalation") is not False:
        out.append("allowPrivilegeEscalation must be false")
    if sc.get("privileged"):
        out.append("the container must not be privileged")
    if sc.get("capabilities", {}).get("drop") != ["ALL"]:
        out.append("capabilities must drop ALL")
    res = c.get("resources", {})
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if not res.get(part, {}).get(r):
                out.append(f"resources.{part}.{r} is not set")
    port_names = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    for probe in ("readinessProbe", "livenessProbe"):
        get = c.get(probe, {}).get("httpGet")
        if not get or get.get("path") != "/healthz":
            out.append(f"{probe} must be an httpGet of /healthz")
            continue
        if get.get("port") not in port_names and get.get("port") not in port_names.values():
            out.append(f"{probe} names port {get.get('port')!r}, which the container lacks")
        if get.get("scheme") != ("HTTPS" if env_of(c).get("PKI_CONSOLE_TLS_CERT") else "HTTP"):
            out.append(f"{probe}'s scheme does not match whether the console serves TLS")
    # Everything the console may write is on a writable volume: the root is read-only.
    writable = [
        m["mountPath"]
        for m in c.get("volumeMounts", [])
        if not m.get("readOnly")
        and any(
            v["name"] == m["name"] and ("emptyDir" in v or "persistentVolumeClaim" in v)
            for v in pod.get("volumes", [])
        )
    ]
    data_dir = env_of(c).get("PKI_CONSOLE_DATA_DIR")
    if not data_dir or not any(under(data_dir, w) for w in writable):
        out.append(f"the data dir {data_dir!r} is not on a writable volume ({writable})")
    if not any(under("/tmp", w) for w in writable):
        out.append("/tmp is not on a writable volume")
    return out


def under(path: str, mount: str) -> bool:
    return path == mount or path.startswith(mount.rstrip("/") + "/")


def env_of(container: dict) -> dict:
    """The container's literal environment values (not those from Secrets)."""
    return {e["name"]: e.get("value") for e in container.get("env", []) if "value" in e}


def fit_problems(objs: list[dict]) -> list[str]:
    """Whether the objects refer to each other correctly; empty when they do."""
    out = []
    dep = one(objs, "Deployment", "pki-console")
    pod = dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    c = pod["containers"][0]
    env = env_of(c)
    for o in objs:
        ns = o["metadata"].get("namespace")
        if o["kind"] in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            continue
        if ns != NAMESPACE:
            out.append(f"{o['kind']} {o['metadata']['name']} is in namespace {ns!r}")
    one(objs, "Namespace", NAMESPACE)

    svc = one(objs, "Service", "pki-console")
    if not matches(svc["spec"]["selector"], labels):
        out.append("the Service's selector does not match the pods")
    port_names = {p.get("name") for p in c["ports"]} | {p["containerPort"] for p in c["ports"]}
    for p in svc["spec"]["ports"]:
        if p["targetPort"] not in port_names:
            out.append(f"the Service targets port {p['targetPort']!r}, which the pods lack")
    listen_port = int(env.get("PKI_CONSOLE_LISTEN", ":0").rsplit(":", 1)[1])
    if listen_port not in {p["containerPort"] for p in c["ports"]}:
        out.append(f"the console listens on {listen_port}, not on a declared container port")
    pdb = one(objs, "PodDisruptionBudget", "pki-console")
    if not matches(pdb["spec"]["selector"]["matchLabels"], labels):
        out.append("the PodDisruptionBudget's selector does not match the pods")
    if pdb["spec"].get("minAvailable", 0) >= dep["spec"]["replicas"] and dep["spec"]["replicas"] > 1:
        out.append("the PodDisruptionBudget would block every voluntary eviction")
    netpol = one(objs, "NetworkPolicy", "pki-console")
    if not matches(netpol["spec"]["podSelector"]["matchLabels"], labels):
        out.append("the NetworkPolicy does not select the pods")
    allowed = {p["port"] for rule in netpol["spec"].get("ingress", []) for p in rule.get("ports", [])}
    if listen_port not in allowed:
        out.append(f"the NetworkPolicy does not admit the console's port {listen_port}")

    # The service account, and RBAC that only reads.
    sa = pod.get("serviceAccountName")
    one(objs, "ServiceAccount", sa)
    crb = one(objs, "ClusterRoleBinding", "pki-console-viewer")
    if {"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE} not in crb["subjects"]:
        out.append("the ClusterRoleBinding does not bind the pods' service account")
    role = one(objs, "ClusterRole", crb["roleRef"]["name"])
    granted = set()
    for rule in role["rules"]:
        if set(rule["verbs"]) - READ_ONLY_VERBS:
            out.append(f"the ClusterRole grants {sorted(set(rule['verbs']) - READ_ONLY_VERBS)}")
        granted |= {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    for need in [
        ("cert-manager.io", "certificates"),
        ("cert-manager.io", "certificaterequests"),
        ("cert-manager.io", "issuers"),
        ("cert-manager.io", "clusterissuers"),
        ("networking.k8s.io", "ingresses"),
        ("", "secrets"),
    ]:
        if need not in granted:
            out.append(f"the ClusterRole lacks read access to {need}")

    # TLS: the Certificate's Secret is mounted where --tls-cert/--tls-key point.
    cert = one(objs, "Certificate", "pki-console-tls")
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}

    def secret_file(path: str | None) -> tuple[str, str] | None:
        if not path:
            return None
        directory, key = path.rsplit("/", 1)
        vol = volumes.get(mounts.get(directory, ""), {})
        return (vol["secret"]["secretName"], key) if "secret" in vol else None

    for var, key in (("PKI_CONSOLE_TLS_CERT", "tls.crt"), ("PKI_CONSOLE_TLS_KEY", "tls.key")):
        if secret_file(env.get(var)) != (cert["spec"]["secretName"], key):
            out.append(f"{var}={env.get(var)!r} is not {key} of the Certificate's Secret")
    issuer = one(objs, cert["spec"]["issuerRef"].get("kind", "Issuer"), cert["spec"]["issuerRef"]["name"])
    if issuer["metadata"]["name"] != "vault-issuer" or "vault" not in issuer["spec"]:
        out.append("the console's Certificate is not issued by the Vault Issuer `vault-issuer`")
    svc_dns = f"{svc['metadata']['name']}.{NAMESPACE}.svc"
    if svc_dns not in cert["spec"].get("dnsNames", []):
        out.append(f"the Certificate does not name the Service ({svc_dns})")
    # The upstream's CA: the same Secret for the console (VAULT_CACERT) and the Issuer.
    ca_ref = issuer["spec"]["vault"].get("caBundleSecretRef", {})
    if secret_file(env.get("VAULT_CACERT")) != (ca_ref.get("name"), ca_ref.get("key")):
        out.append("VAULT_CACERT is not the Secret the Issuer trusts Vault with")
    # cert-manager may request tokens for the Issuer's service account.
    issuer_sa = issuer["spec"]["vault"]["auth"]["kubernetes"]["serviceAccountRef"]["name"]
    one(objs, "ServiceAccount", issuer_sa)
    rb = [o for o in objs if o["kind"] == "RoleBinding" and o["subjects"][0]["name"] == "cert-manager"]
    roles = [one(objs, "Role", b["roleRef"]["name"]) for b in rb]
    if not any(
        r["resources"] == ["serviceaccounts/token"]
        and r.get("resourceNames") == [issuer_sa]
        and r["verbs"] == ["create"]
        for role in roles
        for r in role["rules"]
    ):
        out.append("cert-manager may not request the Issuer's service account token")
    # Upstream mode: VAULT_ADDR is set (from the ConfigMap) and sessions share one key.
    from_cm = [e["configMapRef"]["name"] for e in c.get("envFrom", []) if "configMapRef" in e]
    cm_env = {}
    for name in from_cm:
        cm_env.update(one(objs, "ConfigMap", name)["data"])
    if not (cm_env | env).get("VAULT_ADDR", "").startswith("https://"):
        out.append("VAULT_ADDR (upstream mode) is not an https:// address")
    key_refs = [e for e in c.get("env", []) if e["name"] == "PKI_CONSOLE_SESSION_KEY"]
    if not key_refs or "secretKeyRef" not in key_refs[0].get("valueFrom", {}):
        out.append("PKI_CONSOLE_SESSION_KEY does not come from a Secret")
    return out


def config_env_names() -> set[str]:
    """The environment variables the server reads (`env = "..."` in its clap config, and
    the log filter)."""
    names = set()
    for f in (REPO_ROOT / "backend" / "src").rglob("*.rs"):
        text = f.read_text()
        names |= set(re.findall(r'\benv\s*=\s*"([A-Z0-9_]+)"', text))
        names |= set(re.findall(r'from_env\("([A-Z0-9_]+)"\)', text))
    return names


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------


def test_there_are_manifests():
    names = {p.relative_to(DEPLOY).as_posix() for p in manifest_files()}
    for required in (
        "namespace.yaml",
        "serviceaccount.yaml",
        "rbac.yaml",
        "deployment.yaml",
        "service.yaml",
        "pdb.yaml",
        "networkpolicy.yaml",
        "issuer.yaml",
        "certificate.yaml",
        "ingress.yaml",
    ):
        assert required in names, f"deploy/kubernetes/{required} is missing"


@pytest.mark.parametrize(
    "path", manifest_files(), ids=lambda p: p.relative_to(DEPLOY).as_posix()
)
def test_manifest_validates(path):
    found = file_problems(path)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("kustomization", kustomizations(), ids=lambda p: p.parent.name)
def test_kustomization_lists_its_manifests(kustomization):
    listed, spec = listed_resources(kustomization)
    here = kustomization.parent
    for r in listed:
        assert (here / r).exists(), f"{kustomization}: resource {r} does not exist"
    own = {
        p.relative_to(here).as_posix()
        for p in manifest_files()
        if p.parent == here
    }
    unlisted = own - listed - optional_resources(kustomization)
    assert not unlisted, f"{kustomization} neither lists nor offers {sorted(unlisted)}"
    for gen in spec.get("secretGenerator", []) or []:
        for f in gen.get("files", []):
            source = f.split("=", 1)[-1]
            ignored = (here / ".gitignore").read_text().split()
            assert source in ignored, f"{source} (a secret) is not git-ignored in {here}"


def test_deployment_keeps_its_promises():
    found = deployment_problems(base_objects())
    assert not found, "\n".join(found)


def test_objects_fit_together():
    found = fit_problems(base_objects())
    assert not found, "\n".join(found)


def test_generated_secrets_are_what_the_pods_use():
    _, spec = listed_resources(DEPLOY / "kustomization.yaml")
    gens = {g["name"]: g for g in spec["secretGenerator"]}
    objs = base_objects()
    c = one(objs, "Deployment", "pki-console")["spec"]["template"]["spec"]["containers"][0]
    ref = next(e for e in c["env"] if e["name"] == "PKI_CONSOLE_SESSION_KEY")["valueFrom"][
        "secretKeyRef"
    ]
    assert ref["name"] in gens, f"no secretGenerator makes {ref['name']}"
    keys = {f.split("=", 1)[0] for f in gens[ref["name"]]["files"]}
    assert ref["key"] in keys
    issuer = one(objs, "Issuer", "vault-issuer")
    ca = issuer["spec"]["vault"]["caBundleSecretRef"]
    assert ca["name"] in gens, f"no secretGenerator makes {ca['name']}"
    # kustomize does not rewrite names inside custom resources: no hash suffix there.
    assert gens[ca["name"]].get("options", {}).get("disableNameSuffixHash") is True
    assert ca["key"] in {f.split("=", 1)[0] for f in gens[ca["name"]]["files"]}


def test_environment_names_exist_in_the_server():
    known = config_env_names()
    assert {"VAULT_ADDR", "PKI_CONSOLE_LISTEN", "PKI_CONSOLE_TLS_CERT"} <= known, known
    for path in manifest_files():
        for obj in load_docs(path.read_text()):
            if obj["kind"] == "ConfigMap":
                names = set(obj["data"])
            elif obj["kind"] == "Deployment":
                names = {
                    e["name"] for c in obj["spec"]["template"]["spec"]["containers"] for e in c["env"]
                }
            else:
                continue
            unknown = names - known
            assert not unknown, f"{path.name}: the server reads no {sorted(unknown)}"
    image_env = set(
        re.findall(
            r"\b([A-Z][A-Z0-9_]*)=",
            " ".join(rest for stage in containerfile_stages() for w, rest in stage["steps"] if w == "ENV"),
        )
    )
    assert image_env, "the Containerfile sets no environment"
    assert not image_env - known, f"Containerfile: the server reads no {sorted(image_env - known)}"
    routes = (REPO_ROOT / "backend" / "src" / "routes.rs").read_text()
    assert '.route("/healthz"' in routes, "the probes' /healthz is not a route any more"


def containerfile_stages() -> list[dict]:
    """The Containerfile's stages: base, name and instructions (continuations joined)."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest.strip(), re.I)
            assert m, f"cannot read FROM {rest}"
            stages.append({"base": m.group(1), "name": m.group(2), "steps": []})
        else:
            assert stages, f"{word} before the first FROM"
            stages[-1]["steps"].append((word, rest.strip()))
    return stages


def test_containerfile_builds_what_the_deployment_runs():
    stages = containerfile_stages()
    assert len(stages) >= 2, "the Containerfile must be multi-stage"
    build, runtime = stages[0], stages[-1]
    assert re.fullmatch(r"(docker\.io/library/)?rust:1(\.\d+)*-bookworm", build["base"]), build
    runs = " ".join(rest for word, rest in build["steps"] if word == "RUN")
    for needed in (
        "rustup target add wasm32-unknown-unknown",
        "cargo xtask dist",
        "cargo build --release --locked -p pki-console",
    ):
        assert needed in runs, f"the build stage does not run `{needed}`"
    assert runtime["base"].startswith("gcr.io/distroless/cc-debian12:nonroot"), runtime
    steps = runtime["steps"]
    assert not any(word == "RUN" for word, _ in steps), "the runtime stage has no shell"
    copies = [rest for word, rest in steps if word == "COPY"]
    assert all(f"--from={build['name']}" in c for c in copies), copies
    users = [rest for word, rest in steps if word == "USER"]
    assert users, "the runtime stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]}: numeric and non-root"
    entry = [rest for word, rest in steps if word == "ENTRYPOINT"]
    assert entry, "no ENTRYPOINT"
    binary = yaml.safe_load(entry[-1])[0]
    assert any(c.split()[-1] == binary for c in copies), f"{binary} is not copied in"
    exposed = {int(rest.split("/")[0]) for word, rest in steps if word == "EXPOSE"}
    env = " ".join(rest for word, rest in steps if word == "ENV")
    listen = re.search(r"PKI_CONSOLE_LISTEN=\S+:(\d+)", env)
    assert listen and int(listen.group(1)) in exposed, (env, exposed)
    # The Deployment runs that user on that port.
    objs = base_objects()
    pod = one(objs, "Deployment", "pki-console")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(uid)
    if gid:
        assert pod["securityContext"]["runAsGroup"] == int(gid)
    ports = {p["containerPort"] for p in pod["containers"][0]["ports"]}
    assert exposed <= ports, (exposed, ports)
    ignore = (REPO_ROOT / ".containerignore").read_text().split()
    assert "target" in ignore and "deploy/kubernetes/session-key" in ignore
    assert (REPO_ROOT / ".dockerignore").read_text() == (REPO_ROOT / ".containerignore").read_text()


def test_rendered_kustomization_validates(tmp_path):
    """`kubectl kustomize` as `kubectl apply -k` would run it, with the two secret files
    made up and the optional Ingress switched on."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH: the rendered kustomization is not checked")
    work = tmp_path / "kubernetes"
    shutil.copytree(DEPLOY, work)
    (work / "session-key").write_text("c2Vzc2lvbi1rZXktZm9yLXRoZS1tYW5pZmVzdC10ZXN0IQ==\n")
    (work / "vault-ca.pem").write_text("-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n")
    k = work / "kustomization.yaml"
    k.write_text(re.sub(r"^#\s*-\s*ingress\.yaml\s*$", "- ingress.yaml", k.read_text(), flags=re.M))

    def render(directory: Path) -> list[dict]:
        proc = subprocess.run(
            [kubectl, "kustomize", str(directory)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"kubectl kustomize {directory}: {proc.stderr}"
        return load_docs(proc.stdout)

    targets = [work] + [p.parent for p in sorted(work.rglob("kustomization.yaml")) if p != k]
    for directory in targets:
        objs = render(directory)
        found = [p for o in objs for p in problems(o)]
        assert not found, f"{directory.name}:\n" + "\n".join(found)
        assert not fit_problems(objs), fit_problems(objs)

    objs = render(work)
    assert not deployment_problems(objs), deployment_problems(objs)
    kinds = sorted(o["kind"] for o in objs)
    assert kinds.count("Secret") == 2 and "Ingress" in kinds, kinds
    dep = one(objs, "Deployment", "pki-console")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    ref = next(e for e in c["env"] if e["name"] == "PKI_CONSOLE_SESSION_KEY")["valueFrom"][
        "secretKeyRef"
    ]
    secret = one(objs, "Secret", ref["name"])
    assert ref["name"].startswith("pki-console-session-"), "kustomize hashes the key's name"
    assert ref["key"] in secret["data"]
    one(objs, "Secret", "vault-ca")
    # VAULT_ADDR is written once, in the ConfigMap; the Issuer gets it from there.
    assert (
        one(objs, "Issuer", "vault-issuer")["spec"]["vault"]["server"]
        == one(objs, "ConfigMap", "pki-console")["data"]["VAULT_ADDR"]
    )
    assert "/" in c["image"].split(":")[0], f"the image {c['image']} names no registry"


def self_signed() -> tuple[str, str]:
    """A P-256 certificate for 127.0.0.1 and its PKCS#8 key, as PEM (what cert-manager
    writes with `encoding: PKCS8`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pki-console.pki-console.svc")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def test_the_server_starts_with_the_deployments_settings(tmp_path):
    """Our binary, started with the environment the Deployment gives it (ConfigMap,
    literal values, the session key Secret; mounted files made up in a temporary
    directory; listening on a free loopback port instead of 0.0.0.0:8210), accepts every
    setting, serves the probes' /healthz over HTTPS in upstream mode, never writes to its
    data directory, and exits 0 on SIGTERM as Kubernetes stops pods."""
    binary = embedded_binary()
    objs = base_objects()
    pod = one(objs, "Deployment", "pki-console")["spec"]["template"]["spec"]
    c = pod["containers"][0]
    mounts = {m["mountPath"]: tmp_path / m["name"] for m in c["volumeMounts"]}

    def local(path: str) -> Path:
        for mount, there in mounts.items():
            if under(path, mount):
                return there / path[len(mount) :].lstrip("/")
        raise AssertionError(f"{path} is on no volume of the pod")

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PKI_CONSOLE_", "VAULT_"))
    }
    for ref in c.get("envFrom", []):
        env.update(one(objs, "ConfigMap", ref["configMapRef"]["name"])["data"])
    for e in c["env"]:
        if "value" in e:
            env[e["name"]] = e["value"]
        elif "secretKeyRef" in e.get("valueFrom", {}):
            assert e["name"] == "PKI_CONSOLE_SESSION_KEY", e
            env[e["name"]] = base64.b64encode(os.urandom(32)).decode() + "\n"
    cert_pem, key_pem = self_signed()
    for var, text in (
        ("PKI_CONSOLE_TLS_CERT", cert_pem),
        ("PKI_CONSOLE_TLS_KEY", key_pem),
        ("VAULT_CACERT", cert_pem),
    ):
        env[var] = str(local(env[var]))
        Path(env[var]).parent.mkdir(parents=True, exist_ok=True)
        Path(env[var]).write_text(text)
    data_dir = local(env["PKI_CONSOLE_DATA_DIR"])
    data_dir.mkdir(parents=True)
    env["PKI_CONSOLE_DATA_DIR"] = str(data_dir)
    assert env["PKI_CONSOLE_LISTEN"].startswith(("0.0.0.0:", "[::]:")), "pods listen on all addresses"
    env["PKI_CONSOLE_LISTEN"] = "127.0.0.1:0"

    log = tmp_path / "server.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [str(binary)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env
        )
    try:
        lines: queue.Queue = queue.Queue()

        def pump():
            # Reads to the end, so the server never blocks on a full pipe.
            for raw in iter(proc.stdout.readline, b""):
                lines.put(raw.decode(errors="replace"))
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            if line.startswith(READY_PREFIX):
                url = line[len(READY_PREFIX) :].strip().rstrip("/")
        assert url, f"the server did not start with the Deployment's settings:\n{log.read_text()}"
        assert url.startswith("https://"), url
        ca = tmp_path / "ca.pem"
        ca.write_text(cert_pem)
        resp = requests.get(f"{url}/healthz", timeout=30, verify=str(ca))
        assert resp.status_code == 200, resp.text
        assert resp.json()["mode"] == "upstream", resp.json()
        assert resp.headers.get("Strict-Transport-Security"), "HTTPS answers carry HSTS"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert list(data_dir.iterdir()) == [], "upstream mode wrote to its data directory"
    text = log.read_text()
    assert "ephemeral" not in text, "the session key from the Secret was not used"


# --------------------------------------------------------------------------------------
# The checks can fail
# --------------------------------------------------------------------------------------


def mutate(obj: dict, path: str, value=None, delete: bool = False) -> dict:
    """A deep copy of `obj` with `path` ("spec.template.spec.containers.0.x") set or
    deleted."""
    out = copy.deepcopy(obj)
    node = out
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = int(parts[-1]) if isinstance(node, list) else parts[-1]
    if delete:
        del node[last]
    else:
        node[last] = value
    return out


CONTAINER = "spec.template.spec.containers.0"


@pytest.mark.parametrize(
    "kind, path, value, delete, expect",
    [
        ("Deployment", "spec.replica", 2, False, "replica"),
        ("Deployment", f"{CONTAINER}.securityContext.readOnlyRootFilesystem", "yes", False, "readOnlyRootFilesystem"),
        ("Deployment", f"{CONTAINER}.readinessProbe.httpGet.port", None, True, "port"),
        ("Service", "spec.ports.0.port", "https", False, "port"),
        ("Certificate", "spec.issuerRef.nmae", "vault-issuer", False, "nmae"),
        ("Certificate", "spec.privateKey.algorithm", "DSA", False, "algorithm"),
        ("Certificate", "spec.secretName", None, True, "secretName"),
        ("Certificate", "metadata.labelz", {"a": "b"}, False, "labelz"),
        ("Issuer", "spec.vault.path", None, True, "path"),
        ("Issuer", "spec.vault.auth.kubernetes.serviceAccountRef.name", 7, False, "name"),
    ],
)
def test_a_broken_copy_fails_validation(tmp_path, kind, path, value, delete, expect):
    file = next(
        p for p in manifest_files() if any(o["kind"] == kind for o in load_docs(p.read_text()))
    )
    docs = [
        mutate(o, path, value, delete) if o["kind"] == kind else o
        for o in load_docs(file.read_text())
    ]
    broken = tmp_path / file.name
    broken.write_text(yaml.safe_dump_all(docs))
    assert not file_problems(file), "the original must validate"
    found = file_problems(broken)
    assert found, f"{kind} with {path} broken still validates"
    assert any(expect in p for p in found), f"the error does not name {expect!r}: {found}"


@pytest.mark.parametrize(
    "path, value, delete, expect",
    [
        ("spec.replicas", 1, False, "replicas"),
        (f"{CONTAINER}.securityContext.readOnlyRootFilesystem", False, False, "readOnlyRootFilesystem"),
        (f"{CONTAINER}.securityContext.allowPrivilegeEscalation", None, True, "allowPrivilegeEscalation"),
        ("spec.template.spec.securityContext.runAsNonRoot", False, False, "runAsNonRoot"),
        (f"{CONTAINER}.resources.limits", None, True, "resources.limits"),
        (f"{CONTAINER}.livenessProbe.httpGet.path", "/", False, "livenessProbe"),
        ("spec.template.spec.volumes.2.emptyDir", None, True, "data dir"),
    ],
)
def test_a_weakened_deployment_fails_the_promises(path, value, delete, expect):
    objs = [
        mutate(o, path, value, delete) if o["kind"] == "Deployment" else o for o in base_objects()
    ]
    found = deployment_problems(objs)
    assert any(expect in p for p in found), f"{path}: {found}"


@pytest.mark.parametrize(
    "kind, path, value, expect",
    [
        ("Service", "spec.selector", {"app.kubernetes.io/name": "other"}, "Service's selector"),
        ("Service", "spec.ports.0.targetPort", "http", "targets port"),
        ("Certificate", "spec.secretName", "other-tls", "PKI_CONSOLE_TLS_CERT"),
        ("ClusterRole", "rules.2.verbs", ["get", "list", "watch", "delete"], "grants ['delete']"),
        ("Issuer", "spec.vault.caBundleSecretRef.name", "other-ca", "VAULT_CACERT"),
        ("NetworkPolicy", "spec.ingress.0.ports.0.port", 8200, "does not admit"),
    ],
)
def test_mismatched_objects_fail_to_fit(kind, path, value, expect):
    objs = [mutate(o, path, value) if o["kind"] == kind else o for o in base_objects()]
    found = fit_problems(objs)
    assert any(expect in p for p in found), f"{kind} {path}: {found}"
