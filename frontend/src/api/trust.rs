//! `GET /api/trust`: the published CAs, their chains, fingerprints and downloads (no
//! sign-in; the server reads them through Vault's unauthenticated PKI endpoints).

use shared::trust::TrustIndex;

use super::{ApiError, get_json};

/// The path of the trust index.
pub const INDEX: &str = "/api/trust";

/// Every issuer of every published PKI mount.
pub async fn index() -> Result<TrustIndex, ApiError> {
    get_json(INDEX).await
}
