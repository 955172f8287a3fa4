//! `gatehouse rotate-key`: the master secret changes while everything it protects keeps working.
//! The procedure as docs/operations.md gives it: restart with the new secret plus the previous
//! one (the gateway then opens what either sealed), run `rotate-key`, restart with the new
//! secret alone. Server credentials, TOTP secrets and webhook secrets are re-sealed, the audit
//! chain re-keyed; a value that opens under neither key stops the command with nothing changed.

use std::path::Path;

use gatehouse_tests::sshd::{test_user, KEY_PASSPHRASE};
use gatehouse_tests::{Api, Gatehouse, Sshd, Storage};
use serde_json::json;
use wire::audit::AuditPage;
use wire::servers::{ServerView, TestReport};

use crate::auth::user_request;
use crate::backup::{enrol, login_with_code, run};

const NEW_KEY: &str = "the-new-master-secret-0123456789abcdef";
const WRONG_KEY: &str = "a-key-that-sealed-nothing-here-0123456";

/// The configuration file the gateway and its commands read from their working directory.
fn configure(gh: &Gatehouse, toml: &str) {
    std::fs::write(gh.work_dir().join("gatehouse.toml"), toml).expect("write gatehouse.toml");
}

async fn assert_connects(admin: &Api, server: &ServerView) {
    let report: TestReport = admin
        .post_empty(&format!("/api/servers/{}/test", server.id))
        .await
        .expect(200)
        .json();
    assert!(report.ok, "{}: {report:?}", server.name);
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write key file");
    path.to_str().expect("utf-8 path").to_owned()
}

async fn every_secret_moves_to_the_new_key(storage: Storage) {
    let sshd = Sshd::start();
    // The generated `<data_dir>/secret.key` is the old secret, as on a default install.
    let mut gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let password_box = admin.create_server(&sshd.password_server("pw-box")).await;
    let mut req = sshd.key_server("key-box");
    req.private_key = Some(test_user().encrypted_private_key.clone());
    req.passphrase = Some(KEY_PASSPHRASE.into());
    let key_box = admin.create_server(&req).await;
    let hook = json!({"name": "hook", "url": "https://hooks.example.com/x", "events": ["*"],
        "secret": "hook-signing-secret-1", "enabled": false});
    admin.post("/api/webhooks", &hook).await.expect(201);
    admin
        .create_user(&user_request("tina", "tina-password-1", &[]))
        .await;
    let tina = gh.api().login("tina", "tina-password-1").await.bearer;
    let authenticator = enrol(&tina).await;
    assert_connects(&admin, &password_box).await;
    assert_connects(&admin, &key_box).await;
    gh.terminate();

    let old_key_file = gh.data_dir().join("secret.key");
    let old_key_path = old_key_file.to_str().expect("utf-8 path").to_owned();
    let keys = tempfile::tempdir().expect("tempdir");
    let wrong_key_path = write_file(keys.path(), "wrong.key", WRONG_KEY);

    // Without a previous key there is nothing to rotate from.
    let (out, text) = run(
        &gh,
        &["rotate-key"],
        "",
        &[("GATEHOUSE_SECRET_KEY", NEW_KEY)],
    );
    assert!(
        !out.status.success() && text.contains("no previous key"),
        "{text}"
    );

    // The new secret alone, before the rotation: the stored credentials do not open.
    configure(&gh, &format!("secret_key = \"{NEW_KEY}\"\n"));
    gh.restart().await;
    let report: TestReport = gh
        .admin()
        .await
        .post_empty(&format!("/api/servers/{}/test", password_box.id))
        .await
        .expect(200)
        .json();
    assert!(
        !report.ok,
        "a credential sealed under the old key opened: {report:?}"
    );
    gh.terminate();

    // Step 1: the new secret, the old one as previous. The gateway opens what the old one sealed
    // and seals new values under the new one.
    configure(
        &gh,
        &format!("secret_key = \"{NEW_KEY}\"\nsecret_key_previous_file = \"{old_key_path}\"\n"),
    );
    gh.restart().await;
    let admin = gh.admin().await;
    assert_connects(&admin, &password_box).await;
    assert_connects(&admin, &key_box).await;
    let late_box = admin.create_server(&sshd.password_server("late-box")).await;
    let (out, text) = run(&gh, &["audit", "verify"], "", &[]);
    assert!(out.status.success(), "rows under both keys verify: {text}");
    gh.terminate();

    // A previous key that sealed none of it: refused, naming a value, and nothing changes.
    let wrong = [(
        "GATEHOUSE_SECRET_KEY_PREVIOUS_FILE",
        wrong_key_path.as_str(),
    )];
    let (out, text) = run(&gh, &["rotate-key"], "", &wrong);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("opens under neither the secret key nor the previous key"),
        "{text}"
    );
    assert!(text.contains("nothing was changed"), "{text}");

    // Step 2: rotate.
    let (out, text) = run(&gh, &["rotate-key"], "", &[]);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("re-sealed 3 server credential(s), 1 TOTP secret(s) and 1 webhook secret(s)"),
        "{text}"
    );
    assert!(text.contains("1 value(s) were already under it"), "{text}");

    // Step 3: the new secret alone.
    configure(&gh, &format!("secret_key = \"{NEW_KEY}\"\n"));
    gh.restart().await;
    let admin = gh.admin().await;
    for server in [&password_box, &key_box, &late_box] {
        assert_connects(&admin, server).await;
    }
    login_with_code(&gh, "tina", "tina-password-1", &authenticator.code(1)).await;
    let (out, text) = run(&gh, &["audit", "verify"], "", &[]);
    assert!(out.status.success(), "{text}");
    // The chain is the new key's now: the old secret no longer verifies it.
    let old = std::fs::read_to_string(&old_key_file).expect("old key");
    let (out, text) = run(
        &gh,
        &["audit", "verify"],
        "",
        &[("GATEHOUSE_SECRET_KEY", old.trim())],
    );
    assert!(!out.status.success() && text.contains("BROKEN"), "{text}");

    let page: AuditPage = admin
        .get("/api/audit?action=cli.rotate_key")
        .await
        .expect(200)
        .json();
    let entry = page.entries.first().expect("cli.rotate_key audited");
    assert_eq!(entry.username.as_deref(), Some("cli:ops-person"));
    let details = serde_json::to_string(&entry.details).unwrap_or_default();
    assert!(details.contains("\"server_secrets\":3"), "{details}");
    assert!(!details.contains(NEW_KEY), "{details}");
}

on_every_storage!(every_secret_moves_to_the_new_key);
