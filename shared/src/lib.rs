//! PKI Console's pure core: the Vault API wire types and the PKI logic that both the
//! browser (wasm32) and the server use. No I/O lives here.

pub mod api;
pub mod k8s_view;
pub mod nav;
pub mod pki;
pub mod setup;
pub mod trust;

/// The product version, as the server reports it on `/healthz` and the SPA shows it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

// The shared crate's tests run in headless Chromium too (`cargo xtask test`), so what the
// browser computes is checked where it runs.
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
