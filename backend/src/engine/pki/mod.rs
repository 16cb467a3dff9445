//! The PKI secrets engine at any mount path, as Vault splits it: `issuers` (root and
//! intermediate CAs, their keys, URLs and the default issuer), `roles`, `sign` (sign,
//! issue, sign-verbatim, sign-intermediate), `certs` (the certificate store and
//! revocation) and `crl`. Certificate construction and name checks live in `shared`.

pub mod certs;
pub mod crl;
pub mod issuers;
pub mod roles;
pub mod seed;
pub mod sign;

use serde_json::Value;

use crate::engine::mounts::{LogicalBackend, Mount, Table};
use crate::engine::wire::{PathRule, SpecialPaths};
use crate::engine::{Engine, EngineError, Operation, Request, Response};
use shared::pki::key::PkiError;

/// Storage keys of one PKI mount.
pub struct Keys<'a>(pub &'a Mount);

impl Keys<'_> {
    pub fn issuer(&self, id: &str) -> String {
        format!("{}issuer/{id}", self.0.storage_prefix())
    }
    pub fn issuers(&self) -> String {
        format!("{}issuer/", self.0.storage_prefix())
    }
    pub fn key(&self, id: &str) -> String {
        format!("{}key/{id}", self.0.storage_prefix())
    }
    pub fn keys(&self) -> String {
        format!("{}key/", self.0.storage_prefix())
    }
    pub fn role(&self, name: &str) -> String {
        format!("{}role/{name}", self.0.storage_prefix())
    }
    pub fn roles(&self) -> String {
        format!("{}role/", self.0.storage_prefix())
    }
    /// Certificates by serial, with `-` between the bytes (Vault's storage form).
    pub fn cert(&self, serial: &str) -> String {
        format!(
            "{}cert/{}",
            self.0.storage_prefix(),
            serial.replace(':', "-")
        )
    }
    pub fn certs(&self) -> String {
        format!("{}cert/", self.0.storage_prefix())
    }
    pub fn config(&self, name: &str) -> String {
        format!("{}config/{name}", self.0.storage_prefix())
    }
    pub fn crl(&self, issuer_id: &str) -> String {
        format!("{}crl/{issuer_id}", self.0.storage_prefix())
    }
}

pub fn pki_error(e: PkiError) -> EngineError {
    EngineError::BadRequest(e.to_string())
}

/// Vault's special paths of the PKI secrets engine: the CA certificates, chains, CRLs
/// and issued certificates are public (read), and so is the list of issuers.
const SPECIAL_PATHS: SpecialPaths = SpecialPaths {
    unauthenticated: &[
        PathRule {
            patterns: &[
                "ca",
                "ca/pem",
                "ca_chain",
                "crl",
                "crl/pem",
                "cert/+",
                "issuer/+/pem",
                "issuer/+/der",
                "issuer/+/json",
                "issuer/+/crl",
                "issuer/+/crl/pem",
                "issuer/+/crl/der",
            ],
            operations: &[Operation::Read],
        },
        PathRule {
            patterns: &["issuers"],
            operations: &[Operation::List],
        },
    ],
    sudo: &[],
};

/// The PKI secrets engine, as `engine::BACKENDS` registers it.
#[derive(Debug)]
pub struct Pki;

impl LogicalBackend for Pki {
    fn kind(&self) -> &'static str {
        "pki"
    }

    fn table(&self) -> Table {
        Table::Secrets
    }

    fn special_paths(&self) -> &'static SpecialPaths {
        &SPECIAL_PATHS
    }

    fn exists(
        &self,
        engine: &Engine,
        mount: &Mount,
        rel: &str,
    ) -> Result<Option<bool>, EngineError> {
        match rel.split('/').collect::<Vec<_>>().as_slice() {
            ["roles", name] => Ok(Some(
                engine
                    .store
                    .get::<Value>(&Keys(mount).role(name))?
                    .is_some(),
            )),
            _ => Ok(None),
        }
    }

    fn handle(
        &self,
        engine: &Engine,
        mount: &Mount,
        rel: &str,
        req: &Request,
    ) -> Result<Response, EngineError> {
        use Operation::*;
        let op = req.operation;
        let write = matches!(op, Create | Update);
        let segs: Vec<&str> = rel.split('/').collect();
        let data = &req.data;
        match segs.as_slice() {
            ["root", "generate", kind] if write => {
                issuers::generate_root(engine, mount, kind, data)
            }
            ["root", "sign-intermediate"] if write => {
                sign::sign_intermediate(engine, mount, data, None)
            }
            ["issuer", r, "sign-intermediate"] if write => {
                sign::sign_intermediate(engine, mount, data, Some(r))
            }
            ["root", "sign-self-issued"] if write => Err(EngineError::bad(
                "sign-self-issued is not supported by this server",
            )),
            ["root"] if op == Delete => issuers::delete_all(engine, mount),
            ["intermediate", "generate", kind] if write => {
                issuers::generate_intermediate(engine, mount, kind, data)
            }
            ["intermediate", "set-signed"] if write => issuers::set_signed(engine, mount, data),
            ["config", "urls"] => match op {
                Read => issuers::read_urls(engine, mount),
                Create | Update => issuers::write_urls(engine, mount, data),
                _ => Err(EngineError::Unsupported),
            },
            ["config", "issuers"] | ["root", "replace"] => match op {
                Read => issuers::read_issuers_config(engine, mount),
                Create | Update => issuers::write_issuers_config(engine, mount, data),
                _ => Err(EngineError::Unsupported),
            },
            ["issuers"] if op == List => issuers::list(engine, mount),
            ["keys"] if op == List => issuers::list_keys(engine, mount),
            ["issuer", r] => match op {
                Read => issuers::read(engine, mount, r),
                Create | Update | Patch => issuers::update(engine, mount, r, data),
                Delete => issuers::delete(engine, mount, r),
                _ => Err(EngineError::Unsupported),
            },
            ["issuer", r, fmt @ ("pem" | "der" | "json")] if op == Read => {
                issuers::read_cert(engine, mount, r, fmt)
            }
            ["ca"] if op == Read => issuers::read_cert(engine, mount, "default", "der"),
            ["ca", "pem"] if op == Read => issuers::read_cert(engine, mount, "default", "pem"),
            ["ca_chain"] | ["cert", "ca_chain"] if op == Read => {
                issuers::read_chain(engine, mount, segs[0] == "cert")
            }
            ["cert", "ca"] if op == Read => issuers::read_cert_entry(engine, mount, "default"),
            ["roles"] if op == List => roles::list(engine, mount),
            ["roles", name] if !roles::valid_name(name) => Err(roles::unsupported_path()),
            ["roles", name] => match op {
                Read => roles::read(engine, mount, name),
                Create | Update => roles::write(engine, mount, name, data),
                Patch => roles::patch(engine, mount, name, data),
                Delete => roles::delete(engine, mount, name),
                _ => Err(EngineError::Unsupported),
            },
            ["sign", role] if write => sign::sign(engine, mount, role, None, data),
            ["issuer", r, "sign", role] if write => sign::sign(engine, mount, role, Some(r), data),
            ["issue", role] if write => sign::issue(engine, mount, role, None, data),
            ["issuer", r, "issue", role] if write => {
                sign::issue(engine, mount, role, Some(r), data)
            }
            ["sign-verbatim"] if write => sign::sign_verbatim(engine, mount, None, None, data),
            ["sign-verbatim", role] if write => {
                sign::sign_verbatim(engine, mount, Some(role), None, data)
            }
            ["issuer", r, "sign-verbatim"] if write => {
                sign::sign_verbatim(engine, mount, None, Some(r), data)
            }
            ["certs"] if op == List => certs::list(engine, mount, data, false),
            ["certs", "detailed"] if op == List => certs::list(engine, mount, data, true),
            ["certs", "revoked"] if op == List => certs::list_revoked(engine, mount),
            ["cert", "crl"] if op == Read => crl::read_json(engine, mount),
            ["cert", serial] if op == Read => certs::read(engine, mount, serial),
            ["revoke"] if write => certs::revoke(engine, mount, data),
            ["crl"] if op == Read => crl::read(engine, mount, "default", false),
            ["crl", "pem"] if op == Read => crl::read(engine, mount, "default", true),
            ["issuer", r, "crl"] | ["issuer", r, "crl", "der"] if op == Read => {
                crl::read(engine, mount, r, false)
            }
            ["issuer", r, "crl", "pem"] if op == Read => crl::read(engine, mount, r, true),
            ["crl", "rotate"] if op == Read => crl::rotate(engine, mount),
            ["tidy"] if write => certs::tidy(engine, mount, data),
            ["tidy-status"] if op == Read => certs::tidy_status(engine, mount),
            _ => Err(EngineError::no_route(&req.path)),
        }
    }
}
