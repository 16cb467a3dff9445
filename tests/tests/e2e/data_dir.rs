//! The data directory is private: 0700 for the directory, 0600 for the database (and
//! its `-wal`/`-shm` files), the KEK, the root token, the session key and the audit log,
//! after the first start and again after a restart that finds them opened up (0755/0644,
//! as older versions left them).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::ensure;
use tests::Server;

const FILES: &[&str] = &[
    "pki-console.db",
    "pki-console.db-wal",
    "pki-console.db-shm",
    "kek",
    "root-token",
    "session-key",
    "audit.log",
];

fn mode(path: &Path) -> anyhow::Result<u32> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o7777)
}

/// Every expected file exists with 0600 and the directory is 0700.
fn check_private(dir: &Path, when: &str) -> anyhow::Result<()> {
    ensure!(
        mode(dir)? == 0o700,
        "{when}: data directory is {:o}",
        mode(dir)?
    );
    for name in FILES {
        let path = dir.join(name);
        ensure!(path.exists(), "{when}: {name} does not exist");
        ensure!(
            mode(&path)? == 0o600,
            "{when}: {name} is {:o}",
            mode(&path)?
        );
    }
    Ok(())
}

async fn audited_request(server: &Server) -> anyhow::Result<()> {
    let token = server.root_token()?;
    tests::recipe::vault(
        server,
        &token,
        tests::http::Method::GET,
        "sys/mounts",
        serde_json::Value::Null,
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn data_directory_and_files_are_private_also_after_a_restart() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("data");
    let bin = tests::server::binary()?;
    let server = Server::start_with(&bin, &dir, &[]).await?;
    // A request, so the audit log and the WAL have content.
    audited_request(&server).await?;
    check_private(&dir, "after the first start")?;
    server.stop().await?;

    // An older version's modes: world-readable directory and files.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    for name in FILES {
        let path = dir.join(name);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        }
    }
    let server = Server::start_with(&bin, &dir, &[]).await?;
    audited_request(&server).await?;
    check_private(&dir, "after a restart")?;
    server.stop().await?;
    Ok(())
}
