//! `cargo xtask fuzz [SECONDS] [TARGET] [--seed N]`: the stable-Rust fuzz harness
//! (`backend/tests/fuzz.rs`) in a release build, SECONDS per target (default 30; the
//! targets are `der`, `pem`, `policy`, `duration`, `names`, `path`). Bounded in time and
//! run by hand, outside CI; `./x test` runs only its regression inputs and a short
//! deterministic pass (`cargo test -p pki-console --test fuzz`).

use crate::{cargo, run_cmd};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut secs = "30".to_string();
    let mut extra: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--seed" {
            extra.push("--seed".into());
            extra.push(it.next().cloned().unwrap_or_default());
        } else if a.parse::<u64>().is_ok() {
            secs = a.clone();
        } else {
            extra.push("--target".into());
            extra.push(a.clone());
        }
    }
    run_cmd(
        cargo()
            .args([
                "test",
                "--locked",
                "--release",
                "-p",
                "pki-console",
                "--test",
                "fuzz",
                "--",
                "--secs",
                &secs,
            ])
            .args(&extra),
    )
}
