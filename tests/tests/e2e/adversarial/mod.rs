//! The adversarial regression table: each hole found by the security review (and more
//! cases of the same families) as a request sequence with the expected status and error
//! text, run against the embedded engine and against OpenBao 2.7.2, the reference.
//!
//! One file per family; each has `cases()`. A case is an async function of a [`Target`]:
//! it sets up what it needs under names of its own (so cases never disturb each other),
//! sends its requests and checks the answers with [`expect`]. Where our engine departs
//! from OpenBao on purpose, the case branches on `t.kind` and says why in a comment
//! (and `docs/compatibility.md` lists the departure).

mod auth;
mod params;
mod paths;
mod tokens;
mod ttl;

use std::future::Future;
use std::pin::Pin;

use tests::openbao::OpenBao;
use tests::{Reply, Server, Target};

pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

pub struct Case {
    pub name: &'static str,
    pub run: for<'a> fn(&'a Target) -> CaseFuture<'a>,
}

/// `case!("name", async_fn)` — an entry of a family's table.
#[macro_export]
macro_rules! case {
    ($name:expr, $f:path) => {
        $crate::adversarial::Case {
            name: $name,
            run: |t| Box::pin($f(t)),
        }
    };
}

/// Checks an answer's status and that its `errors` contain `error` (skip with "").
pub fn expect(t: &Target, what: &str, r: &Reply, status: u16, error: &str) -> anyhow::Result<()> {
    if r.status != status || !r.errors().contains(error) {
        anyhow::bail!(
            "[{}] {what}: expected {status} with an error containing {error:?}, got {} {}",
            t.name(),
            r.status,
            r.text
        );
    }
    Ok(())
}

/// Checks that the answer is 2xx.
pub fn expect_ok(t: &Target, what: &str, r: &Reply) -> anyhow::Result<()> {
    if !(200..300).contains(&r.status) {
        anyhow::bail!(
            "[{}] {what}: expected success, got {} {}",
            t.name(),
            r.status,
            r.text
        );
    }
    Ok(())
}

fn all_cases() -> Vec<(&'static str, Case)> {
    let mut all = Vec::new();
    for (family, cases) in [
        ("paths", paths::cases()),
        ("params", params::cases()),
        ("ttl", ttl::cases()),
        ("tokens", tokens::cases()),
        ("auth", auth::cases()),
    ] {
        all.extend(cases.into_iter().map(|c| (family, c)));
    }
    all
}

async fn run_table(targets: &[Target]) -> anyhow::Result<usize> {
    let cases = all_cases();
    let mut failures = Vec::new();
    for (family, case) in &cases {
        for t in targets {
            if let Err(e) = (case.run)(t).await {
                failures.push(format!("{family} / {} on {}: {e:#}", case.name, t.name()));
            }
        }
    }
    if !failures.is_empty() {
        anyhow::bail!(
            "{} of {} adversarial cases failed:\n{}",
            failures.len(),
            cases.len() * targets.len(),
            failures.join("\n")
        );
    }
    Ok(cases.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adversarial_table_against_engine_and_openbao() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let bao = OpenBao::dev().await?;
    let targets = [Target::engine(&server)?, Target::openbao(&bao)];
    let n = run_table(&targets).await?;
    eprintln!("adversarial table: {n} cases passed on the engine and on OpenBao");
    Ok(())
}
