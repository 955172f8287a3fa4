//! What a person sees: headless Chromium (Debian's, driven by playwright-core) signs in, opens a
//! terminal on a registered server, types a command and reads its output off the xterm screen,
//! gets the tab back after a reload and after a lost connection; and works with files in the
//! file manager (upload, edit, save, download, copy, rename, …); and shares a terminal with a
//! second person in another browser context; and replays a recorded session; and, as an admin,
//! edits a user (role, groups, password) and checks the sign-in providers; and runs a command
//! snippet into a terminal from the Ctrl+K palette.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use gatehouse_tests::files::RemoteDir;
use gatehouse_tests::{artifacts_dir, workspace_root, Gatehouse, Sshd, ADMIN_PASSWORD};

/// tests/browser, checked to have what the scripts need.
fn browser_dir() -> PathBuf {
    let dir = workspace_root().join("tests").join("browser");
    assert!(
        dir.join("node_modules").join("playwright-core").is_dir(),
        "playwright-core is not installed: run `npm ci` in tests/browser (bash scripts/test.sh does)"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: apt-get install chromium (bash scripts/test.sh does)"
    );
    dir
}

/// Runs `node <script> <args…>` in tests/browser with `envs`, within 3 minutes.
async fn run_script(script: &str, args: &[String], envs: &[(&str, String)]) -> Output {
    let dir = browser_dir();
    let run = tokio::process::Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser script finished within 3 minutes")
        .expect("run node")
}

#[tokio::test]
async fn a_person_signs_in_opens_a_terminal_and_sees_a_commands_output() {
    signs_in_opens_a_terminal_and_sees_a_commands_output(&[], "terminal.png").await;
}

#[tokio::test]
async fn the_terminal_works_the_same_behind_a_proxy_prefix() {
    signs_in_opens_a_terminal_and_sees_a_commands_output(
        &[("GATEHOUSE_ROOT_PATH", "/gh")],
        "terminal-root-path.png",
    )
    .await;
}

/// `terminal.mjs` against a gateway started with `env`, at its root path (`/gh/` or `/`).
async fn signs_in_opens_a_terminal_and_sees_a_commands_output(env: &[(&str, &str)], shot: &str) {
    let sshd = Sshd::start();
    let gh = Gatehouse::start_env(env).await;
    let admin = gh.admin().await;
    admin
        .create_server(&sshd.password_server("browser-box"))
        .await;

    let shot = artifacts_dir().join(shot);
    let _ = std::fs::remove_file(&shot);
    let out = run_script(
        "terminal.mjs",
        &[
            format!("{}{}/", gh.base_url(), gh.root_path()),
            "admin".to_owned(),
            ADMIN_PASSWORD.to_owned(),
            "browser-box".to_owned(),
            shot.display().to_string(),
        ],
        &[],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser did not see the command's output ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // Closing the tab ended the session; the reload and the cut connection had not.
    let live: Vec<wire::terminal::SessionView> =
        admin.get("/api/terminal/sessions").await.expect(200).json();
    assert!(live.is_empty(), "{live:?}");
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    println!("{stdout}");
}

#[tokio::test]
async fn a_person_uploads_edits_saves_downloads_and_copies_a_file_in_the_file_manager() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    gh.admin()
        .await
        .create_server(&sshd.password_server("files-box"))
        .await;
    let remote = RemoteDir::new();
    remote.write("readme.md", "# Read me\n");
    remote.symlink("readme.md", "readme-link");
    remote.mkdir("sub");

    let artifacts = artifacts_dir();
    for name in [
        "files.png",
        "files-editor.png",
        "files-download.txt",
        "files-download.zip",
    ] {
        let _ = std::fs::remove_file(artifacts.join(name));
    }
    let out = run_script(
        "files.mjs",
        &[
            gh.base_url(),
            "admin".to_owned(),
            ADMIN_PASSWORD.to_owned(),
            "files-box".to_owned(),
            artifacts.display().to_string(),
        ],
        &[("GATEHOUSE_FILES_DIR", remote.remote(""))],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the file manager flow failed in the browser ({}):\n{stdout}\n{stderr}\ngateway log:\n{}",
        out.status,
        gatehouse_tests::tail(&gh.log(), 4000)
    );

    // What the browser saved is on the server's disk, byte for byte, under the real name only
    // (the second drop was skipped, the concurrent change overwritten), and copied by F5.
    let edited = "edited in the browser\nsecond line: ünïcödé ✓\n";
    assert_eq!(remote.read_string("notes.txt"), edited);
    // The copy in sub/ was renamed and chmod-ed; the folder made next to it was deleted.
    assert_eq!(remote.read_string("sub/renamed.txt"), edited);
    assert_eq!(remote.mode("sub/renamed.txt") & 0o7777, 0o600);
    assert_eq!(
        remote.names(""),
        vec!["notes.txt", "readme-link", "readme.md", "sub"],
        "nothing but the uploaded file was added"
    );
    assert_eq!(remote.names("sub"), vec!["renamed.txt"]);
    assert_eq!(
        std::fs::read_to_string(artifacts.join("files-download.txt"))
            .expect("the download was saved"),
        edited
    );
    let png = std::fs::read(artifacts.join("files.png")).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    println!("{stdout}");
}

#[tokio::test]
async fn an_admin_sees_a_server_online_approves_its_host_key_and_previews_an_import() {
    let sshd = Sshd::start();
    let mut env = crate::monitor::fast_monitor(1);
    env.push(("GATEHOUSE_HOST_KEY_POLICY".into(), "strict".into()));
    let gh = Gatehouse::start_with(gatehouse_tests::gatehouse::Options {
        env,
        ..Default::default()
    })
    .await;
    let admin = gh.admin().await;
    let server = admin
        .create_server(&sshd.password_server("strict-box"))
        .await;

    let shot = artifacts_dir().join("host-key-approved.png");
    let out = run_script(
        "hostkeys.mjs",
        &[
            gh.base_url(),
            "admin".to_owned(),
            ADMIN_PASSWORD.to_owned(),
            "strict-box".to_owned(),
            sshd.host_key_fingerprint(),
            shot.display().to_string(),
        ],
        &[],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser flow failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // What the browser did, seen from the API: the key is pinned, nothing was imported.
    assert_eq!(
        admin.server(server.id).await.host_key_fingerprint,
        Some(sshd.host_key_fingerprint())
    );
    assert_eq!(admin.servers().await.len(), 1, "a preview writes nothing");
    println!("{stdout}");
}

#[tokio::test]
async fn one_person_shares_a_terminal_and_another_joins_types_and_is_kicked() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let mut req = sshd.password_server("shared-box");
    req.group = Some("ops".into());
    admin.create_server(&req).await;
    admin
        .create_user(&crate::auth::user_request(
            "bob",
            "bob-password-1",
            &["ops"],
        ))
        .await;

    let shot = artifacts_dir().join("share.png");
    let out = run_script(
        "share.mjs",
        &[
            gh.base_url(),
            "admin".to_owned(),
            ADMIN_PASSWORD.to_owned(),
            "bob".to_owned(),
            "bob-password-1".to_owned(),
            "shared-box".to_owned(),
            shot.display().to_string(),
        ],
        &[],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sharing in the browser failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    println!("{stdout}");
}

#[tokio::test]
async fn a_person_replays_a_recorded_session_in_the_browser() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    admin
        .create_server(&sshd.password_server("replay-box"))
        .await;

    let shot = artifacts_dir().join("recordings.png");
    let _ = std::fs::remove_file(&shot);
    let args = [
        gh.base_url(),
        "admin".to_owned(),
        ADMIN_PASSWORD.to_owned(),
        "replay-box".to_owned(),
        shot.display().to_string(),
    ];
    let out = run_script("recordings.mjs", &args, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the replay did not show the command's output ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // One session, one recording, reached from the list and from the audit log.
    let list: wire::recordings::RecordingList =
        admin.get("/api/recordings").await.expect(200).json();
    assert_eq!(list.total, 1, "{list:?}");
    assert!(std::fs::read(&shot)
        .expect("screenshot")
        .starts_with(b"\x89PNG"));
    println!("{stdout}");
}

#[tokio::test]
async fn a_person_sets_up_two_factor_signs_in_with_a_code_and_manages_an_api_key() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;

    let shot = artifacts_dir().join("totp.png");
    let _ = std::fs::remove_file(&shot);
    let out = run_script(
        "totp.mjs",
        &[
            gh.base_url(),
            "admin".to_owned(),
            ADMIN_PASSWORD.to_owned(),
            shot.display().to_string(),
        ],
        &[],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "two-factor sign-in or API keys failed in the browser ({}):\n{stdout}\n{stderr}\ngateway log:\n{}",
        out.status,
        gatehouse_tests::tail(&gh.log(), 4000)
    );
    // What the browser did, seen from the API: a second factor is on, no key is left.
    let status: wire::auth::TotpStatus = admin.get("/api/auth/totp").await.expect(200).json();
    assert!(status.enabled, "{status:?}");
    let keys: Vec<wire::auth::ApiKeyView> =
        admin.get("/api/auth/api-keys").await.expect(200).json();
    assert!(keys.is_empty(), "{keys:?}");
    assert!(std::fs::read(&shot)
        .expect("screenshot")
        .starts_with(b"\x89PNG"));
    println!("{stdout}");
}

#[tokio::test]
async fn an_admin_edits_a_user_and_sees_the_sign_in_providers_unconfigured() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let erin = admin
        .create_user(&crate::auth::user_request("erin", "erin-password-1", &[]))
        .await;

    let shot = artifacts_dir().join("admin-identity.png");
    let _ = std::fs::remove_file(&shot);
    let out = run_script(
        "admin.mjs",
        &[
            gh.base_url(),
            "admin".to_owned(),
            ADMIN_PASSWORD.to_owned(),
            "erin".to_owned(),
            "erin-new-password-2".to_owned(),
            shot.display().to_string(),
        ],
        &[],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "editing a user or the Sign-in view failed in the browser ({}):\n{stdout}\n{stderr}\ngateway log:\n{}",
        out.status,
        gatehouse_tests::tail(&gh.log(), 4000)
    );
    // What the browser did, seen from the API: the new role and groups, and the old password
    // no longer works.
    let users: Vec<wire::users::UserView> = admin.get("/api/users").await.expect(200).json();
    let edited = users
        .iter()
        .find(|u| u.id == erin.id)
        .expect("erin is still there");
    assert_eq!(edited.role, wire::users::Role::Auditor, "{edited:?}");
    let mut groups = edited.allowed_groups.clone();
    groups.sort();
    assert_eq!(groups, ["dev", "ops"]);
    assert_eq!(
        gh.api().login_raw("erin", "erin-password-1").await.status,
        401
    );
    assert!(std::fs::read(&shot)
        .expect("screenshot")
        .starts_with(b"\x89PNG"));
    println!("{stdout}");
}

#[tokio::test]
async fn a_person_runs_snippets_into_a_terminal_from_the_command_palette() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    admin
        .create_server(&sshd.password_server("snippet-box"))
        .await;
    for body in [
        serde_json::json!({"name": "Greet someone", "command": "echo \"snippet-{word}-$((6*7))\""}),
        serde_json::json!({"name": "Confirm me", "command": "echo \"confirmed-$((40+2))\"",
                           "confirm": true, "shared": true}),
    ] {
        admin.post("/api/snippets", &body).await.expect(201);
    }

    let shot = artifacts_dir().join("snippets.png");
    let _ = std::fs::remove_file(&shot);
    let out = run_script(
        "snippets.mjs",
        &[
            gh.base_url(),
            "admin".to_owned(),
            ADMIN_PASSWORD.to_owned(),
            "snippet-box".to_owned(),
            shot.display().to_string(),
        ],
        &[],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "running a snippet from the palette failed in the browser ({}):\n{stdout}\n{stderr}\ngateway log:\n{}",
        out.status,
        gatehouse_tests::tail(&gh.log(), 4000)
    );
    // What the browser did, seen from the API: the snippet made in the dialog is there.
    let list: Vec<wire::snippets::SnippetView> =
        admin.get("/api/snippets").await.expect(200).json();
    let made = list
        .iter()
        .find(|s| s.name == "Made in the UI")
        .expect("the snippet made in the dialog was saved");
    assert_eq!(made.command, "echo \"ui-{n}-$((3*3))\"");
    assert!(!made.shared && !made.confirm, "{made:?}");
    assert!(std::fs::read(&shot)
        .expect("screenshot")
        .starts_with(b"\x89PNG"));
    println!("{stdout}");
}
