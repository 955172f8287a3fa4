//! `gatehouse export` / `gatehouse import`: a gateway's users and servers go into a file sealed
//! under a passphrase and come back out in another gateway with another master secret, on the
//! other storage backend, and work there for real: the imported user signs in with password and
//! TOTP, and the imported bastion carries a connection to a host only it can reach, with the
//! exported host-key pins. A wrong passphrase, a changed byte and name clashes write nothing.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::{Api, Auth, Bastion, Gatehouse, Storage};
use wire::audit::AuditPage;
use wire::auth::TotpSetup;
use wire::servers::{ServerView, TestReport};
use wire::users::UserView;

use crate::auth::user_request;

const PASSPHRASE: &str = "correct horse battery staple";
const SOURCE_ADMIN: &str = "source-admin-Passw0rd-77";
const SOURCE_KEY: &str = "source-master-secret-0123456789abcdef";
const TARGET_KEY: &str = "target-master-secret-fedcba9876543210";

/// Runs `gatehouse <args…>` with `stdin` as its standard input; the output is both streams.
pub(crate) fn run(
    gh: &Gatehouse,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> (Output, String) {
    let mut cmd = gh.command(args[0]);
    cmd.args(&args[1..])
        .env("USER", "ops-person")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start gatehouse");
    if let Some(mut input) = child.stdin.take() {
        // A command that fails early may not read it; that is its answer, not ours.
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("gatehouse ran");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out, text)
}

/// An authenticator app: codes from the base32 secret shown at setup.
pub(crate) struct Authenticator(totp_rs::Totp);

impl Authenticator {
    /// The code `steps` 30-second steps from now (the gateway accepts one step either way).
    pub(crate) fn code(&self, steps: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.0
            .generate(now.saturating_add_signed(steps * 30))
            .to_string()
    }
}

/// Sets up and confirms TOTP for `api`'s user.
pub(crate) async fn enrol(api: &Api) -> Authenticator {
    let setup: TotpSetup = api
        .post_empty("/api/auth/totp/setup")
        .await
        .expect(200)
        .json();
    let secret = totp_rs::Secret::try_from_base32(&setup.secret).expect("base32 secret");
    let auth = Authenticator(
        totp_rs::Builder::new()
            .with_secret(secret)
            .build()
            .expect("totp"),
    );
    let body = serde_json::json!({"code": auth.code(0)});
    api.post("/api/auth/totp/enable", &body).await.expect(201);
    auth
}

/// Signs in with a second factor; the bearer client.
pub(crate) async fn login_with_code(gh: &Gatehouse, user: &str, password: &str, code: &str) -> Api {
    let body = serde_json::json!({"username": user, "password": password, "totp_code": code});
    let resp = gh
        .api()
        .with_auth(Auth::None)
        .post("/api/auth/login", &body)
        .await
        .expect(200);
    let login: wire::auth::LoginResponse = resp.json();
    gh.api().with_auth(Auth::Bearer(login.token))
}

async fn users(admin: &Api) -> Vec<UserView> {
    admin.get("/api/users").await.expect(200).json()
}

fn other(storage: Storage) -> Storage {
    match storage {
        Storage::Sqlite => Storage::Postgres,
        Storage::Postgres => Storage::Sqlite,
    }
}

/// Every hop of `server`'s chain connects and authenticates, under the pinned keys.
async fn assert_reachable(admin: &Api, server: &ServerView, net: &Bastion) {
    let report: TestReport = admin
        .post_empty(&format!("/api/servers/{}/test", server.id))
        .await
        .expect(200)
        .json();
    assert!(report.ok, "{report:?}");
    let prints: Vec<Option<String>> = report.hops.iter().map(|h| h.fingerprint.clone()).collect();
    assert_eq!(
        prints,
        [
            Some(net.bastion.host_key_fingerprint()),
            Some(net.private.host_key_fingerprint())
        ]
    );
}

async fn a_backup_restores_into_another_gateway_and_works_there(storage: Storage) {
    let net = Bastion::start();
    let source = Gatehouse::start_with(Options {
        storage,
        admin_password: Some(SOURCE_ADMIN.into()),
        env: vec![("GATEHOUSE_SECRET_KEY".into(), SOURCE_KEY.into())],
        ..Options::default()
    })
    .await;
    let admin = source.admin().await;
    let (_, private) = crate::jump::register(&admin, &net).await;
    // A first connection pins both hosts' keys: the pins travel with the backup.
    assert_reachable(&admin, &private, &net).await;
    admin
        .create_user(&user_request("olga", "olga-password-1", &["ops"]))
        .await;
    let olga = source.api().login("olga", "olga-password-1").await.bearer;
    let authenticator = enrol(&olga).await;

    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join("gatehouse.backup");
    let file_arg = file.to_str().expect("utf-8 path");
    let (out, text) = run(
        &source,
        &["export", "--out", file_arg],
        &format!("{PASSPHRASE}\n"),
        &[],
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("exported 2 user(s) and 2 server(s)"),
        "{text}"
    );
    let bytes = std::fs::read(&file).expect("backup written");
    assert!(bytes.starts_with(b"GATEHOUSE-BACKUP"));
    for secret in [gatehouse_tests::sshd::TEST_PASSWORD, "olga", "private-db"] {
        assert!(
            !gatehouse_tests::contains(&bytes, secret.as_bytes()),
            "{secret} in clear"
        );
    }
    // An existing file is never overwritten; a short passphrase is refused.
    let (out, text) = run(
        &source,
        &["export", "--out", file_arg],
        &format!("{PASSPHRASE}\n"),
        &[],
    );
    assert!(
        !out.status.success() && text.contains("already exists"),
        "{text}"
    );
    let other_file = work.path().join("short.backup");
    let (out, text) = run(
        &source,
        &["export", "--out", other_file.to_str().unwrap_or_default()],
        "short\n",
        &[],
    );
    assert!(
        !out.status.success() && text.contains("at least 12"),
        "{text}"
    );
    assert!(!other_file.exists());

    // The other backend, another master secret, its own admin.
    let target = Gatehouse::start_with(Options {
        storage: other(storage),
        env: vec![("GATEHOUSE_SECRET_KEY".into(), TARGET_KEY.into())],
        ..Options::default()
    })
    .await;
    let target_admin = target.admin().await;
    refusals_write_nothing(&target, &target_admin, &file, work.path()).await;

    // Skipping what exists: the target's admin stays, the rest arrives.
    let (out, text) = run(
        &target,
        &["import", file_arg, "--skip-existing"],
        &format!("{PASSPHRASE}\n"),
        &[],
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("users: 1 created, 0 replaced, 1 skipped; servers: 2 created"),
        "{text}"
    );
    let target_admin = target.admin().await;
    let servers = target_admin.servers().await;
    let bastion = servers
        .iter()
        .find(|s| s.name == "edge-bastion")
        .expect("bastion imported");
    let private = servers
        .iter()
        .find(|s| s.name == "private-db")
        .expect("private imported");
    assert_eq!(
        private.jump_via_id,
        Some(bastion.id),
        "the jump chain is relinked by name"
    );
    assert_eq!(
        private.host_key_fingerprint,
        Some(net.private.host_key_fingerprint())
    );
    assert!(private.has_private_key && bastion.has_password);
    // Through the imported bastion, with credentials re-sealed under the target's key.
    assert_reachable(&target_admin, private, &net).await;

    // Olga: her password hash, her groups and her second factor came along.
    target
        .api()
        .with_auth(Auth::None)
        .post(
            "/api/auth/login",
            &serde_json::json!({"username": "olga", "password": "olga-password-1"}),
        )
        .await
        .expect_error(401, "totp_required");
    let olga = login_with_code(&target, "olga", "olga-password-1", &authenticator.code(1)).await;
    let me = olga.me().await;
    assert!(me.totp_enabled && me.allowed_groups == ["ops"], "{me:?}");

    // Importing again changes nothing when skipping; replacing takes the source's admin.
    let (out, text) = run(
        &target,
        &["import", file_arg, "--skip-existing"],
        &format!("{PASSPHRASE}\n"),
        &[],
    );
    assert!(
        out.status.success() && text.contains("0 created, 0 replaced, 2 skipped"),
        "{text}"
    );
    let (out, text) = run(
        &target,
        &["import", file_arg, "--replace"],
        &format!("{PASSPHRASE}\n"),
        &[],
    );
    assert!(
        out.status.success() && text.contains("0 created, 2 replaced, 0 skipped"),
        "{text}"
    );
    target
        .api()
        .login_raw("admin", gatehouse_tests::ADMIN_PASSWORD)
        .await
        .expect(401);
    let source_admin = target.api().login("admin", SOURCE_ADMIN).await.bearer;
    let after: Vec<i32> = source_admin.servers().await.iter().map(|s| s.id).collect();
    assert_eq!(
        after,
        servers.iter().map(|s| s.id).collect::<Vec<_>>(),
        "replaced in place"
    );
    assert_reachable(&source_admin, private, &net).await;

    // Both sides audited it, and both chains hold.
    for (gh, action) in [(&source, "cli.export"), (&target, "cli.import")] {
        let api = gh.api().login("admin", SOURCE_ADMIN).await.bearer;
        let page: AuditPage = api
            .get(&format!("/api/audit?action={action}"))
            .await
            .expect(200)
            .json();
        assert!(!page.entries.is_empty(), "{action} not audited");
        assert!(page
            .entries
            .iter()
            .all(|e| e.username.as_deref() == Some("cli:ops-person")));
        let (out, text) = run(gh, &["audit", "verify"], "", &[]);
        assert!(out.status.success(), "{text}");
    }
}

/// A wrong passphrase, a changed byte and a name clash are refused, and the target is untouched.
async fn refusals_write_nothing(target: &Gatehouse, admin: &Api, file: &Path, work: &Path) {
    let file_arg = file.to_str().expect("utf-8 path");
    let (out, text) = run(target, &["import", file_arg], "not the passphrase\n", &[]);
    assert!(
        !out.status.success() && text.contains("wrong passphrase"),
        "{text}"
    );

    let mut bytes = std::fs::read(file).expect("backup");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    let tampered = work.join("tampered.backup");
    std::fs::write(&tampered, &bytes).expect("write tampered copy");
    let tampered_arg = tampered.to_str().expect("utf-8 path");
    let (out, text) = run(
        target,
        &["import", tampered_arg],
        &format!("{PASSPHRASE}\n"),
        &[],
    );
    assert!(
        !out.status.success() && text.contains("changed or damaged"),
        "{text}"
    );

    // The default is to refuse on a clash, naming it: the target has its own `admin`.
    let (out, text) = run(
        target,
        &["import", file_arg],
        &format!("{PASSPHRASE}\n"),
        &[],
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("already on this gateway: user \"admin\""),
        "{text}"
    );
    assert!(text.contains("nothing was imported"), "{text}");

    let names: Vec<String> = users(admin).await.into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["admin"]);
    assert!(admin.servers().await.is_empty());
}

on_every_storage!(a_backup_restores_into_another_gateway_and_works_there);

#[tokio::test]
async fn the_passphrase_comes_from_a_file_and_help_names_the_options() {
    let gh = Gatehouse::start().await;
    let work = tempfile::tempdir().expect("tempdir");
    let pass_file = work.path().join("pass");
    std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).expect("write passphrase");
    let out_file = work.path().join("b.backup");
    let args = [
        "export",
        "--out",
        out_file.to_str().expect("utf-8"),
        "--passphrase-file",
        pass_file.to_str().expect("utf-8"),
    ];
    let (out, text) = run(&gh, &args, "", &[]);
    assert!(out.status.success(), "{text}");
    let (out, text) = run(
        &gh,
        &[
            "import",
            out_file.to_str().expect("utf-8"),
            "--passphrase-file",
            pass_file.to_str().expect("utf-8"),
            "--on-conflict",
            "skip",
        ],
        "",
        &[],
    );
    assert!(out.status.success() && text.contains("1 skipped"), "{text}");
    for (command, option) in [
        ("export", "--passphrase-file"),
        ("import", "--skip-existing"),
        ("rotate-key", "Usage"),
    ] {
        let (out, text) = run(&gh, &[command, "--help"], "", &[]);
        assert!(
            out.status.success() && text.contains(option),
            "{command}: {text}"
        );
    }
}
