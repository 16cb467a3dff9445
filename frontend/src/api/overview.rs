//! `GET /api/overview`: the Overview page's data in one answer (public CA hierarchy; for a
//! signed-in caller, each PKI mount's certificate numbers and failing renewals).

use shared::api::overview::{Overview, PATH};

use super::{ApiError, get_json};

pub async fn overview() -> Result<Overview, ApiError> {
    get_json(PATH).await
}
