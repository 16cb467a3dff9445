#!/usr/bin/env bash
# Written by the PKI Console setup wizard: the same setup its apply makes, as `vault` CLI
# calls (OpenBao's `bao` works when named `vault`).
#
# Needs VAULT_ADDR and VAULT_TOKEN (a token allowed to mount engines, write policies and
# enable auth methods) in the environment. Optional: KUBERNETES_REVIEWER_JWT, a service
# account JWT Vault uses for the cluster's TokenReview API (never written here).
# Safe to run again: what exists is kept, and a CA that exists is never made again.
set -euo pipefail

ROOT_MOUNT='pki'
ROOT_CN='Testlab Root CA'
ROOT_KEY_TYPE='ec'
ROOT_KEY_BITS='384'
ROOT_TTL='87600h'
ROOT_TTL_SECONDS=315360000
INT_MOUNT='pki_int'
INT_CN='Testlab Intermediate CA'
INT_KEY_TYPE='ec'
INT_KEY_BITS='256'
INT_TTL='43800h'
INT_TTL_SECONDS=157680000
ROLE='fruits-catalog'
POLICY='fruits-catalog-sign'
AUTH_MOUNT='kubernetes'
K8S_HOST='https://kubernetes.default.svc'
K8S_CA_CERT='-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIULUVCaNdkVLgV16G4WRr6OJ1VuBswCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPVGVzdGxhYiBSb290IENBMCAXDTI2MTIwMzEyMzMyMloYDzIx
MjYxMTA5MTIzMzIyWjAaMRgwFgYDVQQDDA9UZXN0bGFiIFJvb3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAT6UZsDLL9yAEFbtA4CcAo2CX416t5Ys1I4SNIe
llUaMXrcAEeVd4Zf27BFZMmw5IpoYI/1VN8sAHMSZ9r8/9Uso2MwYTAdBgNVHQ4E
FgQUqysv2JJAAezpVCStAYlFOVtBsOAwHwYDVR0jBBgwFoAUqysv2JJAAezpVCSt
AYlFOVtBsOAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZI
zj0EAwIDSAAwRQIgDUPjcH1z7LNLKBxSJC/77EGD3slurSKBPF02QP6TpNMCIQDO
smwUzFQjte1VSohc+0E1P4/UK8fzXGrlAFw1psL4WA==
-----END CERTIFICATE-----'
K8S_ROLE='vault-issuer'

: "${VAULT_ADDR:?set VAULT_ADDR to the Vault address}"
if ! vault token lookup >/dev/null; then
  echo "error: no usable Vault token: set VAULT_TOKEN" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# mount_pki PATH TTL SECONDS DESCRIPTION: a PKI engine at PATH whose max lease TTL is at
# least SECONDS; another kind of engine there stops the script.
mount_pki() {
  local path=$1 ttl=$2 want=$3 description=$4 found have
  if found=$(vault read -field=type "sys/mounts/$path" 2>/dev/null); then
    if [ "$found" != pki ]; then
      echo "error: a \"$found\" engine is mounted at $path/: choose another path" >&2
      exit 1
    fi
    have=$(vault read -field=max_lease_ttl "sys/mounts/$path/tune")
    if [ "$have" -lt "$want" ]; then
      vault secrets tune -max-lease-ttl="$ttl" "$path/"
    else
      echo "$path/: a PKI engine is already mounted"
    fi
  else
    vault secrets enable -path="$path" -description="$description" -max-lease-ttl="$ttl" pki
  fi
}

# ids PATH: the IDs a LIST of PATH returns, one a line (none on 404).
ids() {
  vault list -format=json "$1" 2>/dev/null | tr -d '[]{}", ' | grep -v '^$' || true
}

# signing_issuer MOUNT: whether MOUNT has an issuer with its key (a CA that can sign).
signing_issuer() {
  local id
  for id in $(ids "$1/issuers"); do
    if [ -n "$(vault read -field=key_id "$1/issuer/$id" 2>/dev/null || true)" ]; then
      return 0
    fi
  done
  return 1
}

echo "== Root CA"
mount_pki "$ROOT_MOUNT" "$ROOT_TTL" "$ROOT_TTL_SECONDS" 'PKI Console: root CA'
if signing_issuer "$ROOT_MOUNT"; then
  echo "$ROOT_MOUNT/: already has a CA with its key: kept"
else
  vault write -field=certificate "$ROOT_MOUNT/root/generate/internal" \
    common_name="$ROOT_CN" key_type="$ROOT_KEY_TYPE" key_bits="$ROOT_KEY_BITS" \
    ttl="$ROOT_TTL" issuer_name=root </dev/null >"$work/root.pem"
  echo "$ROOT_MOUNT/: root CA generated"
fi

echo "== Intermediate CA"
mount_pki "$INT_MOUNT" "$INT_TTL" "$INT_TTL_SECONDS" 'PKI Console: intermediate CA'
if signing_issuer "$INT_MOUNT"; then
  echo "$INT_MOUNT/: already has a signed intermediate with its key: kept"
else
  # The CSR shuttle: the intermediate's CSR, signed by the root, imported with the root
  # (format=pem_bundle: the certificate followed by its issuer, the full chain).
  vault write -field=csr "$INT_MOUNT/intermediate/generate/internal" \
    common_name="$INT_CN" key_type="$INT_KEY_TYPE" key_bits="$INT_KEY_BITS" </dev/null >"$work/intermediate.csr"
  vault write -field=certificate "$ROOT_MOUNT/root/sign-intermediate" \
    csr=@"$work/intermediate.csr" common_name="$INT_CN" ttl="$INT_TTL" format=pem_bundle \
    </dev/null >"$work/intermediate-chain.pem"
  vault write "$INT_MOUNT/intermediate/set-signed" certificate=@"$work/intermediate-chain.pem" </dev/null
  echo "$INT_MOUNT/: intermediate signed by the root and imported with the full chain"
fi

echo "== URLs"
vault write "$ROOT_MOUNT/config/urls" \
  issuing_certificates='https://pki.testlab.local/v1/pki/ca' \
  crl_distribution_points='https://pki.testlab.local/v1/pki/crl' </dev/null
vault write "$INT_MOUNT/config/urls" \
  issuing_certificates='https://pki.testlab.local/v1/pki_int/ca' \
  crl_distribution_points='https://pki.testlab.local/v1/pki_int/crl' </dev/null

echo "== Role"
vault write "$INT_MOUNT/roles/$ROLE" \
  allow_bare_domains='false' \
  allow_subdomains='true' \
  allow_wildcard_certificates='false' \
  allowed_domains='testlab.local' \
  key_type='any' \
  max_ttl='10m' \
  require_cn='false' </dev/null

echo "== Policy"
vault policy write "$POLICY" - <<'PKI_CONSOLE_POLICY'
# Written by the PKI Console setup wizard for role "fruits-catalog".
# Sign CSRs with the role (cert-manager, the console's request page):
path "pki_int/sign/fruits-catalog" {
  capabilities = ["create", "update"]
}

# Read the role's rules, so the request page checks names before sending:
path "pki_int/roles/fruits-catalog" {
  capabilities = ["read"]
}

path "pki_int/roles" {
  capabilities = ["list"]
}

# Find the PKI mounts (the request page's mount picker):
path "sys/mounts" {
  capabilities = ["read"]
}
PKI_CONSOLE_POLICY

echo "== Kubernetes auth"
if found=$(vault read -field=type "sys/auth/$AUTH_MOUNT" 2>/dev/null); then
  if [ "$found" != kubernetes ]; then
    echo "error: a \"$found\" auth method is at auth/$AUTH_MOUNT/: choose another path" >&2
    exit 1
  fi
  echo "auth/$AUTH_MOUNT/: already enabled"
else
  vault auth enable -path="$AUTH_MOUNT" kubernetes
fi
# Writing the config replaces it whole (a JWT sent before would be dropped): it is written
# when there is a new JWT, or none yet for this host and CA certificate.
have_host=$(vault read -field=kubernetes_host "auth/$AUTH_MOUNT/config" 2>/dev/null || true)
have_ca=$(vault read -field=kubernetes_ca_cert "auth/$AUTH_MOUNT/config" 2>/dev/null || true)
if [ -n "${KUBERNETES_REVIEWER_JWT:-}" ]; then
  # The JWT goes through standard input, never on a command line.
  printf '%s' "$KUBERNETES_REVIEWER_JWT" |
    vault write "auth/$AUTH_MOUNT/config" \
      kubernetes_host="$K8S_HOST" \
      kubernetes_ca_cert="$K8S_CA_CERT" \
      disable_local_ca_jwt=true \
      token_reviewer_jwt=-
elif [ "$have_host" != "$K8S_HOST" ] || [ "$have_ca" != "$K8S_CA_CERT" ]; then
  vault write "auth/$AUTH_MOUNT/config" \
    kubernetes_host="$K8S_HOST" \
    kubernetes_ca_cert="$K8S_CA_CERT" \
    disable_local_ca_jwt=true </dev/null
else
  echo "auth/$AUTH_MOUNT/config: the same host and CA certificate: kept (set KUBERNETES_REVIEWER_JWT to send a new JWT)"
fi
vault write "auth/$AUTH_MOUNT/role/$K8S_ROLE" \
  bound_service_account_names='vault-issuer' \
  bound_service_account_namespaces='fruits-catalog' \
  audience='vault://fruits-catalog/vault-issuer' \
  token_policies='fruits-catalog-sign' \
  token_ttl='20m' </dev/null

echo "Done: cert-manager signs through $INT_MOUNT/sign/$ROLE"
