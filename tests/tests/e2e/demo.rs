//! Demo mode (`GATEHOUSE_DEMO_MODE`): a read-only sandbox. The seeded user signs in, sees the
//! seeded servers and types in a terminal to one (a real sshd); file reads work; every request
//! that would change something — each mounted route × each writing method, read from the
//! backend's source so a new route cannot slip by — is refused with 403 `demo_read_only`, for
//! visitors and admins alike; a restart re-seeds without duplicates; and none of it applies
//! without demo mode.

use std::collections::BTreeSet;

use gatehouse_tests::files::Files;
use gatehouse_tests::sshd::{TEST_PASSWORD, TEST_USER};
use gatehouse_tests::terminal::Marker;
use gatehouse_tests::{
    artifacts_dir, workspace_root, Api, Auth, Gatehouse, RemoteDir, Sshd, Terminal,
};
use reqwest::Method;
use serde_json::json;
use tempfile::TempDir;
use wire::servers::ServerView;
use wire::users::UserView;
use wire::Health;

const CODE: &str = "demo_read_only";

/// The writes demo mode lets through: a copy of `ALLOWED_WRITES` in `backend/src/demo/mod.rs`,
/// compared with it below, so widening the list takes a change here too.
const ALLOWED: &[(&str, &str)] = &[
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("POST", "/api/files/{server_id}/download-zip"),
    ("DELETE", "/api/terminal/sessions/{session_id}"),
];

/// A gateway in demo mode whose servers file seeds two servers on `sshd`: `demo-box` (password)
/// and `demo-key` (its key from a file).
struct Demo {
    gh: Gatehouse,
    _seed: TempDir,
}

async fn start_demo(sshd: &Sshd) -> Demo {
    let seed = tempfile::tempdir().expect("seed dir");
    let file = seed.path().join("demo-servers.toml");
    let text = format!(
        "[[servers]]\nname = \"demo-box\"\nhostname = \"{host}\"\nport = {port}\n\
         username = \"{TEST_USER}\"\npassword = \"{TEST_PASSWORD}\"\ndescription = \"A sandbox\"\n\n\
         [[servers]]\nname = \"demo-key\"\nhostname = \"{host}\"\nport = {port}\n\
         username = \"{TEST_USER}\"\nprivate_key_file = \"{key}\"\n",
        host = sshd.address(),
        port = sshd.port(),
        key = sshd.private_key_file().display(),
    );
    std::fs::write(&file, text).expect("write servers file");
    let gh = Gatehouse::start_env(&[
        ("GATEHOUSE_DEMO_MODE", "true"),
        ("GATEHOUSE_DEMO_SERVERS_FILE", &file.display().to_string()),
    ])
    .await;
    Demo { gh, _seed: seed }
}

async fn demo_user(gh: &Gatehouse) -> Api {
    gh.api().login("demo", "demo").await.bearer
}

fn by_name<'a>(servers: &'a [ServerView], name: &str) -> &'a ServerView {
    servers
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} is listed: {servers:?}"))
}

#[tokio::test]
async fn the_demo_user_signs_in_and_sees_the_seeded_servers() {
    let sshd = Sshd::start();
    let demo = start_demo(&sshd).await;
    let health: Health = demo.gh.api().get("/api/health").await.expect(200).json();
    assert!(health.demo);
    let login = health.demo_login.expect("the demo login is public");
    assert_eq!(
        (login.username.as_str(), login.password.as_str()),
        ("demo", "demo")
    );

    let user = demo_user(&demo.gh).await;
    let me = user.me().await;
    assert!(!me.is_admin && !me.must_change_password, "{me:?}");
    let servers = user.servers().await;
    assert_eq!(servers.len(), 2, "{servers:?}");
    let boxed = by_name(&servers, "demo-box");
    assert_eq!(boxed.group.as_deref(), Some("demo"));
    assert!(
        boxed.sftp_read_only,
        "seeded servers are SFTP read-only too"
    );
    assert!(boxed.has_password);
    let keyed = by_name(&servers, "demo-key");
    assert!(keyed.has_private_key);
}

#[tokio::test]
async fn a_terminal_to_a_seeded_server_runs_commands() {
    let sshd = Sshd::start();
    let demo = start_demo(&sshd).await;
    let user = demo_user(&demo.gh).await;
    for name in ["demo-box", "demo-key"] {
        let server = by_name(&user.servers().await, name).id;
        let mut term = Terminal::open(&user, server).await;
        let m = Marker::new("DEMO");
        term.send_line(&format!("printf '%s\\n' {}", m.shell)).await;
        term.read_until(m.printed.as_bytes()).await;
        // Closing one's own terminal is on the allow-list.
        let closed = user
            .delete(&format!("/api/terminal/sessions/{}", term.session_id()))
            .await;
        assert!(closed.status < 300, "{} {}", closed.status, closed.text);
    }
}

/// A concrete path for a mounted route: every parameter filled in. The refusal comes before
/// any extractor, so the values need not name anything.
fn concrete(route: &str) -> String {
    route
        .split('/')
        .map(|seg| match seg {
            s if s.starts_with("{*") => "x",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `ALLOWED_WRITES` as the backend's source spells it.
fn backend_allow_list() -> BTreeSet<(String, String)> {
    let path = workspace_root().join("backend/src/demo/mod.rs");
    let text = std::fs::read_to_string(&path).expect("read demo/mod.rs");
    let start = text.find("ALLOWED_WRITES").expect("ALLOWED_WRITES");
    let end = start + text[start..].find("];").expect("end of ALLOWED_WRITES");
    text[start..end]
        .lines()
        .filter_map(|line| {
            let line = line.trim().strip_prefix("(\"")?;
            let (method, rest) = line.split_once("\", \"")?;
            let route = rest.strip_suffix("\"),")?;
            Some((method.to_owned(), route.to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn every_mutating_route_is_refused_for_everyone() {
    let sshd = Sshd::start();
    let demo = start_demo(&sshd).await;
    let allowed: BTreeSet<(String, String)> = ALLOWED
        .iter()
        .map(|(m, r)| (m.to_string(), r.to_string()))
        .collect();
    assert_eq!(
        backend_allow_list(),
        allowed,
        "the backend's allow-list is the one this test knows"
    );
    let mounted = gatehouse_tests::routes::mounted(&workspace_root().join("backend/src"));
    for pair in &allowed {
        assert!(
            mounted.contains(pair),
            "allow-listed but not mounted: {pair:?}"
        );
    }
    let routes: BTreeSet<&String> = mounted.iter().map(|(_, route)| route).collect();
    assert!(routes.len() > 50, "the route list was read: {routes:?}");

    let admin = demo.gh.admin().await;
    let callers = [
        ("anonymous", demo.gh.api().with_auth(Auth::None)),
        ("demo", demo_user(&demo.gh).await),
        ("admin", admin.clone()),
    ];
    let before_servers = admin.servers().await;
    let before_users: Vec<UserView> = admin.get("/api/users").await.expect(200).json();

    // Every writing method on every route (a GET-only route included: the gate stands in front
    // of routing's own 405), plus paths no route matches.
    let mut targets: Vec<(String, String)> = routes
        .iter()
        .map(|r| (r.to_string(), concrete(r)))
        .collect();
    targets.push(("(unmatched)".into(), "/no/such/page".into()));
    let mut wrong = Vec::new();
    let mut refused = 0;
    for (route, path) in &targets {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            if allowed.contains(&(method.to_owned(), route.clone())) {
                continue;
            }
            for (name, api) in &callers {
                let m = Method::from_bytes(method.as_bytes()).expect("method");
                let resp = api.send_raw(m, path, "{}").await;
                if resp.status == 403 && resp.code() == Some(CODE) {
                    refused += 1;
                } else {
                    wrong.push(format!(
                        "{method} {route} ({path}) as {name}: {} {}",
                        resp.status,
                        gatehouse_tests::tail(&resp.text, 120)
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} writes were not refused:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(refused > 500, "{refused} refusals");
    // Nothing changed, and the sessions that made the requests still work.
    assert_eq!(admin.servers().await, before_servers);
    let after_users: Vec<UserView> = admin.get("/api/users").await.expect(200).json();
    assert_eq!(after_users, before_users);
    assert!(demo.gh.log().contains("demo mode: write refused"));
}

#[tokio::test]
async fn file_reads_work_and_file_writes_are_refused() {
    let sshd = Sshd::start();
    let demo = start_demo(&sshd).await;
    let user = demo_user(&demo.gh).await;
    let servers = user.servers().await;
    let (source, target) = (
        by_name(&servers, "demo-box").id,
        by_name(&servers, "demo-key").id,
    );
    let files = Files::new(&user, source);
    let dir = RemoteDir::new();
    dir.write("readme.txt", "hello demo\n");
    let (readme, sub) = (dir.remote("readme.txt"), dir.remote("sub"));

    let listing: wire::files::Listing = files.ls(Some(&dir.remote(""))).await.expect(200).json();
    assert!(listing.entries.iter().any(|e| e.name == "readme.txt"));
    let got = files.download(&readme, &[]).await.expect(200);
    assert_eq!(got.bytes, b"hello demo\n");
    files.read(&readme).await.expect(200);
    files.zip_post(&[readme.as_str()]).await.expect(200);

    files
        .upload(&dir.remote(""), false, &[("new.txt", b"x")])
        .await
        .expect_error(403, CODE);
    files
        .write(&readme, "changed", None)
        .await
        .expect_error(403, CODE);
    files.mkdir(&sub).await.expect_error(403, CODE);
    files
        .rename(&readme, &dir.remote("moved.txt"), false)
        .await
        .expect_error(403, CODE);
    files.delete(&readme).await.expect_error(403, CODE);
    files
        .chmod(&readme, wire::files::Mode::Bits(0o600))
        .await
        .expect_error(403, CODE);
    files
        .copy_to(&readme, target, &dir.remote("copy.txt"), false)
        .await
        .expect_error(403, CODE);
    assert_eq!(dir.read("readme.txt"), b"hello demo\n");
    for name in ["new.txt", "sub", "moved.txt", "copy.txt"] {
        assert!(!dir.exists(name), "{name} was not created");
    }
}

#[tokio::test]
async fn no_share_links_and_no_unregistered_hosts() {
    let sshd = Sshd::start();
    let demo = start_demo(&sshd).await;
    let user = demo_user(&demo.gh).await;
    let admin = demo.gh.admin().await;
    let server = by_name(&user.servers().await, "demo-box").clone();
    let term = Terminal::open(&user, server.id).await;
    user.post(
        &format!("/api/terminal/share/{}", term.session_id()),
        &json!({"mode": "rw"}),
    )
    .await
    .expect_error(403, CODE);

    // No way to register, move or probe another host, for the admin either.
    for api in [&user, &admin] {
        let mut other = sshd.password_server("elsewhere");
        other.group = Some("demo".into());
        api.post("/api/servers", &other)
            .await
            .expect_error(403, CODE);
        let mut moved = sshd.password_server(&server.name);
        moved.hostname = "192.0.2.1".into();
        api.put(&format!("/api/servers/{}", server.id), &moved)
            .await
            .expect_error(403, CODE);
        let import = json!({"format": "openssh_config", "config": "Host x\n  User u\n"});
        api.post("/api/servers/import", &import)
            .await
            .expect_error(403, CODE);
        api.post_empty(&format!("/api/servers/{}/test", server.id))
            .await
            .expect_error(403, CODE);
    }
    // A terminal reaches registered servers only.
    let refused = Terminal::connect(&user, 999_999, 80, 24)
        .await
        .err()
        .expect("no terminal to a server that does not exist");
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(admin.servers().await.len(), 2);
}

#[tokio::test]
async fn a_restart_reseeds_without_duplicates() {
    let sshd = Sshd::start();
    let mut demo = start_demo(&sshd).await;
    let before = demo.gh.admin().await.servers().await;
    // The first terminal pins the host key; a re-seed keeps the row, and so the pin.
    let user = demo_user(&demo.gh).await;
    let mut term = Terminal::open(&user, by_name(&before, "demo-box").id).await;
    let m = Marker::new("PIN");
    term.send_line(&format!("printf '%s\\n' {}", m.shell)).await;
    term.read_until(m.printed.as_bytes()).await;
    drop(term);
    let pinned = demo.gh.admin().await.servers().await;

    demo.gh.restart().await;
    let admin = demo.gh.admin().await;
    let after = admin.servers().await;
    assert_eq!(after.len(), 2, "{after:?}");
    for server in &pinned {
        let again = by_name(&after, &server.name);
        assert_eq!(again.id, server.id, "same row for {}", server.name);
        assert_eq!(again.host_key_fingerprint, server.host_key_fingerprint);
    }
    assert!(by_name(&after, "demo-box").host_key_fingerprint.is_some());
    let users: Vec<UserView> = admin.get("/api/users").await.expect(200).json();
    assert_eq!(users.iter().filter(|u| u.username == "demo").count(), 1);
    let user = demo_user(&demo.gh).await;
    assert_eq!(user.servers().await.len(), 2);
}

#[tokio::test]
async fn without_demo_mode_nothing_is_seeded_or_refused() {
    let sshd = Sshd::start();
    let seed = tempfile::tempdir().expect("seed dir");
    let file = seed.path().join("demo-servers.toml");
    std::fs::write(
        &file,
        "[[servers]]\nname = \"demo-box\"\nhostname = \"127.0.0.1\"\nusername = \"u\"\npassword = \"p\"\n",
    )
    .expect("write servers file");
    let gh =
        Gatehouse::start_env(&[("GATEHOUSE_DEMO_SERVERS_FILE", &file.display().to_string())]).await;
    let health: Health = gh.api().get("/api/health").await.expect(200).json();
    assert!(!health.demo);
    assert!(health.demo_login.is_none());
    assert_eq!(
        gh.api().login_raw("demo", "demo").await.status,
        401,
        "no demo user"
    );
    let admin = gh.admin().await;
    assert!(admin.servers().await.is_empty());
    let created = admin.create_server(&sshd.password_server("mine")).await;
    admin
        .delete(&format!("/api/servers/{}", created.id))
        .await
        .expect(204);
}

/// In Chromium (`tests/browser/demo.mjs`): the banner on the login page names the demo login,
/// signing in with it works, the banner stays, a terminal takes a command, and a refused change
/// shows the gateway's message. Needs the UI built (not `GATEHOUSE_SKIP_FRONTEND`).
#[tokio::test]
async fn a_visitor_signs_in_with_the_login_the_banner_shows_and_is_told_changes_are_off() {
    let sshd = Sshd::start();
    let demo = start_demo(&sshd).await;
    let dir = workspace_root().join("tests").join("browser");
    assert!(
        dir.join("node_modules").join("playwright-core").is_dir(),
        "playwright-core is not installed: run `npm ci` in tests/browser"
    );
    let shot = artifacts_dir().join("demo.png");
    let _ = std::fs::remove_file(&shot);
    let run = tokio::process::Command::new("node")
        .arg(dir.join("demo.mjs"))
        .arg(format!("{}/", demo.gh.base_url()))
        .arg("demo-box")
        .arg(&shot)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(180), run)
        .await
        .expect("the browser script finished within 3 minutes")
        .expect("run node");
    assert!(
        out.status.success(),
        "the browser did not see the demo as it should ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
