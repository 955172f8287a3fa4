//! What a person sees: headless Chromium (Debian's, driven by playwright-core) signs in, opens a
//! terminal on a registered server, types a command and reads its output off the xterm screen.

use std::time::Duration;

use gatehouse_tests::{artifacts_dir, workspace_root, Gatehouse, Sshd, ADMIN_PASSWORD};

#[tokio::test]
async fn a_person_signs_in_opens_a_terminal_and_sees_a_commands_output() {
    let dir = workspace_root().join("tests").join("browser");
    assert!(
        dir.join("node_modules").join("playwright-core").is_dir(),
        "playwright-core is not installed: run `npm ci` in tests/browser (bash scripts/test.sh does)"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: apt-get install chromium (bash scripts/test.sh does)"
    );
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    gh.admin()
        .await
        .create_server(&sshd.password_server("browser-box"))
        .await;

    let shot = artifacts_dir().join("terminal.png");
    let _ = std::fs::remove_file(&shot);
    let run = tokio::process::Command::new("node")
        .arg(dir.join("terminal.mjs"))
        .arg(gh.base_url())
        .arg("admin")
        .arg(ADMIN_PASSWORD)
        .arg("browser-box")
        .arg(&shot)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser script finished within 3 minutes")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser did not see the command's output ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    println!("{stdout}");
}
