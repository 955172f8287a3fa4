//! When the server side fails under the file manager: a disk that fills up and an SSH connection
//! that dies mid-upload must get an answer that names the cause, leave nothing half-written under
//! the real name nor a temporary file behind, and leave the gateway ready for the next request;
//! a pooled session must not outlive its idle time nor the credential it logged in with.

use std::fs;
use std::time::{Duration, Instant};

use gatehouse_tests::files::{register, Pattern, RemoteDir, Tmpfs};
use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::sshd::TEST_PASSWORD;
use gatehouse_tests::{Gatehouse, Sshd};
use wire::files::{codes, Listing};
use wire::terminal::codes as terminal_codes;

const MIB: u64 = 1 << 20;

/// Wait up to `within` for every temporary upload file under `dir` to be gone, after `what`.
async fn leftovers_are_removed(dir: &RemoteDir, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while !dir.upload_leftovers().is_empty() {
        assert!(
            Instant::now() < deadline,
            "{what}: temporary upload files still there after {within:?}: {:?}",
            dir.upload_leftovers()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_full_disk_answers_no_space_and_keeps_what_was_there() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    // Declared after `dir`, so it is unmounted before the scratch directory is removed.
    let disk = Tmpfs::mount(&dir.mkdir("small"), 2 * MIB);
    let empty = disk.free_bytes();
    assert!(
        (MIB..=2 * MIB).contains(&empty),
        "a 2 MiB tmpfs has {empty} bytes free"
    );
    let pattern = Pattern::new();

    files
        .upload_pattern(&dir.remote("small"), "big.bin", &pattern, 4 * MIB)
        .await
        .expect_error(507, codes::NO_SPACE);
    assert!(
        !dir.exists("small/big.bin"),
        "a partial file under the real name"
    );
    leftovers_are_removed(&dir, Duration::from_secs(3), "a failed upload").await;
    assert_eq!(dir.names("small"), Vec::<String>::new());
    // The temporary file's handle is closed too, or the space would stay taken.
    let deadline = Instant::now() + Duration::from_secs(3);
    while disk.free_bytes() != empty {
        assert!(
            Instant::now() < deadline,
            "{} bytes free after the failed upload, {empty} before",
            disk.free_bytes()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A save from the editor larger than the free space: the original stays as it was.
    dir.write("small/notes.txt", "the original notes\n");
    let too_big = "x".repeat(3 * MIB as usize);
    files
        .write(&dir.remote("small/notes.txt"), &too_big, None)
        .await
        .expect_error(507, codes::NO_SPACE);
    assert_eq!(dir.read_string("small/notes.txt"), "the original notes\n");
    files
        .write(&dir.remote("small/new.txt"), &too_big, None)
        .await
        .expect_error(507, codes::NO_SPACE);
    leftovers_are_removed(&dir, Duration::from_secs(3), "failed saves").await;
    assert_eq!(dir.names("small"), ["notes.txt"]);

    // What fits still fits: the failures left neither the disk nor the session unusable.
    files
        .upload(&dir.remote("small"), false, &[("fits.txt", b"fits")])
        .await
        .expect(200);
    assert_eq!(dir.read("small/fits.txt"), b"fits");
    assert_eq!(dir.names("small"), ["fits.txt", "notes.txt"]);
}

/// How the SSH connection under an upload goes away.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// The server's processes die while bytes flow.
    Killed,
    /// The server hangs first (the gateway's writes pile up unanswered and the SSH window closes),
    /// then dies.
    HungThenKilled,
}

#[tokio::test]
async fn a_connection_lost_mid_upload_answers_connection_lost_and_the_next_request_reconnects() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let pattern = Pattern::new();

    for cut in [Cut::Killed, Cut::HungThenKilled] {
        let dir = RemoteDir::new();
        // The client stops sending when the connection is cut, as a person's browser would once
        // progress stalls, so it can read the gateway's answer (see `try_upload_pattern_held`).
        let hold = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let upload = tokio::spawn({
            let (files, target, pattern) = (files.clone(), dir.remote(""), pattern.clone());
            let hold = hold.clone();
            async move {
                files
                    .try_upload_pattern_held(&target, "big.bin", &pattern, 512 * MIB, hold)
                    .await
            }
        });
        // Cut the connection once a good part of the file is on the server.
        let deadline = Instant::now() + gatehouse_tests::WAIT;
        loop {
            let written = dir
                .upload_leftovers()
                .iter()
                .filter_map(|p| fs::metadata(p).ok())
                .map(|m| m.len())
                .max();
            if written.is_some_and(|n| n >= 8 * MIB) {
                break;
            }
            assert!(
                !upload.is_finished(),
                "{cut:?}: the upload ended before the connection was cut: {:?}",
                upload.await
            );
            assert!(
                Instant::now() < deadline,
                "{cut:?}: the upload did not get 8 MiB onto the server: {written:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        hold.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Cut::HungThenKilled = cut {
            assert!(sshd.freeze_connections() > 0, "no sshd process to freeze");
            // Long enough for the gateway to fill the SSH window and wait on it.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let killed = sshd.kill_connections();
        assert!(
            killed > 0,
            "{cut:?}: no sshd process was serving the gateway"
        );

        let outcome = tokio::time::timeout(gatehouse_tests::WAIT, upload)
            .await
            .unwrap_or_else(|_| panic!("{cut:?}: no answer to the cut upload in time"))
            .expect("the upload task");
        match outcome {
            Ok(answer) => assert_eq!(
                (answer.status, answer.code()),
                (502, Some(codes::CONNECTION_LOST)),
                "{cut:?}: {}",
                answer.text
            ),
            // A chunk the client was still pushing into a full socket (the gateway had stopped
            // reading while the server hung) can fail before the answer is read: the gateway
            // answered and closed. Any other transport failure is a real one.
            Err(e) => assert!(
                format!("{e:?}").contains("BodyWrite"),
                "{cut:?}: no HTTP answer to the cut upload: {e:?}"
            ),
        }
        assert!(
            !dir.exists("big.bin"),
            "{cut:?}: a partial file under the real name"
        );

        // The very next request gets a fresh session, without an error for the user to see.
        let listing: Listing = files.ls(Some(&dir.remote(""))).await.expect(200).json();
        assert!(
            listing.entries.iter().all(|e| e.name != "big.bin"),
            "{cut:?}: {listing:?}"
        );
        // The temporary file is removed, over a fresh session when the old one died.
        let what = format!("{cut:?}, then a reconnect");
        leftovers_are_removed(&dir, Duration::from_secs(5), &what).await;
        let listing: Listing = files.ls(Some(&dir.remote(""))).await.expect(200).json();
        assert_eq!(
            listing.entries,
            [],
            "{cut:?}: nothing is left of the cut upload"
        );

        // The new session carries a whole upload.
        files
            .upload_pattern(&dir.remote(""), "whole.bin", &pattern, 16 * MIB)
            .await
            .expect(200);
        pattern.check_file(&dir.at("whole.bin"), 16 * MIB);
    }
}

#[tokio::test]
async fn an_idle_session_is_closed_and_a_changed_credential_applies_at_once() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start_with(Options {
        env: vec![
            ("GATEHOUSE_FILES_POOL_IDLE_SECS".into(), "2".into()),
            ("GATEHOUSE_SSH_POOL_IDLE_SECS".into(), "2".into()),
        ],
        ..Options::default()
    })
    .await;
    let admin = gh.admin().await;
    let files = register(&admin, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    dir.write("file.txt", "x");
    let listed =
        |listing: Listing| -> Vec<String> { listing.entries.into_iter().map(|e| e.name).collect() };

    // With a session open, a wrong password stored for the server is used at once…
    files.ls(Some(&dir.remote(""))).await.expect(200);
    let mut req = sshd.password_server("box");
    req.password = Some("not-the-password".into());
    let url = format!("/api/servers/{}", files.server_id());
    admin.put(&url, &req).await.expect(200);
    files
        .ls(Some(&dir.remote("")))
        .await
        .expect_error(502, terminal_codes::AUTH_FAILED);
    // …and so is the right one again, on a new login.
    let logins = sshd.logins();
    req.password = Some(TEST_PASSWORD.into());
    admin.put(&url, &req).await.expect(200);
    let listing = files.ls(Some(&dir.remote(""))).await.expect(200).json();
    assert_eq!(listed(listing), ["file.txt"]);
    assert_eq!(sshd.logins(), logins + 1, "{}", sshd.log());

    // Unused for `files_pool_idle_secs`, the session is closed on the server too…
    assert!(
        sshd.connections() > 0,
        "the session is open after a request"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while sshd.connections() > 0 {
        assert!(
            Instant::now() < deadline,
            "the idle session still holds {} connection(s) to the server",
            sshd.connections()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // …and the next request logs in afresh, without an error.
    let logins = sshd.logins();
    let listing = files.ls(Some(&dir.remote(""))).await.expect(200).json();
    assert_eq!(listed(listing), ["file.txt"]);
    assert_eq!(sshd.logins(), logins + 1, "{}", sshd.log());
}
