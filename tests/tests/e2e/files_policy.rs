//! Per-server SFTP policy — off, read-only, allowed paths — enforced on every endpoint and on the
//! canonical server-side path: no `..`, symlink, look-alike prefix, upload name, rename or copy
//! target, or ZIP selection gets out of the allowed tree, and the disk shows nothing happened.

use gatehouse_tests::files::{register, unzip, Files, RemoteDir, ZipKind};
use gatehouse_tests::{Api, Gatehouse, Sshd};
use wire::files::{Entry, EntryKind, Listing, Mode, TextFile};

/// Every mutating endpoint, against `dir`, expecting `status` and `code`; none may change the disk.
async fn every_change_is_refused(files: &Files, dir: &RemoteDir, status: u16, code: &str) {
    let before = dir.names("");
    files
        .upload(&dir.remote(""), false, &[("new.txt", b"new")])
        .await
        .expect_error(status, code);
    files
        .upload(&dir.remote(""), true, &[("file.txt", b"clobbered")])
        .await
        .expect_error(status, code);
    files
        .write(&dir.remote("file.txt"), "changed", None)
        .await
        .expect_error(status, code);
    files
        .write(&dir.remote("new.txt"), "new", None)
        .await
        .expect_error(status, code);
    files
        .mkdir(&dir.remote("newdir"))
        .await
        .expect_error(status, code);
    files
        .rename(&dir.remote("file.txt"), &dir.remote("moved.txt"), false)
        .await
        .expect_error(status, code);
    files
        .delete(&dir.remote("file.txt"))
        .await
        .expect_error(status, code);
    files
        .delete(&dir.remote("folder"))
        .await
        .expect_error(status, code);
    files
        .chmod(&dir.remote("file.txt"), Mode::Octal("0777".into()))
        .await
        .expect_error(status, code);
    assert_eq!(dir.names(""), before);
    assert_eq!(dir.read_string("file.txt"), "original");
    assert_eq!(dir.mode("file.txt"), 0o644);
    assert_eq!(dir.names("folder"), ["inner.txt"]);
}

fn scratch() -> RemoteDir {
    let dir = RemoteDir::new();
    dir.write("file.txt", "original");
    dir.write("folder/inner.txt", "inner");
    dir
}

/// `PUT /api/servers/{id}` keeping the stored password, with the whole SFTP policy spelled out.
async fn set_policy(
    admin: &Api,
    sshd: &Sshd,
    id: i32,
    (enabled, read_only, allowed): (bool, bool, Vec<String>),
) {
    let mut req = sshd.password_server("switched");
    req.password = None;
    req.sftp_enabled = Some(enabled);
    req.sftp_read_only = Some(read_only);
    req.sftp_allowed_paths = Some(allowed);
    admin
        .put(&format!("/api/servers/{id}"), &req)
        .await
        .expect(200);
}

#[tokio::test]
async fn sftp_switched_off_refuses_every_endpoint() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let off = register(&admin, &sshd, "off", |r| r.sftp_enabled = Some(false)).await;
    let on = register(&admin, &sshd, "on", |_| {}).await;
    let dir = scratch();

    let code = "sftp_disabled";
    off.ls(Some(&dir.remote(""))).await.expect_error(403, code);
    off.ls(None).await.expect_error(403, code);
    off.stat(&dir.remote("file.txt"))
        .await
        .expect_error(403, code);
    off.read(&dir.remote("file.txt"))
        .await
        .expect_error(403, code);
    off.download(&dir.remote("file.txt"), &[])
        .await
        .expect_error(403, code);
    off.zip_get(&[&dir.remote("folder")])
        .await
        .expect_error(403, code);
    off.zip_post(&[&dir.remote("folder")])
        .await
        .expect_error(403, code);
    every_change_is_refused(&off, &dir, 403, code).await;
    off.copy_to(
        &dir.remote("file.txt"),
        on.server_id(),
        &dir.remote("copy.txt"),
        false,
    )
    .await
    .expect_error(403, code);
    on.copy_to(
        &dir.remote("file.txt"),
        off.server_id(),
        &dir.remote("copy.txt"),
        false,
    )
    .await
    .expect_error(403, code);
    assert!(!dir.exists("copy.txt"));
}

#[tokio::test]
async fn read_only_refuses_every_change_but_still_reads() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let ro = register(&admin, &sshd, "ro", |r| r.sftp_read_only = Some(true)).await;
    let rw = register(&admin, &sshd, "rw", |_| {}).await;
    let dir = scratch();

    let listing: Listing = ro.ls(Some(&dir.remote(""))).await.expect(200).json();
    assert_eq!(listing.entries.len(), 2);
    ro.stat(&dir.remote("file.txt")).await.expect(200);
    let text: TextFile = ro.read(&dir.remote("file.txt")).await.expect(200).json();
    assert_eq!(text.content, "original");
    let got = ro.download(&dir.remote("file.txt"), &[]).await.expect(200);
    assert_eq!(got.bytes, b"original");
    for zip in [
        ro.zip_get(&[&dir.remote("folder")]).await,
        ro.zip_post(&[&dir.remote("folder")]).await,
    ] {
        let entries = unzip(&zip.expect(200).bytes);
        assert!(entries
            .iter()
            .any(|e| e.name == "folder/inner.txt" && e.contents == b"inner"));
    }

    every_change_is_refused(&ro, &dir, 403, "read_only").await;
    rw.copy_to(
        &dir.remote("file.txt"),
        ro.server_id(),
        &dir.remote("copy.txt"),
        false,
    )
    .await
    .expect_error(403, "read_only");
    assert!(!dir.exists("copy.txt"));
    // Reading from a read-only server to a writable one is fine.
    ro.copy_to(
        &dir.remote("file.txt"),
        rw.server_id(),
        &dir.remote("copy.txt"),
        false,
    )
    .await
    .expect(200);
    assert_eq!(dir.read_string("copy.txt"), "original");

    // A policy change applies to the very next request, even on a warm connection.
    rw.write(&dir.remote("warm.txt"), "1", None)
        .await
        .expect(200);
    set_policy(&admin, &sshd, rw.server_id(), (true, true, vec![])).await;
    rw.write(&dir.remote("warm.txt"), "2", None)
        .await
        .expect_error(403, "read_only");
    set_policy(&admin, &sshd, rw.server_id(), (false, false, vec![])).await;
    rw.ls(Some(&dir.remote("")))
        .await
        .expect_error(403, "sftp_disabled");
    let fenced = (true, false, vec![dir.remote("folder")]);
    set_policy(&admin, &sshd, rw.server_id(), fenced).await;
    rw.read(&dir.remote("warm.txt"))
        .await
        .expect_error(403, "path_not_allowed");
    rw.read(&dir.remote("folder/inner.txt")).await.expect(200);
    assert_eq!(dir.read_string("warm.txt"), "1");
}

/// `allowed/` is the only allowed path; the rest are ways out of it.
fn fenced_layout() -> RemoteDir {
    let dir = RemoteDir::new();
    dir.write("allowed/inside.txt", "inside");
    dir.write("allowed/sub/deep.txt", "deep");
    dir.symlink("../outside", "allowed/link-out");
    dir.symlink("../outside/secret.txt", "allowed/link-secret");
    dir.symlink("/etc", "allowed/link-etc");
    dir.write("allowed-sibling/sibling.txt", "look-alike prefix");
    dir.write("outside/secret.txt", "SECRET-outside-canary");
    dir
}

#[tokio::test]
async fn allowed_paths_hold_against_dot_dot_symlinks_and_look_alike_prefixes() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let dir = fenced_layout();
    let files = register(&gh.admin().await, &sshd, "fenced", |r| {
        r.sftp_allowed_paths = Some(vec![dir.remote("allowed")])
    })
    .await;

    // Inside works, symlinks are listed as what they are.
    let listing: Listing = files
        .ls(Some(&dir.remote("allowed")))
        .await
        .expect(200)
        .json();
    let mut names: Vec<(&str, EntryKind)> = listing
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.kind))
        .collect();
    names.sort_by_key(|(name, _)| *name);
    assert_eq!(
        names,
        [
            ("inside.txt", EntryKind::File),
            ("link-etc", EntryKind::Symlink),
            ("link-out", EntryKind::Symlink),
            ("link-secret", EntryKind::Symlink),
            ("sub", EntryKind::Dir),
        ]
    );
    let back: Listing = files
        .ls(Some(&dir.remote("allowed/sub/..")))
        .await
        .expect(200)
        .json();
    assert_eq!(back.path, dir.remote("allowed"));
    files
        .read(&dir.remote("allowed/sub/deep.txt"))
        .await
        .expect(200);

    let dirs_outside = [
        "allowed/..",
        "allowed/../outside",
        "allowed/sub/../../outside",
        "allowed/link-out",
        "allowed/link-etc",
        "allowed-sibling",
        "outside",
    ];
    for rel in dirs_outside {
        let resp = files.ls(Some(&dir.remote(rel))).await;
        assert_eq!(
            (resp.status, resp.code()),
            (403, Some("path_not_allowed")),
            "ls {rel}: {}",
            resp.text
        );
    }
    let files_outside = [
        dir.remote("allowed/link-secret"),
        dir.remote("allowed/link-out/secret.txt"),
        dir.remote("allowed/../outside/secret.txt"),
        dir.remote("allowed-sibling/sibling.txt"),
        dir.remote("allowed/link-etc/passwd"),
        "/etc/passwd".to_string(),
        // Relative to the login directory, which is outside too.
        format!(
            "{}/outside/secret.txt",
            dir.path().file_name().unwrap().to_str().unwrap()
        ),
    ];
    for path in &files_outside {
        for (what, resp) in [
            ("read", files.read(path).await),
            ("download", files.download(path, &[]).await.into_response()),
        ] {
            assert_eq!(
                (resp.status, resp.code()),
                (403, Some("path_not_allowed")),
                "{what} {path}: {}",
                resp.text
            );
            assert!(!resp.text.contains("SECRET") && !resp.text.contains("root:"));
        }
        if path.ends_with("link-secret") {
            continue; // stat is lstat: the link itself lies inside
        }
        files.stat(path).await.expect_error(403, "path_not_allowed");
    }

    // ZIP selections that reach out, by GET and by POST.
    let selections: [Vec<String>; 4] = [
        vec![dir.remote("allowed/sub"), dir.remote("outside")],
        vec![dir.remote("allowed/link-out")],
        vec![
            dir.remote("allowed/inside.txt"),
            dir.remote("allowed/../outside/secret.txt"),
        ],
        vec![dir.remote("allowed/link-secret")],
    ];
    for selection in &selections {
        let paths: Vec<&str> = selection.iter().map(String::as_str).collect();
        files
            .zip_get(&paths)
            .await
            .expect_error(403, "path_not_allowed");
        files
            .zip_post(&paths)
            .await
            .expect_error(403, "path_not_allowed");
    }
    // Zipping the allowed folder stores the links as links: nothing from outside comes along.
    let zip = files.zip_get(&[&dir.remote("allowed")]).await.expect(200);
    let entries = unzip(&zip.bytes);
    for entry in &entries {
        assert!(
            !String::from_utf8_lossy(&entry.contents).contains("SECRET"),
            "{} carries the outside file",
            entry.name
        );
        if entry.name.starts_with("allowed/link-") {
            assert_eq!(entry.kind, ZipKind::Symlink, "{}", entry.name);
        }
    }
    assert!(entries.iter().all(|e| e.name.starts_with("allowed/")));
    let mut links: Vec<&str> = entries
        .iter()
        .filter(|e| e.kind == ZipKind::Symlink)
        .map(|e| e.name.as_str())
        .collect();
    links.sort();
    assert_eq!(
        links,
        [
            "allowed/link-etc",
            "allowed/link-out",
            "allowed/link-secret"
        ]
    );
}

#[tokio::test]
async fn no_change_reaches_outside_the_allowed_paths() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let dir = fenced_layout();
    let fenced = register(&admin, &sshd, "fenced", |r| {
        r.sftp_allowed_paths = Some(vec![dir.remote("allowed")])
    })
    .await;
    let free = register(&admin, &sshd, "free", |_| {}).await;
    let outside_mode = dir.mode("outside");
    let refused = |resp: gatehouse_tests::Response, what: &str| {
        assert_eq!(
            (resp.status, resp.code()),
            (403, Some("path_not_allowed")),
            "{what}: {}",
            resp.text
        );
    };

    // Uploads: into a way out, or with names that climb out.
    for target in [
        "allowed/link-out",
        "allowed/..",
        "outside",
        "allowed-sibling",
    ] {
        let resp = fenced
            .upload(&dir.remote(target), false, &[("dropped.txt", b"x")])
            .await;
        refused(resp, &format!("upload into {target}"));
    }
    let absolute = format!(
        "/tmp/{}-escape.txt",
        dir.path().file_name().unwrap().to_str().unwrap()
    );
    for name in [
        "../escape.txt",
        "sub/../../escape.txt",
        "..",
        absolute.as_str(),
    ] {
        fenced
            .upload(&dir.remote("allowed"), false, &[(name, b"x")])
            .await
            .expect_error(400, "bad_path");
    }
    let nul = fenced
        .upload(&dir.remote("allowed"), false, &[("nul\0.txt", b"x")])
        .await;
    assert_eq!(nul.status, 400, "a NUL in an upload name: {}", nul.text);
    let resp = fenced
        .upload(
            &dir.remote("allowed"),
            false,
            &[("link-out/evil.txt", b"x")],
        )
        .await;
    refused(resp, "upload through a symlinked folder name");
    assert!(!std::path::Path::new(&absolute).exists());

    // Saves, folders, renames, modes and deletes.
    for path in [
        "allowed/../outside/new.txt",
        "allowed/link-out/new.txt",
        "allowed/link-secret",
    ] {
        refused(
            fenced.write(&dir.remote(path), "pwned", None).await,
            &format!("write {path}"),
        );
    }
    for path in [
        "allowed/link-out/newdir",
        "allowed/../escape-dir",
        "allowed-sibling/newdir",
    ] {
        refused(
            fenced.mkdir(&dir.remote(path)).await,
            &format!("mkdir {path}"),
        );
    }
    for (from, to) in [
        ("allowed/inside.txt", "outside/moved.txt"),
        ("allowed/inside.txt", "allowed/link-out/moved.txt"),
        ("allowed/inside.txt", "allowed-sibling/moved.txt"),
        ("allowed/inside.txt", "allowed/../moved.txt"),
        ("outside/secret.txt", "allowed/stolen.txt"),
        ("allowed/link-out/secret.txt", "allowed/stolen.txt"),
    ] {
        let resp = fenced
            .rename(&dir.remote(from), &dir.remote(to), false)
            .await;
        refused(resp, &format!("rename {from} to {to}"));
    }
    for path in [
        "allowed/link-secret",
        "allowed/link-out",
        "allowed/../outside/secret.txt",
    ] {
        let resp = fenced
            .chmod(&dir.remote(path), Mode::Octal("0777".into()))
            .await;
        refused(resp, &format!("chmod {path}"));
    }
    for path in [
        "allowed/link-out/secret.txt",
        "allowed/../outside",
        "allowed-sibling",
    ] {
        refused(
            fenced.delete(&dir.remote(path)).await,
            &format!("delete {path}"),
        );
    }
    fenced
        .delete(&dir.remote("allowed"))
        .await
        .expect_error(400, "protected_path");

    // Copies: neither the source nor the target may lie outside.
    for source in [
        "allowed/link-secret",
        "allowed/../outside/secret.txt",
        "allowed/link-out",
    ] {
        let resp = fenced
            .copy_to(
                &dir.remote(source),
                free.server_id(),
                &dir.remote("outside/copy"),
                false,
            )
            .await;
        refused(resp, &format!("copy from {source}"));
    }
    for target in [
        "outside",
        "allowed/link-out",
        "allowed/../copied.txt",
        "allowed-sibling",
    ] {
        let resp = free
            .copy_to(
                &dir.remote("outside/secret.txt"),
                fenced.server_id(),
                &dir.remote(target),
                false,
            )
            .await;
        refused(resp, &format!("copy to {target}"));
    }
    // (And inside, both ways work: the fence is a fence, not a wall.)
    fenced
        .copy_to(
            &dir.remote("allowed/inside.txt"),
            free.server_id(),
            &dir.remote("outside"),
            false,
        )
        .await
        .expect(200);
    free.copy_to(
        &dir.remote("allowed-sibling/sibling.txt"),
        fenced.server_id(),
        &dir.remote("allowed"),
        false,
    )
    .await
    .expect(200);

    // Nothing outside changed but the one copy that was allowed to land there.
    assert_eq!(dir.names(""), ["allowed", "allowed-sibling", "outside"]);
    assert_eq!(dir.names("outside"), ["inside.txt", "secret.txt"]);
    assert_eq!(
        dir.read_string("outside/secret.txt"),
        "SECRET-outside-canary"
    );
    assert_eq!(dir.mode("outside/secret.txt"), 0o644);
    assert_eq!(dir.mode("outside"), outside_mode);
    assert_eq!(dir.names("allowed-sibling"), ["sibling.txt"]);
    assert_eq!(
        dir.names("allowed"),
        [
            "inside.txt",
            "link-etc",
            "link-out",
            "link-secret",
            "sibling.txt",
            "sub"
        ]
    );
    assert_eq!(dir.read_string("allowed/inside.txt"), "inside");
    let inside: Entry = fenced
        .stat(&dir.remote("allowed/sibling.txt"))
        .await
        .expect(200)
        .json();
    assert_eq!(inside.size, "look-alike prefix".len() as u64);
}
