//! The operator commands, run as a separate process against a live gateway's database:
//! `gatehouse user add|passwd|list|disable|enable` (the gateway sees the change at once, and the
//! audit log names the host account), `gatehouse migrate`, and `gatehouse doctor`, which passes on
//! a healthy gateway and names what is wrong otherwise.

use std::io::Write;
use std::process::{Output, Stdio};

use gatehouse_tests::{Gatehouse, Storage};
use wire::audit::AuditPage;

/// Runs `gatehouse <args…>` with `stdin` as its standard input.
fn run(gh: &Gatehouse, args: &[&str], stdin: &str) -> (Output, String) {
    let mut cmd = gh.command(args[0]);
    cmd.args(&args[1..])
        .env("USER", "ops-person")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start gatehouse");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("gatehouse ran");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out, text)
}

#[tokio::test]
async fn users_are_managed_from_the_shell_and_the_gateway_sees_it() {
    let gh = Gatehouse::start_on(Storage::Postgres).await;
    let admin = gh.admin().await;

    // Add with a password from stdin: signs in at once.
    let (out, text) = run(
        &gh,
        &[
            "user",
            "add",
            "dana",
            "--role",
            "auditor",
            "--password-stdin",
        ],
        "dana-password-1\n",
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("created auditor user \"dana\""), "{text}");
    let dana = gh.api().login("dana", "dana-password-1").await;
    assert_eq!(dana.login.user.role, wire::users::Role::Auditor);

    // Add without one: a generated password, printed once, to be changed at first sign-in.
    let (out, text) = run(&gh, &["user", "add", "eve", "--groups", "ops,web"], "");
    assert!(out.status.success(), "{text}");
    let generated = text
        .lines()
        .find_map(|l| l.split("first sign-in): ").nth(1))
        .unwrap_or_else(|| panic!("no generated password in {text}"))
        .trim()
        .to_owned();
    let eve = gh.api().login("eve", &generated).await;
    assert!(eve.login.must_change_password);

    // A clash and a bad role are errors, with nothing written.
    let (out, text) = run(
        &gh,
        &["user", "add", "eve", "--password-stdin"],
        "x-password-1\n",
    );
    assert!(
        !out.status.success() && text.contains("already exists"),
        "{text}"
    );
    let (out, text) = run(&gh, &["user", "add", "fay", "--role", "root"], "");
    assert!(!out.status.success() && text.contains("--role"), "{text}");

    // List, as a table and as JSON lines.
    let (out, text) = run(&gh, &["user", "list"], "");
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("eve") && l.contains("ops,web")),
        "{text}"
    );
    let (_, text) = run(&gh, &["user", "list", "--json"], "");
    let names: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v["username"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(names, ["admin", "dana", "eve"]);

    // passwd ends the user's sessions; the new password works, the old one does not.
    let (out, text) = run(
        &gh,
        &["user", "passwd", "dana", "--password-stdin"],
        "dana-password-2\n",
    );
    assert!(out.status.success(), "{text}");
    dana.bearer.get("/api/auth/me").await.expect(401);
    gh.api()
        .login_raw("dana", "dana-password-1")
        .await
        .expect(401);
    let dana = gh.api().login("dana", "dana-password-2").await;

    // disable ends them too and refuses sign-in; enable lets the user back.
    let (out, text) = run(&gh, &["user", "disable", "dana"], "");
    assert!(out.status.success(), "{text}");
    dana.bearer.get("/api/auth/me").await.expect(401);
    gh.api()
        .login_raw("dana", "dana-password-2")
        .await
        .expect(401);
    let (out, text) = run(&gh, &["user", "enable", "dana"], "");
    assert!(out.status.success(), "{text}");
    gh.api().login("dana", "dana-password-2").await;

    // The last admin cannot be disabled; an unknown user is named.
    let (out, text) = run(&gh, &["user", "disable", "admin"], "");
    assert!(
        !out.status.success() && text.contains("last active admin"),
        "{text}"
    );
    let (out, text) = run(&gh, &["user", "passwd", "nobody"], "");
    assert!(
        !out.status.success() && text.contains("no user named"),
        "{text}"
    );

    // Every change is audited as the host account, and the chain still verifies.
    let page: AuditPage = admin
        .get("/api/audit?user=cli:ops-person")
        .await
        .expect(200)
        .json();
    let actions: Vec<&str> = page.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.update",
            "user.update",
            "user.update",
            "user.create",
            "user.create"
        ],
        "{page:?}"
    );
    let (out, text) = run(&gh, &["audit", "verify"], "");
    assert!(out.status.success(), "{text}");
}

#[tokio::test]
async fn migrate_and_doctor_report_on_the_gateway() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    // A stored credential, so doctor can check the key opens it.
    let sshd = gatehouse_tests::Sshd::start();
    admin.create_server(&sshd.password_server("box")).await;

    let (out, text) = run(&gh, &["migrate"], "");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("the database is up to date"), "{text}");
    assert!(text.contains("schema at m"), "{text}");

    let (out, text) = run(&gh, &["doctor"], "");
    assert!(out.status.success(), "{text}");
    for check in [
        "configuration",
        "data dir",
        "recordings",
        "database",
        "migrations",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("ok") && l.contains(check)),
            "{check}: {text}"
        );
    }
    assert!(
        text.contains("opens the stored credentials (server \"box\")"),
        "{text}"
    );

    // Another key: doctor says it does not open what is stored; unreachable LDAP and Redis are
    // named too.
    let mut cmd = gh.command("doctor");
    cmd.env(
        "GATEHOUSE_SECRET_KEY",
        "another-key-that-is-long-enough-0123456789",
    )
    .env("GATEHOUSE_LDAP_URL", "ldap://127.0.0.1:1")
    .env("GATEHOUSE_REDIS_URL", "redis://127.0.0.1:1");
    let out = cmd.output().expect("doctor ran");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("FAIL")
            && l.contains("secret key")
            && l.contains("does not open")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("ldap")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("redis")),
        "{text}"
    );
    assert!(text.contains("3 check(s) failed"), "{text}");
}
