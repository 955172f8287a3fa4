//! The audit log: admins and auditors filter, search and export it; it is tamper-evident:
//! `gatehouse audit verify` passes on an untouched log and names the first row that was edited,
//! deleted or inserted (on PostgreSQL, edited with psql as someone with database access but
//! without the gateway's secret would).

use gatehouse_tests::{Gatehouse, Storage};
use wire::audit::{AuditEntry, AuditPage};
use wire::users::{CreateUserRequest, Role};

use crate::auth::user_request;

/// `gatehouse audit verify`: (exit success, stdout).
fn verify(gh: &Gatehouse) -> (bool, String) {
    let out = gh
        .command("audit")
        .arg("verify")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run gatehouse audit verify");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A gateway whose log has a few rows: sign-ins, user creations.
async fn busy_gateway() -> Gatehouse {
    let gh = Gatehouse::start_on(Storage::Postgres).await;
    let admin = gh.admin().await;
    for name in ["ann", "ben", "cid"] {
        let req: CreateUserRequest = user_request(name, &format!("{name}-password-1"), &[]);
        admin.create_user(&req).await;
    }
    gh.api().login_raw("ann", "wrong").await.expect(401);
    gh
}

fn count(gh: &Gatehouse) -> usize {
    gh.psql("SELECT count(*) FROM audit_log")
        .trim()
        .parse()
        .expect("count")
}

#[tokio::test]
async fn an_untouched_log_verifies_and_an_edited_row_is_named() {
    let gh = busy_gateway().await;
    let rows = count(&gh);
    assert!(rows >= 5, "{rows} rows");
    let (ok, text) = verify(&gh);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("audit log intact: {rows} chained rows")),
        "{text}"
    );

    gh.psql("UPDATE audit_log SET username = 'someone-else' WHERE id = 3");
    let (ok, text) = verify(&gh);
    assert!(!ok, "an edited row passed: {text}");
    assert!(
        text.contains("BROKEN at row 3") && text.contains("edited"),
        "{text}"
    );
}

#[tokio::test]
async fn a_deleted_row_and_an_inserted_row_are_named() {
    let gh = busy_gateway().await;
    gh.psql("DELETE FROM audit_log WHERE id = 3");
    let (ok, text) = verify(&gh);
    assert!(!ok, "a deleted row passed: {text}");
    assert!(
        text.contains("BROKEN at row 4") && text.contains("row 2"),
        "{text}"
    );

    // Put a forged row where the deleted one was, linked and hashed as well as one can without
    // the gateway's secret: it is still caught.
    gh.psql(
        "INSERT INTO audit_log (id, at, action, details, prev_hash, hash) \
         SELECT 3, now(), 'auth.login', '{}', hash, md5('x') || md5('y') FROM audit_log WHERE id = 2",
    );
    let (ok, text) = verify(&gh);
    assert!(!ok, "an inserted row passed: {text}");
    assert!(text.contains("BROKEN at row 3"), "{text}");

    // A new gateway keeps appending to a log: rows after the damage are still checked from the
    // start, so the verdict does not change.
    gh.api().login_raw("ben", "wrong").await.expect(401);
    let (ok, _) = verify(&gh);
    assert!(!ok);
}

#[tokio::test]
async fn auditors_filter_search_and_export_the_log_and_users_cannot() {
    let gh = busy_gateway().await;
    let admin = gh.admin().await;
    admin
        .create_user(&CreateUserRequest {
            role: Role::Auditor,
            ..user_request("aud", "aud-password-1", &[])
        })
        .await;
    let aud = gh.api().login("aud", "aud-password-1").await.bearer;
    let ann = gh.api().login("ann", "ann-password-1").await.bearer;
    ann.get("/api/audit").await.expect_error(403, "forbidden");
    ann.get("/api/audit/export")
        .await
        .expect_error(403, "forbidden");

    let all: AuditPage = aud.get("/api/audit").await.expect(200).json();
    assert!(all.total >= 8, "{}", all.total);
    assert!(
        all.entries.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );
    let failed: AuditPage = aud
        .get("/api/audit?action=auth.login_failed")
        .await
        .expect(200)
        .json();
    assert_eq!(failed.total, 1);
    assert_eq!(failed.entries[0].username.as_deref(), Some("ann"));
    let auth: AuditPage = aud.get("/api/audit?action=auth.").await.expect(200).json();
    assert!(auth.entries.iter().all(|e| e.action.starts_with("auth.")));
    assert!(auth.total >= 4);
    let by_user: AuditPage = aud
        .get("/api/audit?user=admin&action=user.create")
        .await
        .expect(200)
        .json();
    assert_eq!(by_user.total, 4);
    // Text search looks in the details too; `%` and `_` are taken literally.
    let found: AuditPage = aud.get("/api/audit?q=cid").await.expect(200).json();
    assert!(
        found.entries.iter().any(|e| e.action == "user.create"),
        "{found:?}"
    );
    let none: AuditPage = aud.get("/api/audit?q=%25").await.expect(200).json();
    assert_eq!(none.total, 0);
    aud.get("/api/audit?since=last-week")
        .await
        .expect_error(400, "invalid_date");
    let page: AuditPage = aud
        .get("/api/audit?limit=2&offset=1")
        .await
        .expect(200)
        .json();
    assert_eq!((page.entries.len(), page.total), (2, all.total));

    let jsonl = aud
        .get("/api/audit/export?format=jsonl&action=user.create")
        .await
        .expect(200);
    let lines: Vec<AuditEntry> = jsonl
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    let csv = aud.get("/api/audit/export?format=csv").await.expect(200);
    let mut rows = csv.text.lines();
    assert_eq!(
        rows.next(),
        Some("id,at,user_id,username,action,server_id,client_ip,target,outcome,details")
    );
    assert!(rows.count() as u64 >= all.total);
    aud.get("/api/audit/export?format=xml")
        .await
        .expect_error(400, "validation_failed");
    // The exports were audited.
    let exports: AuditPage = admin
        .get("/api/audit?action=audit.export")
        .await
        .expect(200)
        .json();
    assert_eq!(exports.total, 2);
    let (ok, text) = verify(&gh);
    assert!(ok, "{text}");
}

#[tokio::test]
async fn retention_removes_old_rows_and_the_rest_still_verifies() {
    let gh = Gatehouse::start_with(gatehouse_tests::gatehouse::Options {
        storage: Storage::Postgres,
        env: vec![
            ("GATEHOUSE_AUDIT_RETENTION_DAYS".into(), "30".into()),
            ("GATEHOUSE_AUDIT_RETENTION_INTERVAL_SECS".into(), "1".into()),
        ],
        ..Default::default()
    })
    .await;
    let admin = gh.admin().await;
    for name in ["ann", "ben", "cid", "dee"] {
        admin
            .create_user(&user_request(name, &format!("{name}-password-1"), &[]))
            .await;
    }
    let before = count(&gh);
    // Age the first three rows past the retention period (their own hashes no longer match,
    // but they are about to go).
    gh.psql("UPDATE audit_log SET at = now() - interval '40 days' WHERE id <= 3");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while gh
        .psql("SELECT count(*) FROM audit_log WHERE id <= 3")
        .trim()
        != "0"
    {
        assert!(std::time::Instant::now() < deadline, "the old rows stayed");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let prunes: AuditPage = admin
        .get("/api/audit?action=audit.prune")
        .await
        .expect(200)
        .json();
    assert_eq!(prunes.entries[0].details["rows"], 3);
    let after = count(&gh);
    assert!(
        after + 3 > before && before > 3,
        "{before} rows before, {after} after"
    );
    let (ok, text) = verify(&gh);
    assert!(ok, "{text}");

    // The anchor is sealed: moving it is caught.
    gh.psql("UPDATE audit_anchor SET last_id = 2");
    let (ok, text) = verify(&gh);
    assert!(!ok && text.contains("anchor"), "{text}");
}

/// The newest row with `action`, if there is one yet.
async fn latest(api: &gatehouse_tests::Api, action: &str) -> Option<AuditEntry> {
    let page: AuditPage = api
        .get(&format!("/api/audit?action={action}&limit=1"))
        .await
        .expect(200)
        .json();
    page.entries.into_iter().next()
}

/// The newest row with `action`, which must be there.
async fn newest(api: &gatehouse_tests::Api, action: &str) -> AuditEntry {
    latest(api, action)
        .await
        .unwrap_or_else(|| panic!("no {action} row"))
}

#[tokio::test]
async fn rows_name_their_target_and_outcome_and_terminal_events_link_to_the_recording() {
    use gatehouse_tests::files::{register, RemoteDir};
    use gatehouse_tests::Terminal;

    let rig = crate::terminal_sessions::Rig::on(Storage::Postgres, &[]).await;
    let (gh, admin) = (&rig.gh, &rig.admin);

    gh.api().login_raw("nobody-here", "wrong").await.expect(401);
    let failed = newest(admin, "auth.login_failed").await;
    assert_eq!(failed.outcome.as_deref(), Some("failure"), "{failed:?}");
    assert_eq!(failed.target.as_deref(), Some("nobody-here"), "{failed:?}");

    let login = newest(admin, "auth.login").await;
    assert_eq!(login.outcome.as_deref(), Some("success"), "{login:?}");
    assert_eq!(login.target.as_deref(), Some("admin"), "{login:?}");

    // A terminal: open and close name the session, and both link to its recording.
    let mut term = Terminal::open(admin, rig.server.id).await;
    let session = term.session_id().to_owned();
    term.send_line("echo audited-$((6*7))").await;
    term.read_until(b"audited-42").await;
    term.send_line("exit").await;
    term.expect_exit().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    // The close row and the recording are written as the session ends, just after the exit.
    let close = loop {
        let close = latest(admin, "terminal.close").await;
        if let Some(close) = close
            .filter(|c| c.target.as_deref() == Some(session.as_str()) && c.recording_id.is_some())
        {
            break close;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no terminal.close row with a recording"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let open = newest(admin, "terminal.open").await;
    assert_eq!(open.target.as_deref(), Some(session.as_str()), "{open:?}");
    assert_eq!(open.server_id, Some(rig.server.id));
    let recordings: wire::recordings::RecordingList =
        admin.get("/api/recordings").await.expect(200).json();
    let recording = recordings
        .recordings
        .iter()
        .find(|r| r.session_id == session)
        .expect("the session's recording");
    assert_eq!(open.recording_id.as_deref(), Some(recording.id.as_str()));
    assert_eq!(close.recording_id.as_deref(), Some(recording.id.as_str()));

    // A file operation names its path; searching finds the row by it.
    let files = register(admin, &rig.sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    let path = dir.remote("made-for-audit");
    files.mkdir(&path).await.expect(201);
    let mkdir = newest(admin, "files.mkdir").await;
    assert_eq!(mkdir.target.as_deref(), Some(path.as_str()), "{mkdir:?}");
    assert_eq!(mkdir.outcome.as_deref(), Some("success"));
    let found: AuditPage = admin
        .get("/api/audit?q=made-for-audit")
        .await
        .expect(200)
        .json();
    assert!(found.entries.iter().any(|e| e.id == mkdir.id), "{found:?}");

    // Filtering by outcome; a bad outcome is a 400.
    let failures: AuditPage = admin
        .get("/api/audit?outcome=failure")
        .await
        .expect(200)
        .json();
    assert!(!failures.entries.is_empty());
    assert!(failures
        .entries
        .iter()
        .all(|e| e.outcome.as_deref() == Some("failure")));
    let bad = admin.get("/api/audit?outcome=maybe").await.expect(400);
    assert_eq!(bad.json::<serde_json::Value>()["code"], "validation_failed");

    // The export carries both columns.
    let csv = admin
        .get("/api/audit/export?format=csv&action=files.mkdir")
        .await
        .expect(200)
        .text;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,at,user_id,username,action,server_id,client_ip,target,outcome,details")
    );
    assert!(
        lines.any(|l| l.contains(&format!(",{path},success,"))),
        "{csv}"
    );

    // Outcome and target are covered by the chain: turning a failure into a success is caught.
    let (ok, text) = verify(gh);
    assert!(ok, "{text}");
    gh.psql(&format!(
        "UPDATE audit_log SET outcome = 'success' WHERE id = {}",
        failed.id
    ));
    let (ok, text) = verify(gh);
    assert!(!ok, "an edited outcome passed: {text}");
    assert!(
        text.contains(&format!("BROKEN at row {}", failed.id)),
        "{text}"
    );
    gh.psql(&format!(
        "UPDATE audit_log SET outcome = 'failure', target = 'someone-else' WHERE id = {}",
        failed.id
    ));
    let (ok, text) = verify(gh);
    assert!(!ok, "an edited target passed: {text}");
}
