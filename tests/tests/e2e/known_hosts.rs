//! Importing an OpenSSH `known_hosts` file pins registered servers' host keys, and the imported
//! pin is the one every later connection is held to: the real sshd's key lets files through, a
//! wrong key in the file makes the gateway refuse the real host.

use std::fs;
use std::path::Path;
use std::process::Command;

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::process::run;
use gatehouse_tests::{free_port, Api, Files, Gatehouse, Sshd, Storage};
use wire::servers::{KnownHostsConflict, KnownHostsImportReport, KnownHostsImportRequest};
use wire::terminal::codes;

use crate::auth::user_request;

on_every_storage!(importing_known_hosts_pins_plain_and_hashed_entries_and_connections_use_the_pin);

/// `type base64` of the sshd's host key.
fn host_key_line(sshd: &Sshd) -> String {
    let public = fs::read_to_string(sshd.dir().join("hostkey.pub")).expect("read host key");
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A key no sshd presents, as `type base64`, and its fingerprint.
fn unrelated_key(dir: &Path) -> (String, String) {
    let path = dir.join("stranger");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f"])
        .arg(&path));
    let public = fs::read_to_string(path.with_extension("pub")).expect("read stranger key");
    let line = public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let listed = run(Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(path.with_extension("pub")));
    let fingerprint = listed.split_whitespace().nth(1).expect("a fingerprint");
    (line, fingerprint.to_string())
}

/// The known_hosts line for `sshd`, hashed by `ssh-keygen -H` as `HashKnownHosts` would.
fn hashed_line(sshd: &Sshd, dir: &Path) -> String {
    let file = dir.join("known_hosts");
    let plain = format!(
        "[{}]:{} {}\n",
        sshd.address(),
        sshd.port(),
        host_key_line(sshd)
    );
    fs::write(&file, plain).expect("write known_hosts");
    run(Command::new("ssh-keygen").arg("-H").arg("-f").arg(&file));
    let hashed = fs::read_to_string(&file).expect("read hashed known_hosts");
    assert!(
        hashed.starts_with("|1|"),
        "ssh-keygen -H hashed it: {hashed}"
    );
    hashed
}

async fn import(admin: &Api, text: &str, replace: bool, dry_run: bool) -> KnownHostsImportReport {
    let body = KnownHostsImportRequest {
        known_hosts: text.to_string(),
        replace,
        dry_run,
    };
    admin
        .post("/api/servers/known-hosts", &body)
        .await
        .expect(200)
        .json()
}

async fn importing_known_hosts_pins_plain_and_hashed_entries_and_connections_use_the_pin(
    storage: Storage,
) {
    let (plain_sshd, hashed_sshd) = (Sshd::start(), Sshd::start());
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let plain = admin
        .create_server(&plain_sshd.password_server("plain"))
        .await;
    let hashed = admin
        .create_server(&hashed_sshd.password_server("hashed"))
        .await;
    let mut elsewhere = plain_sshd.password_server("elsewhere");
    elsewhere.port = free_port();
    admin.create_server(&elsewhere).await;

    let keys = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "# exported from a laptop\n[{}]:{} {} laptop\n{}",
        plain_sshd.address(),
        plain_sshd.port(),
        host_key_line(&plain_sshd),
        hashed_line(&hashed_sshd, keys.path()),
    );
    let report = import(&admin, &text, false, false).await;
    let mut pinned: Vec<_> = report
        .pinned
        .iter()
        .map(|p| (p.server_id, p.fingerprint.clone(), p.key_type.as_str()))
        .collect();
    pinned.sort();
    let mut expected = vec![
        (plain.id, plain_sshd.host_key_fingerprint(), "ssh-ed25519"),
        (hashed.id, hashed_sshd.host_key_fingerprint(), "ssh-ed25519"),
    ];
    expected.sort();
    assert_eq!(pinned, expected, "{report:?}");
    assert_eq!(report.unmatched_servers, 1, "{report:?}");
    assert!(
        report.conflicts.is_empty() && report.warnings.is_empty(),
        "{report:?}"
    );
    for (server, sshd) in [(&plain, &plain_sshd), (&hashed, &hashed_sshd)] {
        assert_eq!(
            admin.server(server.id).await.host_key_fingerprint,
            Some(sshd.host_key_fingerprint())
        );
        Files::new(&admin, server.id)
            .ls(Some("/"))
            .await
            .expect(200);
    }
    assert!(gh.storage_contains(b"server.known_hosts_import"));

    // The same file again changes nothing.
    let again = import(&admin, &text, false, false).await;
    assert!(again.pinned.is_empty(), "{again:?}");
    assert_eq!(again.unchanged.len(), 2, "{again:?}");
}

#[tokio::test]
async fn a_wrong_key_in_the_file_is_pinned_and_then_refuses_the_real_host() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("imposter")).await;
    let keys = tempfile::tempdir().expect("tempdir");
    let (wrong, wrong_fingerprint) = unrelated_key(keys.path());

    let text = format!("[{}]:{} {wrong}\n", sshd.address(), sshd.port());
    let report = import(&admin, &text, false, false).await;
    assert_eq!(report.pinned.len(), 1, "{report:?}");
    let refused = Files::new(&admin, server.id)
        .ls(Some("/"))
        .await
        .expect_error(502, "host_key_mismatch");
    assert!(
        refused.text.contains(&wrong_fingerprint),
        "{}",
        refused.text
    );
    assert_eq!(
        admin.server(server.id).await.host_key_fingerprint,
        Some(wrong_fingerprint),
        "a mismatch never re-pins by itself"
    );
}

#[tokio::test]
async fn a_different_pin_is_a_conflict_until_replace_is_asked_and_a_dry_run_writes_nothing() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("pinned")).await;
    let fresh = admin
        .create_server(&{
            let mut req = sshd.password_server("fresh");
            req.hostname = "localhost".into();
            req
        })
        .await;
    let real = sshd.host_key_fingerprint();
    Files::new(&admin, server.id)
        .ls(Some("/"))
        .await
        .expect(200);
    let keys = tempfile::tempdir().expect("tempdir");
    let (wrong, wrong_fingerprint) = unrelated_key(keys.path());
    let text = format!(
        "[{}]:{port},[localhost]:{port} {wrong}\n",
        sshd.address(),
        port = sshd.port()
    );

    let report = import(&admin, &text, false, false).await;
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    let conflict = &report.conflicts[0];
    assert_eq!(
        (
            conflict.server_id,
            conflict.pinned.as_deref(),
            conflict.file.as_str()
        ),
        (server.id, Some(real.as_str()), wrong_fingerprint.as_str())
    );
    assert_eq!(conflict.reason, KnownHostsConflict::DIFFERENT_KEY);
    assert_eq!(
        admin.server(server.id).await.host_key_fingerprint,
        Some(real.clone())
    );
    // `fresh` had no pin: it was pinned by that import. Forget it for the dry run below.
    admin
        .delete(&format!("/api/servers/{}/host-key", fresh.id))
        .await
        .expect(204);

    let dry = import(&admin, &text, true, true).await;
    assert_eq!(dry.pinned.len(), 2, "{dry:?}");
    assert_eq!(
        admin.server(server.id).await.host_key_fingerprint,
        Some(real.clone())
    );
    assert_eq!(admin.server(fresh.id).await.host_key_fingerprint, None);

    let replaced = import(&admin, &text, true, false).await;
    let entry = replaced
        .pinned
        .iter()
        .find(|p| p.server_id == server.id)
        .expect("the pinned server is replaced");
    assert_eq!(entry.replaced_fingerprint.as_deref(), Some(real.as_str()));
    assert_eq!(
        admin.server(server.id).await.host_key_fingerprint,
        Some(wrong_fingerprint)
    );
    // The connection pooled by the first listing was verified against the old pin: retired.
    Files::new(&admin, server.id)
        .ls(Some("/"))
        .await
        .expect_error(502, codes::HOST_KEY_MISMATCH);
}

#[tokio::test]
async fn a_dry_run_leaves_no_pin_and_no_audit_row() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("dry")).await;
    let text = format!(
        "[{}]:{} {}\n",
        sshd.address(),
        sshd.port(),
        host_key_line(&sshd)
    );
    let report = import(&admin, &text, false, true).await;
    assert_eq!(report.pinned.len(), 1, "{report:?}");
    assert_eq!(admin.server(server.id).await.host_key_fingerprint, None);
    assert!(!gh.storage_contains(b"server.known_hosts_import"));
    assert!(!gh.storage_contains(b"\"source\":\"known_hosts\""));
}

#[tokio::test]
async fn only_admins_import_known_hosts_and_browsers_need_the_origin() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    admin
        .create_user(&user_request("una", "una-password-12", &["ops"]))
        .await;
    let una = gh.api().login("una", "una-password-12").await;
    let body = KnownHostsImportRequest {
        known_hosts: String::new(),
        replace: false,
        dry_run: true,
    };
    una.bearer
        .post("/api/servers/known-hosts", &body)
        .await
        .expect_error(403, "forbidden");
    let admin_session = gh
        .api()
        .login("admin", gatehouse_tests::ADMIN_PASSWORD)
        .await;
    admin_session
        .cookie
        .with_origin(None)
        .post("/api/servers/known-hosts", &body)
        .await
        .expect_error(403, "origin_mismatch");
    admin_session
        .cookie
        .post("/api/servers/known-hosts", &body)
        .await
        .expect(200);
}

#[tokio::test]
async fn garbage_and_revoked_lines_are_reported_and_oversized_files_refused() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("revoked")).await;
    let key = host_key_line(&sshd);
    let host = format!("[{}]:{}", sshd.address(), sshd.port());
    let text = format!(
        "not a known_hosts line\n{host} ssh-ed25519 !!!\n@cert-authority * {key}\n\
         {host} {key}\n@revoked {host} {key}\n"
    );
    let report = import(&admin, &text, false, false).await;
    assert_eq!(report.warnings.len(), 3, "{report:?}");
    for (warning, line) in report.warnings.iter().zip(1..) {
        assert!(warning.starts_with(&format!("line {line}: ")), "{warning}");
    }
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    assert_eq!(report.conflicts[0].reason, KnownHostsConflict::REVOKED);
    assert_eq!(admin.server(server.id).await.host_key_fingerprint, None);

    // Just over the 4 MiB text limit, yet a body the gateway reads to the end (a body over
    // the request limit is refused before it is read, and the client meets a closed socket).
    let huge = KnownHostsImportRequest {
        known_hosts: "x".repeat((4 << 20) + 1),
        replace: false,
        dry_run: true,
    };
    admin
        .post("/api/servers/known-hosts", &huge)
        .await
        .expect_error(413, "too_large");
    let many_lines = KnownHostsImportRequest {
        known_hosts: "#\n".repeat(100_001),
        replace: false,
        dry_run: true,
    };
    admin
        .post("/api/servers/known-hosts", &many_lines)
        .await
        .expect_error(413, "too_large");
}

#[tokio::test]
async fn an_imported_pin_supersedes_a_key_awaiting_approval() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start_with(Options {
        env: vec![("GATEHOUSE_HOST_KEY_POLICY".into(), "strict".into())],
        ..Options::default()
    })
    .await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("held")).await;
    let files = Files::new(&admin, server.id);
    files
        .ls(Some("/"))
        .await
        .expect_error(502, codes::HOST_KEY_UNAPPROVED);
    let fingerprint = sshd.host_key_fingerprint();
    assert_eq!(
        admin.server(server.id).await.host_key_pending,
        Some(fingerprint.clone())
    );

    let text = format!(
        "[{}]:{} {}\n",
        sshd.address(),
        sshd.port(),
        host_key_line(&sshd)
    );
    let report = import(&admin, &text, false, false).await;
    assert_eq!(report.pinned.len(), 1, "{report:?}");
    let view = admin.server(server.id).await;
    assert_eq!(view.host_key_fingerprint, Some(fingerprint));
    assert_eq!(
        view.host_key_pending, None,
        "the pin supersedes the held key"
    );
    files.ls(Some("/")).await.expect(200);
}
