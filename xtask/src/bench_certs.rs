//! `cargo xtask bench certs [N]` (default 1,000,000): the certificate index at scale.
//! Seeds N synthetic certificates into a temporary data directory (`seed-certs`), starts
//! the release console on it (`testbed`'s launcher) and measures over HTTP, one request
//! at a time on a keep-alive connection with the root token as `X-Vault-Token`:
//! `GET /api/certs/<mount>?q=<substring>` for 200 random 4-8 character substrings of
//! stored names, the first page, and a filtered count (`status=expiring&days=7`), each
//! as p50/p95; then the server's peak RSS (VmHWM). Targets: search p95 ≤ 50 ms, first
//! page p95 ≤ 20 ms, filtered count p95 ≤ 100 ms, RSS ≤ 300 MB, seeding ≤ 5 min.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use testbed::console::{Console, Log};

const MOUNT: &str = "pki_int";
const SEARCHES: usize = 200;
const REPEATS: usize = 50;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let n: u64 = match args.first() {
        Some(a) => a.replace('_', "").parse().context("N is a number")?,
        None => 1_000_000,
    };
    // The server and the seeding tool in one cargo run: one feature set, so neither
    // rebuilds the other's dependencies.
    crate::run_cmd(crate::cargo().args([
        "build",
        "--locked",
        "--release",
        "-p",
        "pki-console",
        "--bin",
        "pki-console",
        "--example",
        "seed_certs",
    ]))?;
    let bin = crate::root().join("target/release/pki-console");
    let tool = crate::root().join("target/release/examples/seed_certs");
    let dir = std::env::temp_dir().join(format!("pki-certs-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = measure(&bin, &tool, &dir, n);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(
    bin: &std::path::Path,
    tool: &std::path::Path,
    dir: &std::path::Path,
    n: u64,
) -> anyhow::Result<()> {
    let data = dir.join("data");
    let started = Instant::now();
    let summary = crate::seed::seed_into(tool, &data, MOUNT, n)?;
    let seed_time = started.elapsed();
    let db_size = std::fs::metadata(data.join("pki-console.db"))?.len();

    let console = Console::start(bin, &data, &[], Log::File(&dir.join("server.log")))?;
    let token = console.root_token()?;
    let mut http = Http::connect(console.authority(), &token)?;
    let base = format!("/api/certs/{MOUNT}");

    // Names to cut substrings from: the rows of a few first pages in different orders.
    let mut names = vec![];
    for sort in ["not_after", "-not_after", "issued", "-issued"] {
        let (status, body, _) = http.get(&format!("{base}?sort={sort}&limit=500"))?;
        if status != 200 {
            bail!("GET {base}: {status} {body}");
        }
        names.extend(string_fields(&body, "common_name"));
    }
    names.sort();
    names.dedup();
    if names.is_empty() {
        bail!("no names in the index's first pages");
    }
    let mut rng = Rng(started.elapsed().as_nanos() as u64 | 1);
    let queries: Vec<String> = (0..SEARCHES)
        .map(|_| {
            let name: Vec<char> = names[rng.below(names.len())].chars().collect();
            let len = (4 + rng.below(5)).min(name.len());
            let at = rng.below(name.len() - len + 1);
            name[at..at + len].iter().collect()
        })
        .collect();

    // Warm-up: the first requests open read connections and load pages.
    for q in queries.iter().take(10) {
        http.get(&format!("{base}?q={}", encode(q)))?;
    }
    let mut search = vec![];
    let mut matches = vec![];
    for q in &queries {
        let (status, body, t) = http.get(&format!("{base}?q={}", encode(q)))?;
        if status != 200 {
            bail!("search {q:?}: {status} {body}");
        }
        search.push(t);
        matches.push(number_field(&body, "total").unwrap_or(0));
    }
    let mut first = vec![];
    for _ in 0..REPEATS {
        first.push(http.get(&base)?.2);
    }
    let mut filtered = vec![];
    let mut total = 0;
    for _ in 0..REPEATS {
        let (status, body, t) = http.get(&format!("{base}?status=expiring&days=7"))?;
        if status != 200 {
            bail!("filtered count: {status} {body}");
        }
        total = number_field(&body, "total").unwrap_or(0);
        filtered.push(t);
    }
    let rss = vm_hwm(console.pid())?;
    console.stop()?;

    matches.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let row = |what: &str, v: &mut Vec<Duration>, target: f64| {
        v.sort();
        let p = |q: f64| ms(v[((v.len() as f64 - 1.0) * q).round() as usize]);
        println!(
            "| {what} | {:.1} | {:.1} | ≤ {target} ms | {} |",
            p(0.5),
            p(0.95),
            if p(0.95) <= target { "met" } else { "NOT met" }
        );
    };
    println!("\ncertificate index benchmark: {n} certificates in {MOUNT}");
    println!("{summary}");
    println!(
        "seeding: {:.1} s wall (target ≤ 300 s: {}), database {:.0} MB",
        seed_time.as_secs_f64(),
        if seed_time.as_secs() <= 300 {
            "met"
        } else {
            "NOT met"
        },
        db_size as f64 / 1e6
    );
    println!("\n| request | p50 ms | p95 ms | target (p95) | |\n|---|---|---|---|---|");
    row(
        &format!("search `?q=` ({SEARCHES} substrings of 4-8 chars)"),
        &mut search,
        50.0,
    );
    row("first page (no query)", &mut first, 20.0);
    row(
        &format!("filtered count `?status=expiring&days=7` (total {total})"),
        &mut filtered,
        100.0,
    );
    println!(
        "\nsearch matches: median {}, p95 {}, max {}",
        matches[matches.len() / 2],
        matches[(matches.len() - 1) * 95 / 100],
        matches[matches.len() - 1]
    );
    println!(
        "server peak RSS (VmHWM): {:.0} MB (target ≤ 300 MB: {})",
        rss as f64 / 1e6,
        if rss <= 300_000_000 { "met" } else { "NOT met" }
    );
    Ok(())
}

/// One keep-alive HTTP/1.1 connection.
struct Http {
    reader: BufReader<TcpStream>,
    authority: String,
    token: String,
}

impl Http {
    fn connect(authority: &str, token: &str) -> anyhow::Result<Http> {
        let stream = TcpStream::connect(authority)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Http {
            reader: BufReader::new(stream),
            authority: authority.into(),
            token: token.into(),
        })
    }

    /// GET `path`: status, body and the time to the whole answer.
    fn get(&mut self, path: &str) -> anyhow::Result<(u16, String, Duration)> {
        let started = Instant::now();
        write!(
            self.reader.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: {}\r\nX-Vault-Token: {}\r\nAccept: application/json\r\n\r\n",
            self.authority,
            self.token
        )?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("status line {line:?}"))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            match k.to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse::<usize>().ok(),
                "transfer-encoding" => chunked = v.to_ascii_lowercase().contains("chunked"),
                _ => {}
            }
        }
        let mut body = vec![];
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)?;
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.reader.read_exact(&mut body)?;
        }
        Ok((
            status,
            String::from_utf8_lossy(&body).into_owned(),
            started.elapsed(),
        ))
    }
}

/// The string values of `"field":"..."` in a JSON text (names carry no escapes here).
fn string_fields(json: &str, field: &str) -> Vec<String> {
    let pat = format!("\"{field}\":\"");
    json.match_indices(&pat)
        .filter_map(|(i, _)| {
            let rest = &json[i + pat.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

/// The first `"field":<number>` in a JSON text.
fn number_field(json: &str, field: &str) -> Option<u64> {
    let pat = format!("\"{field}\":");
    let i = json.find(&pat)? + pat.len();
    json[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Peak resident set of a process, bytes (`VmHWM` in `/proc/<pid>/status`).
fn vm_hwm(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmHWM")?;
    Ok(kb * 1024)
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
