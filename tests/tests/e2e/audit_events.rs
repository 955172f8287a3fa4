//! Every kind of event the product promises to audit writes a row, with its actor, client
//! address, server, target and outcome: sign-ins and failures, 2FA and API-key changes, password
//! changes, user and server changes, the host-key pin, terminal open and close, share create,
//! join and revoke, and the SFTP operations.

use std::collections::BTreeSet;

use gatehouse_tests::files::{Files, RemoteDir};
use gatehouse_tests::{Api, Storage, Terminal, ADMIN_PASSWORD};
use wire::audit::{AuditEntry, AuditPage};
use wire::files::Mode;
use wire::users::Role;

use crate::terminal_sessions::Rig;
use crate::terminal_share::{join, share, user};

/// Every row, oldest first.
async fn log(admin: &Api) -> Vec<AuditEntry> {
    let page: AuditPage = admin.get("/api/audit?limit=1000").await.expect(200).json();
    page.entries.into_iter().rev().collect()
}

#[tokio::test]
async fn every_listed_event_writes_a_row_with_actor_address_target_and_outcome() {
    let rig = Rig::on(Storage::Sqlite, &[]).await;
    let (gh, admin, server) = (&rig.gh, &rig.admin, &rig.server);

    // Sign-ins: a failure, a user created, changed, signed in.
    gh.api()
        .login_raw("admin", "not-the-password")
        .await
        .expect(401);
    let pat = user(&rig, "pat", Role::User, &["ops"]).await;
    let pat_id = pat.me().await.id;
    admin
        .put(
            &format!("/api/users/{pat_id}"),
            &serde_json::json!({"allowed_groups": ["ops", "web"]}),
        )
        .await
        .expect(200);

    // One's own security: a password change, 2FA on, an API key made and revoked.
    let body = serde_json::json!({"current_password": ADMIN_PASSWORD,
        "new_password": "a-new-admin-password-1"});
    admin
        .post("/api/auth/change-password", &body)
        .await
        .expect(204);
    crate::totp::enrol(admin).await;
    let key: wire::auth::ApiKeyCreated = admin
        .post(
            "/api/auth/api-keys",
            &serde_json::json!({"name": "ci", "scopes": ["read"]}),
        )
        .await
        .expect(201)
        .json();
    admin
        .delete(&format!("/api/auth/api-keys/{}", key.api_key.id))
        .await
        .expect(204);

    // Servers: an update (policy) and a deletion.
    let mut req = rig.sshd.password_server("live");
    req.group = Some("ops".into());
    req.sftp_read_only = Some(false);
    req.description = "changed for the audit test".into();
    admin
        .put(&format!("/api/servers/{}", server.id), &req)
        .await
        .expect(200);
    let spare = admin
        .create_server(&rig.sshd.password_server("spare"))
        .await;
    admin
        .delete(&format!("/api/servers/{}", spare.id))
        .await
        .expect(204);

    // A terminal (pins the host key on first use), shared, joined, revoked, closed.
    let term = Terminal::open(admin, server.id).await;
    let session = term.session_id().to_owned();
    let token = share(admin, &session, "ro", None).await;
    let (_joined, _) = join(&pat, &token, "admin", "ro").await;
    admin
        .delete(&format!("/api/terminal/share/{session}"))
        .await
        .expect(204);
    admin
        .delete(&format!("/api/terminal/sessions/{session}"))
        .await
        .expect(204);
    drop(term);

    // Files: the operations a person does in the file manager.
    let files = Files::new(admin, server.id);
    let dir = RemoteDir::new();
    files.ls(Some(&dir.remote(""))).await.expect(200);
    files.mkdir(&dir.remote("made")).await.expect(201);
    files
        .upload(&dir.remote("made"), false, &[("a.txt", b"hello")])
        .await
        .expect(200);
    let a = dir.remote("made/a.txt");
    files.read(&a).await.expect(200);
    files.write(&a, "changed", None).await.expect(200);
    files.download(&a, &[]).await.expect(200);
    files
        .chmod(&a, Mode::Octal("0600".into()))
        .await
        .expect(200);
    let b = dir.remote("made/b.txt");
    files.rename(&a, &b, false).await.expect(200);
    files.delete(&dir.remote("made")).await.expect(200);

    // Signing out is the last thing pat does.
    pat.post_empty("/api/auth/logout").await.expect(204);

    // The session ends in the background: wait for its close row.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let rows = loop {
        let rows = log(admin).await;
        if rows.iter().any(|r| r.action == "terminal.close") {
            break rows;
        }
        assert!(tokio::time::Instant::now() < deadline, "no terminal.close");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let seen: BTreeSet<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    let promised = [
        "auth.login",
        "auth.login_failed",
        "auth.logout",
        "auth.password_change",
        "auth.totp_enabled",
        "auth.api_key_create",
        "auth.api_key_revoke",
        "user.create",
        "user.update",
        "server.create",
        "server.update",
        "server.delete",
        "server.host_key_pinned",
        "terminal.open",
        "terminal.close",
        "terminal.share",
        "terminal.join",
        "terminal.share_revoked",
        "files.list",
        "files.mkdir",
        "files.upload",
        "files.read",
        "files.write",
        "files.download",
        "files.chmod",
        "files.rename",
        "files.delete",
    ];
    let missing: Vec<&str> = promised
        .iter()
        .copied()
        .filter(|a| !seen.contains(a))
        .collect();
    assert!(missing.is_empty(), "no row for {missing:?}; seen {seen:?}");

    for row in &rows {
        // Every row says how it ended; rows a person caused carry their address.
        let outcome = row.outcome.as_deref().unwrap_or_default();
        assert!(
            ["success", "failure", "denied"].contains(&outcome),
            "{row:?}"
        );
        if row.username.is_some() {
            assert_eq!(row.client_ip.as_deref(), Some("127.0.0.1"), "{row:?}");
        }
        // Terminal and file events name their server and target.
        if row.action.starts_with("terminal.") || row.action.starts_with("files.") {
            assert_eq!(row.server_id, Some(server.id), "{row:?}");
            assert!(
                row.target.as_deref().is_some_and(|t| !t.is_empty()),
                "{row:?}"
            );
        }
    }
    let by = |action: &str| {
        rows.iter()
            .find(|r| r.action == action)
            .unwrap_or_else(|| panic!("{action}"))
    };
    assert_eq!(by("auth.login_failed").outcome.as_deref(), Some("failure"));
    assert_eq!(
        by("terminal.open").target.as_deref(),
        Some(session.as_str())
    );
    assert_eq!(by("terminal.join").username.as_deref(), Some("pat"));
    assert_eq!(by("user.update").target.as_deref(), Some("pat"));
    assert_eq!(by("server.delete").target.as_deref(), Some("spare"));
    assert_eq!(
        by("files.upload").target.as_deref(),
        Some(dir.remote("made/a.txt").as_str())
    );
    assert_eq!(by("files.rename").target.as_deref(), Some(a.as_str()));
}
