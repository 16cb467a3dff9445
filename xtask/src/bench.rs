//! `cargo xtask bench <name>`: measurements that report figures rather than pass or fail.
//!
//! - `proxy`: latency of upstream mode (B → A) against the embedded engine direct (A) for
//!   small reads and a P-256 sign, as p50/p99 ratios from one run (`backend/benches/proxy.rs`,
//!   against the release binary).
//! - `sign [SECONDS]`: certificates/s, p50/p99 latency and RSS of `sign/<role>` (P-256 and
//!   RSA-2048, certificates stored) at 1/8/32/128 clients, the embedded engine against
//!   OpenBao 2.7.2 with Raft storage in the same run, with `openssl speed ecdsap256` as
//!   the machine's limit (`backend/benches/sign.rs`, against the release binary).
//! - `certs [N]`: the certificate index with N (default 1,000,000) seeded certificates:
//!   search, first page and filtered count latency over HTTP, and the server's RSS
//!   (`bench_certs.rs`, against the release binary).
//! - `csr`: key + CSR generation in headless Chromium, the plugin's WASM against WebCrypto,
//!   PKI.js and node-forge measured in the same run (`../shared/bench/perfanchors`).

use anyhow::bail;

use crate::{cargo, pipeline, run_cmd};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("proxy") => {
            let bin = pipeline::build_server()?;
            run_cmd(
                cargo()
                    .args(["bench", "--locked", "-p", "pki-console", "--bench", "proxy"])
                    .env("PKI_CONSOLE_BIN", &bin),
            )
        }
        Some("sign") => {
            let bin = pipeline::build_server()?;
            run_cmd(
                cargo()
                    .args([
                        "bench",
                        "--locked",
                        "-p",
                        "pki-console",
                        "--bench",
                        "sign",
                        "--",
                    ])
                    .args(&args[1..])
                    .env("PKI_CONSOLE_BIN", &bin),
            )
        }
        Some("certs") => crate::bench_certs::run(&args[1..]),
        Some("csr") => {
            crate::dist::build(true)?;
            crate::bench_csr::run(args)
        }
        other => bail!(
            "unknown benchmark {other:?}; available: `cargo xtask bench proxy`, `cargo xtask bench sign [SECONDS]`, `cargo xtask bench certs [N]`, `cargo xtask bench csr`"
        ),
    }
}
