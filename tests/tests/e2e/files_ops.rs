//! The files API's everyday operations against a real sshd's internal-sftp, each checked on the
//! real filesystem: listing and stat, mkdir, rename, chmod, delete, the editor's read and write,
//! the error codes, and who may reach a server's files at all.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime};

use gatehouse_tests::files::{account, assert_entry_matches, register, RemoteDir};
use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::sshd::TEST_USER;
use gatehouse_tests::{Gatehouse, Sshd};
use reqwest::Method;
use wire::files::{DeleteResponse, Entry, EntryKind, Listing, Mode, TextFile};
use wire::users::{CreateUserRequest, Role};

use crate::auth::user_request;

#[tokio::test]
async fn listing_and_stat_report_what_is_on_disk() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    dir.write("notes.txt", "hello\n");
    dir.set_mode("notes.txt", 0o640);
    dir.write(".hidden", "h");
    dir.write("sub/inner.txt", "x");
    dir.symlink("notes.txt", "link");
    dir.symlink(dir.at("sub"), "dirlink");
    dir.symlink("missing-target", "dangling");

    let listing: Listing = files.ls(Some(&dir.remote(""))).await.expect(200).json();
    assert_eq!(listing.path, dir.remote(""));
    let mut names: Vec<&str> = listing.entries.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [".hidden", "dangling", "dirlink", "link", "notes.txt", "sub"],
        "every entry, hidden ones too, and never `.` or `..`"
    );
    for entry in &listing.entries {
        assert_entry_matches(entry, &dir.at(&entry.name));
        assert_eq!(
            entry.owner.as_deref(),
            Some(TEST_USER),
            "OpenSSH reports owner names in listings: {entry:?}"
        );
    }
    let by_name = |name: &str| {
        listing
            .entries
            .iter()
            .find(|e| e.name == name)
            .expect("listed")
    };
    assert_eq!(by_name("notes.txt").mode, 0o100640);
    assert_eq!(by_name("sub").kind, EntryKind::Dir);
    assert_eq!(by_name("link").target_kind, Some(EntryKind::File));
    assert_eq!(by_name("dirlink").target_kind, Some(EntryKind::Dir));
    assert_eq!(by_name("dangling").kind, EntryKind::Symlink);
    assert_eq!(by_name("dangling").target_kind, None, "a dangling link");

    // Relative paths start at the login directory; answers always carry canonical paths.
    let name = dir.path().file_name().unwrap().to_str().unwrap();
    let relative: Listing = files.ls(Some(name)).await.expect(200).json();
    assert_eq!(relative.path, dir.remote(""));
    let dotted: Listing = files
        .ls(Some(&format!("{}/sub/..", dir.remote(""))))
        .await
        .expect(200)
        .json();
    assert_eq!(dotted.path, dir.remote(""));
    let home: Listing = files.ls(None).await.expect(200).json();
    assert_eq!(home.path, account().home.to_str().unwrap());
    let mine = home
        .entries
        .iter()
        .find(|e| e.name == name)
        .expect("the login directory lists the scratch directory");
    assert_eq!(mine.kind, EntryKind::Dir);

    // stat is lstat: a link is reported as the link, with where it points.
    let link: Entry = files.stat(&dir.remote("link")).await.expect(200).json();
    assert_entry_matches(&link, &dir.at("link"));
    assert_eq!(link.link_target.as_deref(), Some("notes.txt"));
    assert_eq!(link.target_kind, Some(EntryKind::File));
    let notes: Entry = files
        .stat(&format!("{name}/notes.txt"))
        .await
        .expect(200)
        .json();
    assert_entry_matches(&notes, &dir.at("notes.txt"));
    let sub: Entry = files.stat(&dir.remote("sub")).await.expect(200).json();
    assert_entry_matches(&sub, &dir.at("sub"));
}

#[tokio::test]
async fn mkdir_rename_chmod_and_delete_change_the_disk() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();

    let made: Entry = files.mkdir(&dir.remote("made")).await.expect(201).json();
    assert!(dir.lstat("made").is_dir());
    assert_entry_matches(&made, &dir.at("made"));
    files
        .mkdir(&dir.remote("made"))
        .await
        .expect_error(409, "exists");

    // Rename and move.
    dir.write("a.txt", "contents of a");
    let moved: Entry = files
        .rename(&dir.remote("a.txt"), &dir.remote("made/b.txt"), false)
        .await
        .expect(200)
        .json();
    assert_entry_matches(&moved, &dir.at("made/b.txt"));
    assert!(!dir.exists("a.txt"));
    assert_eq!(dir.read_string("made/b.txt"), "contents of a");
    dir.write("c.txt", "contents of c");
    files
        .rename(&dir.remote("c.txt"), &dir.remote("made/b.txt"), false)
        .await
        .expect_error(409, "exists");
    assert_eq!(dir.read_string("c.txt"), "contents of c");
    assert_eq!(dir.read_string("made/b.txt"), "contents of a");
    files
        .rename(&dir.remote("c.txt"), &dir.remote("made/b.txt"), true)
        .await
        .expect(200);
    assert!(!dir.exists("c.txt"));
    assert_eq!(dir.read_string("made/b.txt"), "contents of c");
    let renamed_dir: Entry = files
        .rename(&dir.remote("made"), &dir.remote("renamed"), false)
        .await
        .expect(200)
        .json();
    assert_entry_matches(&renamed_dir, &dir.at("renamed"));
    assert_eq!(dir.names("renamed"), ["b.txt"]);

    // chmod, as a number and as an octal string.
    let chmodded: Entry = files
        .chmod(&dir.remote("renamed/b.txt"), Mode::Bits(0o604))
        .await
        .expect(200)
        .json();
    assert_eq!(dir.mode("renamed/b.txt"), 0o604);
    assert_entry_matches(&chmodded, &dir.at("renamed/b.txt"));
    files
        .chmod(&dir.remote("renamed/b.txt"), Mode::Octal("0600".into()))
        .await
        .expect(200);
    assert_eq!(dir.mode("renamed/b.txt"), 0o600);
    files
        .chmod(&dir.remote("renamed"), Mode::Octal("0750".into()))
        .await
        .expect(200);
    assert_eq!(dir.mode("renamed"), 0o750);

    // Delete: a file, then a tree, recursively.
    dir.write("single.txt", "1");
    let gone: DeleteResponse = files
        .delete(&dir.remote("single.txt"))
        .await
        .expect(200)
        .json();
    assert_eq!(
        (gone.path.as_str(), gone.files, gone.dirs),
        (dir.remote("single.txt").as_str(), 1, 0)
    );
    assert!(!dir.exists("single.txt"));
    for f in ["tree/a", "tree/b", "tree/sub/c", "tree/sub/deeper/d"] {
        dir.write(f, f);
    }
    let gone: DeleteResponse = files.delete(&dir.remote("tree")).await.expect(200).json();
    assert_eq!((gone.files, gone.dirs), (4, 3), "{gone:?}");
    assert!(!dir.exists("tree"));

    // Symlinks are removed as links, never followed into what they point to.
    dir.write("outside/keep.txt", "keep me");
    dir.write("tree2/own.txt", "mine");
    dir.symlink(dir.at("outside"), "tree2/out");
    dir.symlink(dir.at("outside"), "dirlink");
    let gone: DeleteResponse = files
        .delete(&dir.remote("dirlink"))
        .await
        .expect(200)
        .json();
    assert_eq!(
        gone.dirs, 0,
        "deleting a link removes no directory: {gone:?}"
    );
    assert!(!dir.exists("dirlink"));
    let gone: DeleteResponse = files.delete(&dir.remote("tree2")).await.expect(200).json();
    assert_eq!(gone.dirs, 1, "only tree2 itself: {gone:?}");
    assert!(!dir.exists("tree2"));
    assert_eq!(dir.read_string("outside/keep.txt"), "keep me");

    // Never `/`, however it is spelled.
    for root in ["/", "//"] {
        files.delete(root).await.expect_error(400, "protected_path");
    }
    let dotted = files.delete("/home/..").await;
    assert!(
        dotted.status == 400 && matches!(dotted.code(), Some("protected_path" | "bad_path")),
        "{}",
        dotted.text
    );
    assert!(std::path::Path::new("/home").is_dir());
}

#[tokio::test]
async fn the_editor_reads_and_writes_text_and_detects_concurrent_changes() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    let path = dir.remote("notes.md");

    let text = "# Héllo wörld\n\nlíne two — ✓\n";
    let created: Entry = files.write(&path, text, None).await.expect(200).json();
    assert_eq!(dir.read_string("notes.md"), text);
    assert_entry_matches(&created, &dir.at("notes.md"));

    let opened: TextFile = files.read(&path).await.expect(200).json();
    assert_eq!(
        (
            opened.path.as_str(),
            opened.content.as_str(),
            opened.size,
            opened.mtime
        ),
        (
            path.as_str(),
            text,
            text.len() as u64,
            dir.lstat("notes.md").mtime()
        )
    );

    // Someone else saves the file meanwhile: a stale save is refused and changes nothing.
    let theirs = "their version\n";
    fs::write(dir.at("notes.md"), theirs).unwrap();
    let later = SystemTime::UNIX_EPOCH + Duration::from_secs(opened.mtime as u64 + 100);
    fs::File::options()
        .write(true)
        .open(dir.at("notes.md"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    files
        .write(&path, "my version\n", Some(opened.mtime))
        .await
        .expect_error(409, "conflict");
    assert_eq!(dir.read_string("notes.md"), theirs);

    // Reopened, the save goes through.
    let reopened: TextFile = files.read(&path).await.expect(200).json();
    assert_eq!(reopened.content, theirs);
    assert_eq!(reopened.mtime, opened.mtime + 100);
    let saved: Entry = files
        .write(&path, "my version\n", Some(reopened.mtime))
        .await
        .expect(200)
        .json();
    assert_eq!(dir.read_string("notes.md"), "my version\n");
    assert_entry_matches(&saved, &dir.at("notes.md"));

    // An empty file is text too.
    dir.write("empty.txt", "");
    let empty: TextFile = files
        .read(&dir.remote("empty.txt"))
        .await
        .expect(200)
        .json();
    assert_eq!((empty.content.as_str(), empty.size), ("", 0));
}

#[tokio::test]
async fn the_editor_refuses_binary_and_oversized_files() {
    let sshd = Sshd::start();
    let dir = RemoteDir::new();
    dir.write("nul.txt", b"text\0with a NUL");
    dir.write("latin1.txt", b"caf\xe9 cr\xe8me");
    dir.write("limit.txt", "a".repeat(1000));
    dir.write("over.txt", "a".repeat(1001));

    let small = Gatehouse::start_with(Options {
        env: vec![("GATEHOUSE_FILES_EDIT_MAX_BYTES".into(), "1000".into())],
        ..Options::default()
    })
    .await;
    let files = register(&small.admin().await, &sshd, "box", |_| {}).await;
    files
        .read(&dir.remote("limit.txt"))
        .await
        .expect(200)
        .json::<TextFile>();
    files
        .read(&dir.remote("over.txt"))
        .await
        .expect_error(413, "too_large");
    files
        .write(&dir.remote("new.txt"), &"b".repeat(1001), None)
        .await
        .expect_error(413, "too_large");
    assert!(!dir.exists("new.txt"), "an oversized save writes nothing");
    files
        .write(&dir.remote("limit.txt"), &"c".repeat(1001), None)
        .await
        .expect_error(413, "too_large");
    assert_eq!(dir.read_string("limit.txt"), "a".repeat(1000));
    files
        .read(&dir.remote("nul.txt"))
        .await
        .expect_error(415, "binary");
    files
        .read(&dir.remote("latin1.txt"))
        .await
        .expect_error(415, "binary");

    // The default limit is 5 MiB.
    dir.write("five.txt", "z".repeat(5 << 20));
    dir.write("five-plus.txt", "z".repeat((5 << 20) + 1));
    let default = Gatehouse::start().await;
    let files = register(&default.admin().await, &sshd, "box", |_| {}).await;
    let five: TextFile = files.read(&dir.remote("five.txt")).await.expect(200).json();
    assert_eq!(five.size, 5 << 20);
    files
        .read(&dir.remote("five-plus.txt"))
        .await
        .expect_error(413, "too_large");
}

#[tokio::test]
async fn failures_carry_not_found_permission_denied_and_bad_path() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    dir.write("file.txt", "x");
    dir.mkdir("folder");

    let missing = dir.remote("missing");
    files
        .ls(Some(&missing))
        .await
        .expect_error(404, "not_found");
    files.stat(&missing).await.expect_error(404, "not_found");
    files.read(&missing).await.expect_error(404, "not_found");
    files
        .download(&missing, &[])
        .await
        .expect_error(404, "not_found");
    files.delete(&missing).await.expect_error(404, "not_found");
    files
        .rename(&missing, &dir.remote("other"), false)
        .await
        .expect_error(404, "not_found");
    files
        .chmod(&missing, Mode::Bits(0o644))
        .await
        .expect_error(404, "not_found");
    files
        .ls(Some(&dir.remote("file.txt")))
        .await
        .expect_error(400, "not_a_directory");
    files
        .read(&dir.remote("folder"))
        .await
        .expect_error(400, "not_a_file");
    files
        .download(&dir.remote("folder"), &[])
        .await
        .expect_error(400, "not_a_file");

    // What the SSH user's own permissions refuse (internal-sftp runs as that user, not root).
    dir.write("locked/secret.txt", "root's");
    dir.give_to_root("locked/secret.txt");
    dir.give_to_root("locked");
    dir.set_mode("locked", 0o000);
    // (In a root-owned directory, so that no save through a temporary file and a rename can
    // replace it either.)
    dir.write("root-dir/root-only.txt", "root's");
    dir.give_to_root("root-dir/root-only.txt");
    dir.set_mode("root-dir/root-only.txt", 0o600);
    dir.give_to_root("root-dir");
    files
        .ls(Some(&dir.remote("locked")))
        .await
        .expect_error(403, "permission_denied");
    files
        .read(&dir.remote("locked/secret.txt"))
        .await
        .expect_error(403, "permission_denied");
    files
        .read(&dir.remote("root-dir/root-only.txt"))
        .await
        .expect_error(403, "permission_denied");
    files
        .download(&dir.remote("root-dir/root-only.txt"), &[])
        .await
        .expect_error(403, "permission_denied");
    files
        .write(&dir.remote("root-dir/root-only.txt"), "mine now", None)
        .await
        .expect_error(403, "permission_denied");
    files
        .chmod(&dir.remote("root-dir/root-only.txt"), Mode::Bits(0o666))
        .await
        .expect_error(403, "permission_denied");
    files
        .mkdir(&dir.remote("root-dir/sub"))
        .await
        .expect_error(403, "permission_denied");
    files
        .upload(&dir.remote("root-dir"), false, &[("up.txt", b"up")])
        .await
        .expect_error(403, "permission_denied");
    assert_eq!(dir.read_string("root-dir/root-only.txt"), "root's");
    assert_eq!(dir.mode("root-dir/root-only.txt"), 0o600);
    assert_eq!(dir.names("root-dir"), ["root-only.txt"]);

    // Malformed paths never reach the server.
    let nul = format!("{}/a\0b", dir.remote(""));
    let long = format!("{}/{}", dir.remote(""), "n".repeat(5000));
    for bad in [&nul, &long] {
        files.ls(Some(bad)).await.expect_error(400, "bad_path");
        files.stat(bad).await.expect_error(400, "bad_path");
        files
            .write(bad, "x", None)
            .await
            .expect_error(400, "bad_path");
        files.mkdir(bad).await.expect_error(400, "bad_path");
        files
            .rename(&dir.remote("file.txt"), bad, false)
            .await
            .expect_error(400, "bad_path");
    }
    assert_eq!(dir.names(""), ["file.txt", "folder", "locked", "root-dir"]);
}

#[tokio::test]
async fn users_reach_files_only_on_servers_they_may_use() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let dir = RemoteDir::new();
    dir.write("shared.txt", "shared");
    let web = register(&admin, &sshd, "web-1", |r| r.group = Some("web".into())).await;
    let db = register(&admin, &sshd, "db-1", |r| r.group = Some("db".into())).await;
    let ungrouped = register(&admin, &sshd, "ungrouped", |_| {}).await;

    admin
        .create_user(&user_request("erin", "erin-password-1", &["web"]))
        .await;
    admin
        .create_user(&CreateUserRequest {
            role: Role::Auditor,
            ..user_request("audrey", "audrey-password-1", &["web", "db"])
        })
        .await;
    let erin = gh.api().login("erin", "erin-password-1").await.bearer;
    let audrey = gh.api().login("audrey", "audrey-password-1").await.bearer;

    let erin_web = gatehouse_tests::Files::new(&erin, web.server_id());
    erin_web
        .read(&dir.remote("shared.txt"))
        .await
        .expect(200)
        .json::<TextFile>();
    for hidden in [db.server_id(), ungrouped.server_id(), 999_999] {
        let files = gatehouse_tests::Files::new(&erin, hidden);
        files
            .ls(Some(&dir.remote("")))
            .await
            .expect_error(404, "not_found");
        files
            .read(&dir.remote("shared.txt"))
            .await
            .expect_error(404, "not_found");
        files
            .download(&dir.remote("shared.txt"), &[])
            .await
            .expect_error(404, "not_found");
        files
            .upload(&dir.remote(""), false, &[("sneaky.txt", b"x")])
            .await
            .expect_error(404, "not_found");
        files
            .delete(&dir.remote("shared.txt"))
            .await
            .expect_error(404, "not_found");
        // A visible source does not open an invisible target.
        erin_web
            .copy_to(
                &dir.remote("shared.txt"),
                hidden,
                &dir.remote("copy.txt"),
                false,
            )
            .await
            .expect_error(404, "not_found");
    }
    assert_eq!(dir.names(""), ["shared.txt"]);

    for server in [web.server_id(), db.server_id()] {
        let resp = gatehouse_tests::Files::new(&audrey, server)
            .ls(Some(&dir.remote("")))
            .await;
        assert!(
            resp.status == 404 || resp.status == 403,
            "an auditor opens no server's files: {} {}",
            resp.status,
            resp.text
        );
    }
    let anonymous = gatehouse_tests::Files::new(&gh.api(), web.server_id());
    anonymous
        .ls(Some(&dir.remote("")))
        .await
        .expect_error(401, "unauthenticated");
    let raw = gh
        .api()
        .request(
            Method::GET,
            &web.url("download", &[&dir.remote("shared.txt")]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 401);
}
