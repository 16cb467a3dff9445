//! The test harness, one for every caller: the real `pki-console` binary and OpenBao as
//! child processes (started on free loopback ports, ready when they say so, stopped by
//! signal, killed when dropped), the one `/v1` client, and the recipe's PKI.
//!
//! Without features it is the blocking launchers only ([`console::Console`],
//! [`openbao::OpenBaoDev`], on std), which `xtask` uses for the hvac runs. The `async`
//! feature adds what the end-to-end tests (`tests/`) and the benchmarks
//! (`backend/benches/`) use on tokio: [`server::Server`] (a [`console::Console`] with a
//! temporary data directory), [`openbao::OpenBao`] (dev server and Raft cluster), the
//! HTTP and `/v1` client ([`http`]), [`target::Target`] and [`recipe`].

pub mod console;
pub mod openbao;
pub mod process;

#[cfg(feature = "async")]
pub mod http;
#[cfg(feature = "async")]
pub mod recipe;
#[cfg(feature = "async")]
pub mod server;
#[cfg(feature = "async")]
pub mod target;

/// Path of the workspace root.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testbed/ is in the workspace")
        .to_path_buf()
}
