//! The authorisation matrix: every route the backend mounts × every kind of caller → what the
//! gateway must answer. The routes are read from the backend's source (`.route(...)` calls), so a
//! route added without a row here fails this test.
//!
//! Callers: anonymous; a user whose groups do not include the server's ("out"); a user whose do
//! ("in", who also owns the live terminal session); an auditor; an admin. Expectations are by
//! outcome, read from the answer's code: `U` refused as unauthenticated (401 `unauthenticated`),
//! `F` forbidden (403), `H` hidden (404 of the not-found kind: the thing does not exist for this
//! caller), `A` allowed (anything else: the request reached the handler's own rules, e.g. a 400
//! for the deliberately empty bodies), `a` allowed or not found (the row targets an id that does
//! not exist, so destructive routes destroy nothing), `P` public (anything).

use std::collections::BTreeSet;

use gatehouse_tests::terminal::Marker;
use gatehouse_tests::{workspace_root, Api, Auth, Gatehouse, Sshd, Terminal};
use reqwest::Method;
use wire::users::{CreateUserRequest, Role};

use crate::auth::user_request;

/// `(method, route as mounted, concrete path, JSON body, expectations: anon out in auditor admin)`.
type Row = (
    &'static str,
    &'static str,
    String,
    &'static str,
    &'static str,
);

fn rows(ids: &Ids) -> Vec<Row> {
    let s = ids.server;
    let sid = &ids.session;
    let rec = &ids.recording;
    let user = ids.user;
    let files = |op: &str, query: &str| format!("/api/files/{s}/{op}{query}");
    let none = "00000000-0000-0000-0000-000000000000";
    vec![
        // Public.
        ("GET", "/", "/".into(), "", "PPPPP"),
        (
            "GET",
            "/assets/{*path}",
            "/assets/app.css".into(),
            "",
            "PPPPP",
        ),
        ("GET", "/api/health", "/api/health".into(), "", "PPPPP"),
        // The OpenAPI document and its docs UI describe the API; they open nothing.
        (
            "GET",
            "/api/openapi.json",
            "/api/openapi.json".into(),
            "",
            "PPPPP",
        ),
        ("GET", "/api/docs", "/api/docs".into(), "", "PPPPP"),
        (
            "GET",
            "/api/docs/{file}",
            "/api/docs/init.js".into(),
            "",
            "PPPPP",
        ),
        ("GET", "/healthz", "/healthz".into(), "", "PPPPP"),
        ("GET", "/readyz", "/readyz".into(), "", "PPPPP"),
        // Prometheus scrapes: admins only.
        ("GET", "/metrics", "/metrics".into(), "", "UFFFA"),
        (
            "GET",
            "/api/{*rest}",
            "/api/no-such-route".into(),
            "",
            "PPPPP",
        ),
        (
            "POST",
            "/api/auth/login",
            "/api/auth/login".into(),
            "{}",
            "PPPPP",
        ),
        (
            "GET",
            "/api/auth/providers",
            "/api/auth/providers".into(),
            "",
            "PPPPP",
        ),
        (
            "GET",
            "/api/auth/oidc/login",
            "/api/auth/oidc/login".into(),
            "",
            "PPPPP",
        ),
        (
            "GET",
            "/api/auth/oidc/callback",
            "/api/auth/oidc/callback".into(),
            "",
            "PPPPP",
        ),
        // One's own account.
        ("GET", "/api/auth/me", "/api/auth/me".into(), "", "UAAAA"),
        (
            "POST",
            "/api/auth/change-password",
            "/api/auth/change-password".into(),
            "{}",
            "UAAAA",
        ),
        (
            "GET",
            "/api/auth/totp",
            "/api/auth/totp".into(),
            "",
            "UAAAA",
        ),
        (
            "POST",
            "/api/auth/totp/setup",
            "/api/auth/totp/setup".into(),
            "",
            "UAAAA",
        ),
        (
            "POST",
            "/api/auth/totp/enable",
            "/api/auth/totp/enable".into(),
            "{}",
            "UAAAA",
        ),
        (
            "POST",
            "/api/auth/totp/disable",
            "/api/auth/totp/disable".into(),
            "{}",
            "UAAAA",
        ),
        (
            "POST",
            "/api/auth/totp/recovery-codes",
            "/api/auth/totp/recovery-codes".into(),
            "{}",
            "UAAAA",
        ),
        (
            "GET",
            "/api/auth/api-keys",
            "/api/auth/api-keys".into(),
            "",
            "UAAAA",
        ),
        (
            "POST",
            "/api/auth/api-keys",
            "/api/auth/api-keys".into(),
            "{}",
            "UAAAA",
        ),
        (
            "DELETE",
            "/api/auth/api-keys/{id}",
            "/api/auth/api-keys/999999".into(),
            "",
            "Uaaaa",
        ),
        // Admin only.
        ("GET", "/api/users", "/api/users".into(), "", "UFFFA"),
        ("POST", "/api/users", "/api/users".into(), "{}", "UFFFA"),
        (
            "GET",
            "/api/users/{id}",
            format!("/api/users/{user}"),
            "",
            "UFFFA",
        ),
        (
            "PUT",
            "/api/users/{id}",
            format!("/api/users/{user}"),
            "{}",
            "UFFFA",
        ),
        (
            "DELETE",
            "/api/users/{id}",
            "/api/users/999999".into(),
            "",
            "UFFFa",
        ),
        (
            "DELETE",
            "/api/users/{id}/totp",
            format!("/api/users/{user}/totp"),
            "",
            "UFFFA",
        ),
        (
            "GET",
            "/api/admin/ldap",
            "/api/admin/ldap".into(),
            "",
            "UFFFA",
        ),
        (
            "POST",
            "/api/admin/ldap/test",
            "/api/admin/ldap/test".into(),
            "{}",
            "UFFFA",
        ),
        (
            "GET",
            "/api/admin/oidc",
            "/api/admin/oidc".into(),
            "",
            "UFFFA",
        ),
        (
            "POST",
            "/api/admin/oidc/test",
            "/api/admin/oidc/test".into(),
            "{}",
            "UFFFA",
        ),
        ("POST", "/api/servers", "/api/servers".into(), "{}", "UFFFA"),
        (
            "PUT",
            "/api/servers/{id}",
            format!("/api/servers/{s}"),
            "{}",
            "UFFFA",
        ),
        (
            "DELETE",
            "/api/servers/{id}",
            "/api/servers/999999".into(),
            "",
            "UFFFa",
        ),
        (
            "DELETE",
            "/api/servers/{id}/host-key",
            "/api/servers/999999/host-key".into(),
            "",
            "UFFFa",
        ),
        (
            "GET",
            "/api/servers/{id}/host-key",
            format!("/api/servers/{s}/host-key"),
            "",
            "UFFFA",
        ),
        (
            "POST",
            "/api/servers/{id}/host-key/approve",
            format!("/api/servers/{s}/host-key/approve"),
            "{}",
            "UFFFA",
        ),
        (
            "POST",
            "/api/servers/import",
            "/api/servers/import".into(),
            "{}",
            "UFFFA",
        ),
        (
            "POST",
            "/api/servers/known-hosts",
            "/api/servers/known-hosts".into(),
            "{}",
            "UFFFA",
        ),
        (
            "DELETE",
            "/api/recordings/{id}",
            format!("/api/recordings/{none}"),
            "",
            "UFFFa",
        ),
        // Servers a caller may see.
        ("GET", "/api/servers", "/api/servers".into(), "", "UAAAA"),
        (
            "GET",
            "/api/servers/status",
            "/api/servers/status".into(),
            "",
            "UAAAA",
        ),
        (
            "GET",
            "/api/servers/{id}",
            format!("/api/servers/{s}"),
            "",
            "UHAHA",
        ),
        (
            "POST",
            "/api/servers/{id}/test",
            format!("/api/servers/{s}/test"),
            "",
            "UHAHA",
        ),
        // Files on a server the caller may use.
        (
            "GET",
            "/api/files/{server_id}/ls",
            files("ls", "?path=/"),
            "",
            "UHAHA",
        ),
        (
            "GET",
            "/api/files/{server_id}/stat",
            files("stat", "?path=/"),
            "",
            "UHAHA",
        ),
        (
            "GET",
            "/api/files/{server_id}/read",
            files("read", "?path=/etc/hostname"),
            "",
            "UHAHA",
        ),
        (
            "PUT",
            "/api/files/{server_id}/write",
            files("write", ""),
            "{}",
            "UHAHA",
        ),
        (
            "GET",
            "/api/files/{server_id}/download",
            files("download", "?path=/etc/hostname"),
            "",
            "UHAHA",
        ),
        (
            "GET",
            "/api/files/{server_id}/download-zip",
            files("download-zip", ""),
            "",
            "UHAHA",
        ),
        (
            "POST",
            "/api/files/{server_id}/download-zip",
            files("download-zip", ""),
            "{}",
            "UHAHA",
        ),
        (
            "POST",
            "/api/files/{server_id}/upload",
            files("upload", "?path=/tmp"),
            "{}",
            "UHAHA",
        ),
        (
            "POST",
            "/api/files/{server_id}/mkdir",
            files("mkdir", ""),
            "{}",
            "UHAHA",
        ),
        (
            "POST",
            "/api/files/{server_id}/rename",
            files("rename", ""),
            "{}",
            "UHAHA",
        ),
        (
            "DELETE",
            "/api/files/{server_id}/delete",
            files("delete", ""),
            "",
            "UHAHA",
        ),
        (
            "POST",
            "/api/files/{server_id}/chmod",
            files("chmod", ""),
            "{}",
            "UHAHA",
        ),
        (
            "POST",
            "/api/files/{server_id}/copy-to",
            files("copy-to", ""),
            "{}",
            "UHAHA",
        ),
        // Terminals: the session is the "in" user's.
        (
            "GET",
            "/api/terminal/limits",
            "/api/terminal/limits".into(),
            "",
            "UAAAA",
        ),
        (
            "GET",
            "/api/terminal/sessions",
            "/api/terminal/sessions".into(),
            "",
            "UAAAA",
        ),
        (
            "GET",
            "/api/ws/terminal/{server_id}",
            format!("/api/ws/terminal/{s}"),
            "",
            "UHAHA",
        ),
        (
            "GET",
            "/api/ws/terminal/attach/{session_id}",
            format!("/api/ws/terminal/attach/{sid}"),
            "",
            "UHAHH",
        ),
        (
            "GET",
            "/api/terminal/share/{session_id}",
            format!("/api/terminal/share/{sid}"),
            "",
            "UHAHA",
        ),
        (
            "POST",
            "/api/terminal/share/{session_id}",
            format!("/api/terminal/share/{sid}"),
            "{}",
            "UHAHA",
        ),
        (
            "GET",
            "/api/ws/terminal/join/{share_token}",
            format!("/api/ws/terminal/join/{}", ids.share),
            "",
            "UFAFA",
        ),
        (
            "GET",
            "/api/ws/terminal/watch/{session_id}",
            format!("/api/ws/terminal/watch/{sid}"),
            "",
            "UFFAA",
        ),
        (
            "DELETE",
            "/api/terminal/share/{session_id}/participants/{participant_id}",
            format!("/api/terminal/share/{sid}/participants/{none}"),
            "",
            "UHaHa",
        ),
        (
            "DELETE",
            "/api/terminal/share/{session_id}",
            format!("/api/terminal/share/{sid}"),
            "",
            "UHAHA",
        ),
        (
            "DELETE",
            "/api/terminal/sessions/{session_id}",
            format!("/api/terminal/sessions/{none}"),
            "",
            "UHaHa",
        ),
        // Recordings: the recording is the "in" user's.
        (
            "GET",
            "/api/recordings",
            "/api/recordings".into(),
            "",
            "UAAAA",
        ),
        (
            "GET",
            "/api/recordings/{id}",
            format!("/api/recordings/{rec}"),
            "",
            "UHAAA",
        ),
        (
            "GET",
            "/api/recordings/{id}/cast",
            format!("/api/recordings/{rec}/cast"),
            "",
            "UHAAA",
        ),
        // Snippets: everyone's own plus the shared ones; auditors only read. The id is one that
        // does not exist, so nothing is changed or destroyed.
        ("GET", "/api/snippets", "/api/snippets".into(), "", "UAAAA"),
        (
            "POST",
            "/api/snippets",
            "/api/snippets".into(),
            "{}",
            "UAAFA",
        ),
        (
            "GET",
            "/api/snippets/{id}",
            "/api/snippets/999999".into(),
            "",
            "Uaaaa",
        ),
        (
            "PUT",
            "/api/snippets/{id}",
            "/api/snippets/999999".into(),
            "{}",
            "UaaFa",
        ),
        (
            "DELETE",
            "/api/snippets/{id}",
            "/api/snippets/999999".into(),
            "",
            "UaaFa",
        ),
        // The audit log: admins and auditors.
        ("GET", "/api/audit", "/api/audit".into(), "", "UFFAA"),
        (
            "GET",
            "/api/audit/export",
            "/api/audit/export".into(),
            "",
            "UFFAA",
        ),
        // Webhooks: admins only (ids that do not exist, so nothing is changed or sent).
        ("GET", "/api/webhooks", "/api/webhooks".into(), "", "UFFFA"),
        (
            "POST",
            "/api/webhooks",
            "/api/webhooks".into(),
            "{}",
            "UFFFA",
        ),
        (
            "GET",
            "/api/webhooks/{id}",
            "/api/webhooks/999999".into(),
            "",
            "UFFFa",
        ),
        (
            "PUT",
            "/api/webhooks/{id}",
            "/api/webhooks/999999".into(),
            "{}",
            "UFFFa",
        ),
        (
            "DELETE",
            "/api/webhooks/{id}",
            "/api/webhooks/999999".into(),
            "",
            "UFFFa",
        ),
        (
            "POST",
            "/api/webhooks/{id}/test",
            "/api/webhooks/999999/test".into(),
            "",
            "UFFFa",
        ),
        (
            "GET",
            "/api/webhooks/{id}/deliveries",
            "/api/webhooks/999999/deliveries".into(),
            "",
            "UFFFa",
        ),
        (
            "POST",
            "/api/webhooks/{id}/deliveries/{delivery_id}/retry",
            "/api/webhooks/999999/deliveries/1/retry".into(),
            "",
            "UFFFa",
        ),
        // Last: it ends each caller's session.
        (
            "POST",
            "/api/auth/logout",
            "/api/auth/logout".into(),
            "",
            "UAAAA",
        ),
    ]
}

struct Ids {
    server: i32,
    user: i32,
    session: String,
    share: String,
    recording: String,
}

/// What the answer means for authorisation.
fn outcome(status: u16, code: Option<&str>) -> char {
    match (status, code) {
        (401, Some("unauthenticated")) => 'U',
        (403, _) => 'F',
        (404, Some("not_found" | "session_not_found" | "share_not_found")) => 'H',
        _ => 'A',
    }
}

fn matches(expected: char, got: char) -> bool {
    match expected {
        'P' => true,
        'a' => got == 'A' || got == 'H',
        e => e == got,
    }
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_as_the_matrix_says() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let mut req = sshd.password_server("matrix");
    req.group = Some("ops".into());
    let server = admin.create_server(&req).await;
    let mut callers = vec![("anon", gh.api().with_auth(Auth::None))];
    // A user the admin-only rows act on (a 2FA reset ends its sessions).
    admin
        .create_user(&user_request("spare", "spare-password-1", &[]))
        .await;
    for (name, role, groups) in [
        ("out", Role::User, vec!["elsewhere"]),
        ("in", Role::User, vec!["ops"]),
        ("auditor", Role::Auditor, vec![]),
    ] {
        let password = format!("{name}-password-1");
        admin
            .create_user(&CreateUserRequest {
                role,
                ..user_request(name, &password, &groups)
            })
            .await;
        callers.push((name, gh.api().login(name, &password).await.bearer));
    }
    callers.push(("admin", admin.clone()));
    let inside: Api = callers[2].1.clone();

    // A finished recording of the "in" user's, and a live session of theirs with a share link.
    let mut done = Terminal::open(&inside, server.id).await;
    let done_id = done.session_id().to_owned();
    let m = Marker::new("MATRIX");
    done.send_line(&format!("printf '%s\\n' {}", m.shell)).await;
    done.read_until(m.printed.as_bytes()).await;
    done.close().await;
    let recording = loop {
        let list: wire::recordings::RecordingList =
            admin.get("/api/recordings").await.expect(200).json();
        match list.recordings.iter().find(|r| {
            r.session_id == done_id && r.state != wire::recordings::RecordingState::Recording
        }) {
            Some(r) => break r.id.clone(),
            None => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    };
    let live = Terminal::open(&inside, server.id).await;
    let body = serde_json::json!({"mode": "ro"});
    let share: wire::terminal::ShareCreated = inside
        .post(&format!("/api/terminal/share/{}", live.session_id()), &body)
        .await
        .expect(201)
        .json();
    let users: Vec<wire::users::UserView> = admin.get("/api/users").await.expect(200).json();
    let ids = Ids {
        server: server.id,
        user: users
            .iter()
            .find(|u| u.username == "spare")
            .expect("spare")
            .id,
        session: live.session_id().to_owned(),
        share: share.token,
        recording,
    };
    let table = rows(&ids);

    // Every mounted route has a row, and every row a mounted route.
    let mounted = gatehouse_tests::routes::mounted(&workspace_root().join("backend").join("src"));
    let listed: BTreeSet<(String, String)> = table
        .iter()
        .map(|(method, route, ..)| {
            let method = if *route == "/api/{*rest}" {
                "ANY"
            } else {
                method
            };
            (method.to_string(), route.to_string())
        })
        .collect();
    let missing: Vec<_> = mounted.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorisation matrix: {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&mounted).collect();
    assert!(
        stale.is_empty(),
        "matrix rows for routes that are not mounted: {stale:?}"
    );

    let mut wrong = Vec::new();
    for (method, route, path, body, expected) in &table {
        for ((name, api), want) in callers.iter().zip(expected.chars()) {
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            let resp = if body.is_empty() {
                api.send::<()>(method, path, None).await
            } else {
                api.send_raw(method, path, body).await
            };
            let got = outcome(resp.status, resp.code());
            if !matches(want, got) {
                wrong.push(format!(
                    "{route} as {name}: expected {want}, got {got} ({} {})",
                    resp.status,
                    gatehouse_tests::tail(&resp.text, 120)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers break the matrix:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    drop(live);
}
