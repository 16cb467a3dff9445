//! `cargo xtask seed-certs N [--data-dir DIR] [--mount pki_int] [--threads T]`: stores N
//! synthetic certificates in a data directory through the embedded engine, without
//! HTTP (`backend::engine::pki::seed`). The server must not be running on that
//! directory. Any other flag is the server's (`--kek`, ...), read as the server reads it.

use std::time::Duration;

use anyhow::{Context, bail};
use backend::config::Config;
use backend::engine::{DB_FILE, Engine, ROOT_TOKEN_FILE};
use clap::Parser;

fn main() -> anyhow::Result<()> {
    let mut count: Option<u64> = None;
    let mut mount = "pki_int".to_string();
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut server_args = vec!["pki-console".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mount" => mount = args.next().context("--mount needs a value")?,
            "--threads" => threads = args.next().context("--threads needs a value")?.parse()?,
            _ if count.is_none() && !a.starts_with('-') => {
                count = Some(a.replace('_', "").parse().context("N is a number")?)
            }
            _ => server_args.push(a),
        }
    }
    let Some(count) = count else {
        bail!("usage: seed_certs N [--data-dir DIR] [--mount pki_int] [--threads T]");
    };
    let mount = mount.trim_matches('/').to_string();
    let config = Config::try_parse_from(&server_args)?;
    let dir = config.data_dir.clone();
    eprintln!(
        "seeding {count} certificates into {} (mount {mount}, {threads} signing threads); the server must not be running on this directory",
        dir.display()
    );
    let engine = Engine::open(&config.engine())?;
    let token = std::fs::read_to_string(dir.join(ROOT_TOKEN_FILE))
        .with_context(|| {
            format!(
                "reading the root token from {}",
                dir.join(ROOT_TOKEN_FILE).display()
            )
        })?
        .trim()
        .to_string();
    let progress = |n: u64, t: Duration| {
        eprintln!(
            "  {n:>9} stored in {:>5.1} s ({:.0}/s)",
            t.as_secs_f64(),
            n as f64 / t.as_secs_f64().max(1e-9)
        );
    };
    let done = backend::engine::pki::seed::seed(&engine, &token, &mount, count, threads, &progress)
        .map_err(|e| {
            let msg = e.to_string();
            if msg.contains("locked") || msg.contains("busy") {
                anyhow::anyhow!(
                    "{msg}: the database is locked; stop the server using {} first",
                    dir.display()
                )
            } else {
                anyhow::anyhow!(msg)
            }
        })?;
    // Closing the store checkpoints the write-ahead log into the database file.
    drop(engine);
    let db = dir.join(DB_FILE);
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let wal = std::fs::metadata(dir.join(format!("{DB_FILE}-wal")))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "seeded {} certificates into {mount} in {:.1} s ({:.0}/s){}; database {} {:.0} MB{}",
        done.stored,
        done.elapsed.as_secs_f64(),
        done.stored as f64 / done.elapsed.as_secs_f64().max(1e-9),
        if done.created_pki {
            ", PKI created (root on pki, intermediate, roles)"
        } else {
            ""
        },
        db.display(),
        size as f64 / 1e6,
        if wal > 0 {
            format!(" (+ WAL {:.0} MB)", wal as f64 / 1e6)
        } else {
            String::new()
        },
    );
    Ok(())
}
