//! Built-in TLS: the gateway serves HTTPS (and WebSockets over it) with its own certificate,
//! marks the session cookie Secure and sends HSTS, speaks no plain HTTP on that port, is not held
//! up by a client that connects and never handshakes, and refuses to start on half a
//! configuration or an unreadable key. Checked with curl, a client that knows nothing of ours.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gatehouse_tests::binary::gatehouse_binary;
use gatehouse_tests::process::{die_with_parent, log_to, stop};
use gatehouse_tests::{free_port, Sshd, ADMIN_PASSWORD, WAIT};

/// A self-signed certificate (its own CA) for `/CN=<cn>` with the subject alternative name `san`
/// (`IP:…` or `DNS:…`): `cert.pem` and `key.pem` in `dir`.
pub fn self_signed(dir: &Path, cn: &str, san: &str) {
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec"])
        .args(["-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-nodes", "-days", "2"])
        .args(["-subj", &format!("/CN={cn}")])
        .args(["-addext", &format!("subjectAltName={san}")])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed certificate for 127.0.0.1 (it is its own CA for curl).
fn certificate(dir: &Path) {
    self_signed(dir, "gatehouse-test", "IP:127.0.0.1");
}

fn gateway(dir: &Path, port: u16, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(gatehouse_binary());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GATEHOUSE_") {
            cmd.env_remove(key);
        }
    }
    cmd.arg("serve")
        .current_dir(dir)
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_DATA_DIR", dir.join("data"))
        .env("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("GATEHOUSE_MONITOR_ENABLED", "false")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// `curl` against the gateway, trusting our certificate; stdout includes the headers (`-i`).
fn curl(dir: &Path, args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10", "--cacert"])
        .arg(dir.join("cert.pem"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The JSON body of a `curl -i` answer.
fn body(out: &Output) -> serde_json::Value {
    let all = String::from_utf8_lossy(&out.stdout);
    let json = all.split("\r\n\r\n").last().unwrap_or_default();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {all}"))
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        stop(&mut self.0, libc::SIGTERM, Duration::from_secs(10));
    }
}

#[tokio::test]
async fn the_gateway_serves_https_and_websockets_with_its_own_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    certificate(dir);
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let tls = [
        (
            "GATEHOUSE_TLS_CERT",
            dir.join("cert.pem").display().to_string(),
        ),
        (
            "GATEHOUSE_TLS_KEY",
            dir.join("key.pem").display().to_string(),
        ),
    ];
    let mut cmd = gateway(dir, port, &tls);
    log_to(&mut cmd, &dir.join("gatehouse.log"));
    die_with_parent(&mut cmd);
    let _gateway = Running(cmd.spawn().expect("start gatehouse"));
    let log = || std::fs::read_to_string(dir.join("gatehouse.log")).unwrap_or_default();

    // A client that connects and never says a word must not hold anyone else up.
    let deadline = Instant::now() + WAIT;
    while !log().contains("listening on https://") {
        assert!(Instant::now() < deadline, "not listening:\n{}", log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let _silent = TcpStream::connect(("127.0.0.1", port)).expect("connect");

    let started = Instant::now();
    let health = curl(dir, &[&format!("{base}/api/health")]);
    assert!(health.status.success(), "{}\n{}", text(&health), log());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let head = text(&health).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("strict-transport-security: max-age="),
        "{head}"
    );

    // No plain HTTP on the TLS port.
    let plain = Command::new("curl")
        .args(["-sS", "--max-time", "5"])
        .arg(format!("http://127.0.0.1:{port}/api/health"))
        .output()
        .expect("run curl");
    assert!(!plain.status.success(), "{}", text(&plain));

    // Sign in: the cookie is Secure without being told.
    let login = curl(
        dir,
        &[
            "-H",
            "Content-Type: application/json",
            "--data",
            &format!(r#"{{"username":"admin","password":"{ADMIN_PASSWORD}"}}"#),
            &format!("{base}/api/auth/login"),
        ],
    );
    let cookie_line = text(&login)
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {}", text(&login)))
        .to_owned();
    assert!(cookie_line.contains("; Secure"), "{cookie_line}");
    let token = body(&login)["token"].as_str().expect("token").to_owned();
    let bearer = format!("Authorization: Bearer {token}");

    // A terminal WebSocket upgrades over TLS to a real sshd.
    let sshd = Sshd::start();
    let server = serde_json::to_string(&sshd.password_server("tls-box")).expect("json");
    let created = curl(
        dir,
        &[
            "-H",
            &bearer,
            "-H",
            "Content-Type: application/json",
            "--data",
            &server,
            &format!("{base}/api/servers"),
        ],
    );
    assert!(
        text(&created).starts_with("HTTP/1.1 201"),
        "{}",
        text(&created)
    );
    let id = body(&created)["id"].as_i64().expect("server id");
    let upgrade = curl(
        dir,
        &[
            "--http1.1",
            "--max-time",
            "3",
            "-H",
            &bearer,
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: websocket",
            "-H",
            "Sec-WebSocket-Version: 13",
            "-H",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            &format!("{base}/api/ws/terminal/{id}?cols=80&rows=24"),
        ],
    );
    // curl waits on the open socket until --max-time; what matters is the status line.
    assert!(
        text(&upgrade).starts_with("HTTP/1.1 101"),
        "{}\n{}",
        text(&upgrade),
        log()
    );
}

#[tokio::test]
async fn half_a_tls_configuration_or_a_bad_key_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    certificate(dir);
    let cert = (
        "GATEHOUSE_TLS_CERT",
        dir.join("cert.pem").display().to_string(),
    );
    let cases = [
        (
            vec![cert.clone()],
            "tls_cert and tls_key must be set together",
        ),
        (
            vec![
                cert.clone(),
                (
                    "GATEHOUSE_TLS_KEY",
                    dir.join("missing.pem").display().to_string(),
                ),
            ],
            "cannot read the TLS private key",
        ),
    ];
    for (env, expected) in cases {
        let out = gateway(dir, free_port(), &env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run gatehouse");
        assert!(!out.status.success(), "started with {env:?}");
        assert!(text(&out).contains(expected), "{expected}: {}", text(&out));
    }
}
