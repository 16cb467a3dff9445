# Written by the PKI Console setup wizard: the same setup its apply makes, for the
# hashicorp/vault provider (mounts, CAs, URLs, role, policy, Kubernetes auth) and the
# hashicorp/kubernetes provider (cert-manager's service account, its RBAC, the issuer).
#
# The vault provider reads VAULT_ADDR and VAULT_TOKEN (a token allowed to mount engines,
# write policies and enable auth methods) from the environment; the kubernetes provider
# reads KUBE_CONFIG_PATH. Set the reviewer JWT with TF_VAR_kubernetes_reviewer_jwt.
# The issuer's namespace must exist (it is not managed here, so a destroy never deletes
# it), and cert-manager's CRDs must be installed before `terraform plan`: kubernetes_manifest
# reads the issuer's schema from the cluster.
#
# External root: the first apply makes the intermediate's key and CSR
# (`terraform output -raw intermediate_csr`); have your root sign it, then apply again
# with TF_VAR_intermediate_chain_pem holding the signed certificate followed by its
# issuers up to the root.

terraform {
  required_version = ">= 1.11"

  required_providers {
    vault = {
      source  = "hashicorp/vault"
      version = "~> 5.7"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.0"
    }
  }
}

provider "vault" {}

provider "kubernetes" {}

variable "kubernetes_reviewer_jwt" {
  description = "A service account JWT Vault uses to call the cluster's TokenReview API (that account needs the system:auth-delegator ClusterRole). Needed unless Vault runs in the cluster: cert-manager's login tokens are bound to the Vault audience and cannot review themselves."
  type        = string
  sensitive   = true
  default     = null
}

variable "kubernetes_reviewer_jwt_version" {
  description = "Raise it to send a new kubernetes_reviewer_jwt: the JWT is write-only, Terraform keeps no copy to compare."
  type        = number
  default     = 1
}

variable "intermediate_chain_pem" {
  description = "The intermediate's certificate signed by your root, followed by its issuers up to that root (PEM). Empty on the first apply."
  type        = string
  default     = ""
}

# Intermediate CA

resource "vault_mount" "intermediate" {
  path                  = "pki_int"
  type                  = "pki"
  description           = "PKI Console: intermediate CA"
  max_lease_ttl_seconds = 157680000 # 43800h0m0s
}

resource "vault_pki_secret_backend_intermediate_cert_request" "intermediate" {
  backend     = vault_mount.intermediate.path
  type        = "internal"
  common_name = "Testlab Intermediate CA"
  key_type    = "ec"
  key_bits    = 256
}

output "intermediate_csr" {
  description = "The intermediate's CSR, for your root to sign."
  value       = vault_pki_secret_backend_intermediate_cert_request.intermediate.csr
}

locals {
  # The signed intermediate and its issuers up to the outside root.
  ca_chain_pem = var.intermediate_chain_pem
}

resource "vault_pki_secret_backend_intermediate_set_signed" "intermediate" {
  count       = var.intermediate_chain_pem == "" ? 0 : 1
  backend     = vault_mount.intermediate.path
  certificate = local.ca_chain_pem
}

# Issuing-certificate and CRL URLs

resource "vault_pki_secret_backend_config_urls" "intermediate" {
  backend                 = vault_mount.intermediate.path
  issuing_certificates    = ["https://pki.testlab.local/v1/pki_int/ca"]
  crl_distribution_points = ["https://pki.testlab.local/v1/pki_int/crl"]
}

# The role cert-manager signs with

resource "vault_pki_secret_backend_role" "role" {
  backend                     = vault_mount.intermediate.path
  name                        = "fruits-catalog"
  allow_bare_domains          = false
  allow_subdomains            = true
  allow_wildcard_certificates = false
  allowed_domains             = ["testlab.local"]
  key_bits                    = 256
  key_type                    = "ec"
  max_ttl                     = 600 # 10m0s
  require_cn                  = false
}

# The policy: sign with the role, nothing else

resource "vault_policy" "sign" {
  name   = "fruits-catalog-sign"
  policy = <<EOT
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
EOT
}

# Kubernetes auth: cert-manager logs in with the issuer's service account

resource "vault_auth_backend" "kubernetes" {
  type = "kubernetes"
  path = "kubernetes"
}

resource "vault_kubernetes_auth_backend_config" "kubernetes" {
  backend                       = vault_auth_backend.kubernetes.path
  kubernetes_host               = "https://kubernetes.default.svc"
  kubernetes_ca_cert            = <<PEM
-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIULUVCaNdkVLgV16G4WRr6OJ1VuBswCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPVGVzdGxhYiBSb290IENBMCAXDTI2MTIwMzEyMzMyMloYDzIx
MjYxMTA5MTIzMzIyWjAaMRgwFgYDVQQDDA9UZXN0bGFiIFJvb3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAT6UZsDLL9yAEFbtA4CcAo2CX416t5Ys1I4SNIe
llUaMXrcAEeVd4Zf27BFZMmw5IpoYI/1VN8sAHMSZ9r8/9Uso2MwYTAdBgNVHQ4E
FgQUqysv2JJAAezpVCStAYlFOVtBsOAwHwYDVR0jBBgwFoAUqysv2JJAAezpVCSt
AYlFOVtBsOAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZI
zj0EAwIDSAAwRQIgDUPjcH1z7LNLKBxSJC/77EGD3slurSKBPF02QP6TpNMCIQDO
smwUzFQjte1VSohc+0E1P4/UK8fzXGrlAFw1psL4WA==
-----END CERTIFICATE-----
PEM
  disable_local_ca_jwt          = true
  token_reviewer_jwt_wo         = var.kubernetes_reviewer_jwt
  token_reviewer_jwt_wo_version = var.kubernetes_reviewer_jwt == null ? null : var.kubernetes_reviewer_jwt_version
}

resource "vault_kubernetes_auth_backend_role" "issuer" {
  backend                          = vault_auth_backend.kubernetes.path
  role_name                        = "vault-issuer"
  bound_service_account_names      = ["vault-issuer"]
  bound_service_account_namespaces = ["fruits-catalog"]
  audience                         = "vault://fruits-catalog/vault-issuer"
  token_policies                   = [vault_policy.sign.name]
}

# cert-manager's side: the issuer's service account, and the RBAC that lets cert-manager
# request a token for it (cert-manager's documented serviceAccountRef setup)

resource "kubernetes_service_account_v1" "issuer" {
  metadata {
    name      = "vault-issuer"
    namespace = "fruits-catalog"
  }
}

resource "kubernetes_role_v1" "issuer_token" {
  metadata {
    name      = "vault-issuer-token-creator"
    namespace = "fruits-catalog"
  }

  rule {
    api_groups     = [""]
    resources      = ["serviceaccounts/token"]
    resource_names = [kubernetes_service_account_v1.issuer.metadata[0].name]
    verbs          = ["create"]
  }
}

resource "kubernetes_role_binding_v1" "issuer_token" {
  metadata {
    name      = "vault-issuer-token-creator"
    namespace = "fruits-catalog"
  }

  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = kubernetes_role_v1.issuer_token.metadata[0].name
  }

  subject {
    kind      = "ServiceAccount"
    name      = "cert-manager"
    namespace = "cert-manager"
  }
}

resource "kubernetes_manifest" "issuer" {
  manifest = {
    apiVersion = "cert-manager.io/v1"
    kind       = "Issuer"
    metadata = {
      name      = "vault-issuer"
      namespace = "fruits-catalog"
    }
    spec = {
      vault = {
        server   = "https://pki.testlab.local"
        path     = "pki_int/sign/fruits-catalog"
        caBundle = base64encode(local.ca_chain_pem)
        auth = {
          kubernetes = {
            role      = vault_kubernetes_auth_backend_role.issuer.role_name
            mountPath = "/v1/auth/kubernetes"
            serviceAccountRef = {
              name = kubernetes_service_account_v1.issuer.metadata[0].name
            }
          }
        }
      }
    }
  }
}
