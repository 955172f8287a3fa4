//! `gatehouse healthcheck`, the container image's health check: exits 0 while the gateway it is
//! configured for answers `/readyz` with 200 — under its root path, over its own TLS — and 1 with
//! the reason otherwise (not ready, wrong URL, nobody listening).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use gatehouse_tests::binary::gatehouse_binary;
use gatehouse_tests::process::{die_with_parent, log_to, stop};
use gatehouse_tests::{free_port, Gatehouse, Storage, ADMIN_PASSWORD, WAIT};

fn run(mut cmd: Command) -> (Output, String) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .expect("run gatehouse healthcheck");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out, text)
}

fn healthcheck(gh: &Gatehouse, args: &[&str]) -> (Output, String) {
    let mut cmd = gh.command("healthcheck");
    cmd.args(args);
    run(cmd)
}

#[tokio::test]
async fn healthcheck_passes_under_the_root_path_and_fails_once_the_gateway_is_gone() {
    let mut gh = Gatehouse::start_env(&[("GATEHOUSE_ROOT_PATH", "/gatehouse")]).await;
    let (out, text) = healthcheck(&gh, &[]);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "http://127.0.0.1:{}/gatehouse/readyz: 200 ready",
            gh.port()
        )),
        "{text}"
    );

    // Outside the root path everything is 404: a URL that misses it is a failed check.
    let wrong = format!("{}/readyz", gh.base_url());
    let (out, text) = healthcheck(&gh, &["--url", &wrong]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("404"), "{text}");

    gh.terminate();
    let (out, text) = healthcheck(&gh, &["--timeout", "2"]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("no answer"), "{text}");
}

#[tokio::test]
async fn healthcheck_fails_while_migrations_are_pending() {
    let gh = Gatehouse::start_on(Storage::Postgres).await;
    assert!(healthcheck(&gh, &[]).0.status.success());
    // As if an older replica had migrated the database: this build has a migration to apply.
    let newest = gh.psql("SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1");
    gh.psql(&format!(
        "DELETE FROM seaql_migrations WHERE version = '{}'",
        newest.trim()
    ));
    let (out, text) = healthcheck(&gh, &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("503 migrations pending"), "{text}");
}

/// A self-signed certificate for a public name, not for 127.0.0.1 where the check connects.
fn certificate(dir: &Path) {
    crate::tls::self_signed(dir, "gatehouse.example.org", "DNS:gatehouse.example.org");
}

/// The gateway binary with a TLS configuration in a fresh directory, as `subcommand`.
fn tls_gateway(dir: &Path, port: u16, subcommand: &str) -> Command {
    let mut cmd = Command::new(gatehouse_binary());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GATEHOUSE_") {
            cmd.env_remove(key);
        }
    }
    cmd.arg(subcommand)
        .current_dir(dir)
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_DATA_DIR", dir.join("data"))
        .env("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("GATEHOUSE_MONITOR_ENABLED", "false")
        .env("GATEHOUSE_TLS_CERT", dir.join("cert.pem"))
        .env("GATEHOUSE_TLS_KEY", dir.join("key.pem"))
        .env("NO_COLOR", "1");
    cmd
}

#[tokio::test]
async fn healthcheck_speaks_tls_to_a_gateway_that_serves_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    certificate(dir.path());
    let port = free_port();
    let mut serve = tls_gateway(dir.path(), port, "serve");
    log_to(&mut serve, &dir.path().join("gatehouse.log"));
    die_with_parent(&mut serve);
    let mut child = serve.spawn().expect("start gatehouse");

    // The check itself is the readiness probe: it passes once the TLS listener is up.
    let deadline = Instant::now() + WAIT;
    let text = loop {
        let (out, text) = run(tls_gateway(dir.path(), port, "healthcheck"));
        if out.status.success() {
            break text;
        }
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let log = std::fs::read_to_string(dir.path().join("gatehouse.log")).unwrap_or_default();
            panic!("healthcheck never passed over TLS: {text}\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        text.contains(&format!("https://127.0.0.1:{port}/readyz: 200 ready")),
        "{text}"
    );

    // An explicit URL is verified: this self-signed certificate for another name is refused.
    let mut explicit = tls_gateway(dir.path(), port, "healthcheck");
    explicit.args(["--url", &format!("https://127.0.0.1:{port}/readyz")]);
    let (out, text) = run(explicit);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("no answer"), "{text}");

    stop(&mut child, libc::SIGTERM, Duration::from_secs(10));
}
