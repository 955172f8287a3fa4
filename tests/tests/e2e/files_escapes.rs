//! Escapes a review found beyond the obvious ones: a copy that would write through a symlink
//! already in the target tree, a rename that would turn an allowed root into a symlink, and a
//! re-keyed host met by the files path (which must verify the pin like a terminal does).

use gatehouse_tests::files::{register, RemoteDir};
use gatehouse_tests::{Gatehouse, Sshd};

#[tokio::test]
async fn a_folder_copy_never_writes_through_a_symlink_in_the_target_tree() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let dir = RemoteDir::new();
    dir.write("allowed/src/proj/x/evil.txt", "payload");
    dir.mkdir("allowed/dst/proj");
    dir.mkdir("outside");
    // In the target tree, `proj/x` leads out of the allowed folder.
    dir.symlink("../../../outside", "allowed/dst/proj/x");
    let files = register(&admin, &sshd, "copy-escape", |r| {
        r.sftp_allowed_paths = Some(vec![dir.remote("allowed")]);
    })
    .await;

    for overwrite in [false, true] {
        let resp = files
            .copy_to(
                &dir.remote("allowed/src/proj"),
                files.server_id(),
                &dir.remote("allowed/dst"),
                overwrite,
            )
            .await;
        let refused = resp.status == 409
            || resp.text.contains("\"type\":\"error\"") && !resp.text.contains("\"type\":\"done\"");
        assert!(
            refused,
            "overwrite={overwrite}: {} {}",
            resp.status, resp.text
        );
        assert!(
            dir.names("outside").is_empty(),
            "overwrite={overwrite}: something was written outside: {:?}",
            dir.names("outside")
        );
    }
    assert_eq!(dir.read_string("allowed/src/proj/x/evil.txt"), "payload");
}

#[tokio::test]
async fn an_allowed_root_can_never_be_replaced_by_a_rename_or_a_copy() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let dir = RemoteDir::new();
    dir.write("a/file.txt", "in a");
    dir.symlink("/", "a/link-to-root");
    dir.mkdir("parent");
    // `parent/b` is an allowed root that does not exist yet.
    let files = register(&admin, &sshd, "root-swap", |r| {
        r.sftp_allowed_paths = Some(vec![dir.remote("a"), dir.remote("parent/b")]);
    })
    .await;

    files
        .rename(
            &dir.remote("a/link-to-root"),
            &dir.remote("parent/b"),
            false,
        )
        .await
        .expect_error(400, "protected_path");
    // A copy follows its source (the link resolves to `/`, outside), and never lands on a root.
    files
        .copy_to(
            &dir.remote("a/link-to-root"),
            files.server_id(),
            &dir.remote("parent/c"),
            true,
        )
        .await
        .expect_error(403, "path_not_allowed");
    files
        .copy_to(
            &dir.remote("a/file.txt"),
            files.server_id(),
            &dir.remote("parent/b"),
            true,
        )
        .await
        .expect_error(400, "protected_path");
    assert!(!dir.exists("parent/b"), "the allowed root was created");
    assert!(dir.lstat("a/link-to-root").file_type().is_symlink());
}

#[tokio::test]
async fn a_changed_host_key_is_refused_on_the_files_path_too() {
    let mut sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let dir = RemoteDir::new();
    dir.write("a.txt", "a");
    let files = register(&admin, &sshd, "rekeyed", |_| {}).await;
    // The first session pins the key.
    files.ls(Some(&dir.remote(""))).await.expect(200);
    let pinned = admin.server(files.server_id()).await.host_key_fingerprint;
    assert_eq!(
        pinned.as_deref(),
        Some(sshd.host_key_fingerprint().as_str())
    );

    // The host is re-imaged (new key, same address) and the pooled connection drops with it.
    sshd.replace_host_key();
    let refused = files
        .ls(Some(&dir.remote("")))
        .await
        .expect_error(502, "host_key_mismatch");
    assert!(refused.text.contains(&sshd.host_key_fingerprint()));
    // Nothing was re-pinned behind the admin's back.
    let still = admin.server(files.server_id()).await.host_key_fingerprint;
    assert_eq!(still, pinned);
}
