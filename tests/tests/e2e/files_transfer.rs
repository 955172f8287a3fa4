//! Moving bytes: downloads (headers, ranges, 1 GB), uploads (files and folders, 1 GB, and the
//! interrupted one that must leave nothing behind), folder ZIPs, and copies between two servers —
//! every one checked byte for byte against the real filesystem.

use std::time::{Duration, Instant};

use futures::StreamExt;
use gatehouse_tests::files::{
    copy_events, register, unzip, ContentDisposition, Pattern, RemoteDir, ZipKind,
};
use gatehouse_tests::{Gatehouse, Sshd};
use reqwest::Method;
use wire::files::{CopyEvent, UploadResponse};

const GIB: u64 = 1 << 30;

#[tokio::test]
async fn downloads_carry_length_type_and_a_safe_disposition() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    let cases = [
        ("notes.txt", "text/plain"),
        ("photo.png", "image/png"),
        ("manual.pdf", "application/pdf"),
        ("data.unknownext", "application/octet-stream"),
    ];
    for (name, mime) in cases {
        let contents = format!("the bytes of {name}\n");
        dir.write(name, &contents);
        let got = files.download(&dir.remote(name), &[]).await.expect(200);
        assert_eq!(got.bytes, contents.as_bytes());
        assert_eq!(
            got.header("content-length"),
            Some(contents.len().to_string().as_str())
        );
        assert_eq!(got.header("accept-ranges"), Some("bytes"));
        let content_type = got.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with(mime),
            "{name}: Content-Type {content_type:?}, expected {mime}"
        );
        let disposition = ContentDisposition::parse(got.header("content-disposition").unwrap());
        assert_eq!(disposition.kind, "attachment");
        assert_eq!(disposition.filename_star.as_deref(), Some(name));
        assert_eq!(disposition.filename.as_deref(), Some(name));
    }

    // A name with quotes, a newline, a semicolon, a backslash and non-ASCII letters.
    let odd = "we\"ird\nna;me\\ é 漢字.txt";
    dir.write(odd, "odd");
    let got = files.download(&dir.remote(odd), &[]).await.expect(200);
    assert_eq!(got.bytes, b"odd");
    let header = got.header("content-disposition").unwrap();
    let disposition = ContentDisposition::parse(header);
    assert_eq!(disposition.kind, "attachment", "{header}");
    assert_eq!(disposition.filename_star.as_deref(), Some(odd), "{header}");
    let fallback = disposition.filename.expect("a plain filename= fallback");
    assert!(
        fallback.is_ascii() && !fallback.contains(['"', '\n', '\r', '\\', ';', '/']),
        "the fallback name is plain ASCII: {header}"
    );

    let inline = files
        .get_bytes(
            &format!(
                "{}&inline=1",
                files.url("download", &[&dir.remote("photo.png")])
            ),
            &[],
        )
        .await
        .expect(200);
    let disposition = ContentDisposition::parse(inline.header("content-disposition").unwrap());
    assert_eq!(disposition.kind, "inline");
    assert_eq!(disposition.filename_star.as_deref(), Some("photo.png"));
}

#[tokio::test]
async fn range_requests_answer_exactly_the_bytes_asked_for() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    let body: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    dir.write("data.bin", &body);
    let path = dir.remote("data.bin");

    let cases: [(&str, usize, usize); 5] = [
        ("bytes=100-199", 100, 199),
        ("bytes=0-0", 0, 0),
        ("bytes=9990-", 9990, 9999),
        ("bytes=-500", 9500, 9999),
        ("bytes=9000-20000", 9000, 9999),
    ];
    for (range, first, last) in cases {
        let got = files.download(&path, &[("range", range)]).await;
        assert_eq!(got.status, 206, "{range}");
        assert_eq!(
            got.header("content-range"),
            Some(format!("bytes {first}-{last}/10000").as_str()),
            "{range}"
        );
        assert_eq!(
            got.header("content-length"),
            Some((last - first + 1).to_string().as_str()),
            "{range}"
        );
        assert!(got.bytes == body[first..=last], "{range}: wrong bytes");
    }
    for range in ["bytes=10000-", "bytes=20000-30000"] {
        let got = files.download(&path, &[("range", range)]).await;
        assert_eq!(
            got.header("content-range"),
            Some("bytes */10000"),
            "{range}"
        );
        got.expect_error(416, "range_not_satisfiable");
    }
    let whole = files.download(&path, &[]).await.expect(200);
    assert!(whole.bytes == body);
}

#[tokio::test]
async fn a_1_gb_download_arrives_byte_for_byte() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    let pattern = Pattern::new();
    pattern.write_file(&dir.at("big.bin"), GIB);
    gatehouse_tests::files::give_to_user(&dir.at("big.bin"));

    let started = Instant::now();
    let resp = files
        .api()
        .request(
            Method::GET,
            &files.url("download", &[&dir.remote("big.bin")]),
        )
        .send()
        .await
        .expect("download request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.content_length(), Some(GIB));
    let mut check = pattern.checker();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        check.feed(&chunk.expect("the download streams to the end"));
    }
    check.finish(GIB);
    eprintln!(
        "1 GiB download: {:.1} s ({:.0} MB/s)",
        started.elapsed().as_secs_f64(),
        GIB as f64 / 1e6 / started.elapsed().as_secs_f64()
    );

    // A range deep inside a big file.
    let (first, last) = (600_000_123u64, 601_000_122u64);
    let got = files
        .download(
            &dir.remote("big.bin"),
            &[("range", &format!("bytes={first}-{last}"))],
        )
        .await
        .expect(206);
    assert_eq!(
        got.header("content-range"),
        Some(format!("bytes {first}-{last}/{GIB}").as_str())
    );
    let mut check = pattern.checker_at(first);
    check.feed(&got.bytes);
    check.finish(last + 1);
}

#[tokio::test]
async fn a_1_gb_upload_arrives_byte_for_byte() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    let pattern = Pattern::new();

    let started = Instant::now();
    let answer: UploadResponse = files
        .upload_pattern(&dir.remote(""), "big.bin", &pattern, GIB)
        .await
        .expect(200)
        .json();
    eprintln!(
        "1 GiB upload: {:.1} s ({:.0} MB/s)",
        started.elapsed().as_secs_f64(),
        GIB as f64 / 1e6 / started.elapsed().as_secs_f64()
    );
    assert_eq!(answer.files.len(), 1, "{answer:?}");
    assert_eq!(
        (answer.files[0].path.as_str(), answer.files[0].size),
        (dir.remote("big.bin").as_str(), GIB)
    );
    assert_eq!(dir.names(""), ["big.bin"], "no temporary file left");
    pattern.check_file(&dir.at("big.bin"), GIB);
}

#[tokio::test]
async fn uploads_write_many_files_and_folders_and_never_overwrite_unasked() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    dir.mkdir("target");
    let target = dir.remote("target");

    let parts: [(&str, &[u8]); 5] = [
        ("a.txt", b"first file"),
        ("empty.txt", b""),
        ("spaces and ü.txt", "ünïcode".as_bytes()),
        (
            "album/2024/photo.jpg",
            b"\xff\xd8\xff\xe0 not really a jpeg \x00\x01",
        ),
        ("album/cover.png", b"\x89PNG\r\n\x1a\n"),
    ];
    let answer: UploadResponse = files
        .upload(&target, false, &parts)
        .await
        .expect(200)
        .json();
    let mut answered: Vec<(String, u64)> = answer
        .files
        .iter()
        .map(|e| (e.path.clone(), e.size))
        .collect();
    answered.sort();
    let mut expected: Vec<(String, u64)> = parts
        .iter()
        .map(|(name, bytes)| (dir.remote(&format!("target/{name}")), bytes.len() as u64))
        .collect();
    expected.sort();
    assert_eq!(answered, expected);
    for (name, bytes) in parts {
        assert_eq!(dir.read(&format!("target/{name}")), bytes, "{name}");
    }
    assert_eq!(
        dir.names("target"),
        ["a.txt", "album", "empty.txt", "spaces and ü.txt"]
    );
    assert_eq!(dir.names("target/album"), ["2024", "cover.png"]);
    assert!(dir.upload_leftovers().is_empty());

    files
        .upload(
            &target,
            false,
            &[("fresh.txt", b"fresh"), ("a.txt", b"clobber")],
        )
        .await
        .expect_error(409, "exists");
    assert_eq!(dir.read("target/a.txt"), b"first file");
    let answer: UploadResponse = files
        .upload(&target, true, &[("a.txt", b"replaced")])
        .await
        .expect(200)
        .json();
    assert_eq!(answer.files.len(), 1);
    assert_eq!(dir.read("target/a.txt"), b"replaced");
    assert!(
        dir.upload_leftovers().is_empty(),
        "{:?}",
        dir.upload_leftovers()
    );
}

#[tokio::test]
async fn an_interrupted_upload_leaves_no_file_under_the_real_name() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    let pattern = Pattern::new();

    for (name, overwrite) in [("partial.bin", false), ("existing.bin", true)] {
        if overwrite {
            dir.write(name, "the previous version");
        }
        let socket = files
            .start_raw_upload(
                &dir.remote(""),
                name,
                overwrite,
                512 << 20,
                16 << 20,
                &pattern,
            )
            .await;
        // The bytes are on their way to the server, under a temporary name.
        let deadline = Instant::now() + gatehouse_tests::WAIT;
        while dir.upload_leftovers().is_empty() {
            assert!(
                Instant::now() < deadline,
                "no temporary upload file appeared: {:?}",
                dir.names("")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(socket);

        let deadline = Instant::now() + Duration::from_secs(10);
        while !dir.upload_leftovers().is_empty() {
            assert!(
                Instant::now() < deadline,
                "the temporary file outlived the interrupted upload: {:?}",
                dir.upload_leftovers()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if overwrite {
            assert_eq!(dir.read_string(name), "the previous version");
        } else {
            assert!(!dir.exists(name), "a partial file under the real name");
        }
    }
    assert_eq!(dir.names(""), ["existing.bin"]);

    // The gateway is none the worse for it.
    files
        .upload(&dir.remote(""), false, &[("after.txt", b"fine")])
        .await
        .expect(200);
    assert_eq!(dir.read("after.txt"), b"fine");
}

#[tokio::test]
async fn zip_downloads_keep_names_contents_modes_and_symlinks() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let files = register(&gh.admin().await, &sshd, "box", |_| {}).await;
    let dir = RemoteDir::new();
    let pattern = Pattern::new();
    dir.write("project/run.sh", "#!/bin/sh\necho hi\n");
    dir.set_mode("project/run.sh", 0o755);
    dir.write("project/secret.key", "k");
    dir.set_mode("project/secret.key", 0o600);
    dir.write("project/src/main.rs", "fn main() {}\n");
    dir.mkdir("project/empty");
    dir.symlink("run.sh", "project/link");
    pattern.write_file(&dir.at("project/blob.bin"), 3 << 20);
    gatehouse_tests::files::give_to_user(&dir.at("project/blob.bin"));
    dir.write("other.txt", "other");
    dir.set_mode("other.txt", 0o640);

    let zip = files.zip_get(&[&dir.remote("project")]).await.expect(200);
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    let disposition = ContentDisposition::parse(zip.header("content-disposition").unwrap());
    assert_eq!(disposition.kind, "attachment");
    assert!(
        disposition
            .filename_star
            .as_deref()
            .is_some_and(|n| n.ends_with(".zip")),
        "{disposition:?}"
    );
    let entries = unzip(&zip.bytes);
    let mut non_dirs: Vec<(&str, ZipKind, Option<u32>)> = entries
        .iter()
        .filter(|e| e.kind != ZipKind::Dir)
        .map(|e| {
            // A link's own mode bits mean nothing on Linux.
            let mode = if e.kind == ZipKind::Symlink {
                None
            } else {
                e.mode
            };
            (e.name.as_str(), e.kind, mode)
        })
        .collect();
    non_dirs.sort_by_key(|(name, _, _)| *name);
    assert_eq!(
        non_dirs,
        [
            ("project/blob.bin", ZipKind::File, Some(0o644)),
            ("project/link", ZipKind::Symlink, None),
            ("project/run.sh", ZipKind::File, Some(0o755)),
            ("project/secret.key", ZipKind::File, Some(0o600)),
            ("project/src/main.rs", ZipKind::File, Some(0o644)),
        ]
    );
    assert!(
        entries
            .iter()
            .any(|e| e.name == "project/empty/" && e.kind == ZipKind::Dir),
        "an empty folder is kept: {:?}",
        entries.iter().map(|e| &e.name).collect::<Vec<_>>()
    );
    let contents = |name: &str| &entries.iter().find(|e| e.name == name).unwrap().contents;
    assert_eq!(contents("project/run.sh"), b"#!/bin/sh\necho hi\n");
    assert_eq!(contents("project/src/main.rs"), b"fn main() {}\n");
    assert_eq!(
        contents("project/link"),
        b"run.sh",
        "the link, not its target"
    );
    let mut check = pattern.checker();
    check.feed(contents("project/blob.bin"));
    check.finish(3 << 20);

    // Several selections: each named relative to its own parent.
    let zip = files
        .zip_get(&[&dir.remote("project/src"), &dir.remote("other.txt")])
        .await
        .expect(200);
    let mut names: Vec<(String, Option<u32>, Vec<u8>)> = unzip(&zip.bytes)
        .into_iter()
        .filter(|e| e.kind == ZipKind::File)
        .map(|e| (e.name, e.mode, e.contents))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("other.txt".to_string(), Some(0o640), b"other".to_vec()),
            (
                "src/main.rs".to_string(),
                Some(0o644),
                b"fn main() {}\n".to_vec()
            ),
        ]
    );
    let zip = files
        .zip_post(&[&dir.remote("project/run.sh"), &dir.remote("other.txt")])
        .await
        .expect(200);
    let mut names: Vec<(String, Vec<u8>)> = unzip(&zip.bytes)
        .into_iter()
        .map(|e| (e.name, e.contents))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("other.txt".to_string(), b"other".to_vec()),
            ("run.sh".to_string(), b"#!/bin/sh\necho hi\n".to_vec()),
        ]
    );
}

#[tokio::test]
async fn copy_to_another_server_streams_progress_and_writes_the_same_bytes() {
    let (sshd_a, sshd_b) = (Sshd::start(), Sshd::start());
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let a = register(&admin, &sshd_a, "a", |_| {}).await;
    let b = register(&admin, &sshd_b, "b", |_| {}).await;
    let (src, dst) = (RemoteDir::new(), RemoteDir::new());
    let pattern = Pattern::new();
    let big = 24u64 << 20;
    pattern.write_file(&src.at("big.bin"), big);
    gatehouse_tests::files::give_to_user(&src.at("big.bin"));
    src.write("tree/x.txt", "x");
    src.write("tree/sub/y.txt", "yy");
    src.write("tree/sub/deeper/z.txt", "zzz");
    src.mkdir("tree/empty");

    // A file into an existing directory: it keeps its name.
    let resp = a
        .copy_to(
            &src.remote("big.bin"),
            b.server_id(),
            &dst.remote(""),
            false,
        )
        .await
        .expect(200);
    let events = copy_events(&resp);
    assert_copy_events(&events, 1, 0, big, &dst.remote("big.bin"));
    pattern.check_file(&dst.at("big.bin"), big);

    // A file to a new name.
    let resp = a
        .copy_to(
            &src.remote("big.bin"),
            b.server_id(),
            &dst.remote("renamed.bin"),
            false,
        )
        .await
        .expect(200);
    assert_copy_events(&copy_events(&resp), 1, 0, big, &dst.remote("renamed.bin"));
    pattern.check_file(&dst.at("renamed.bin"), big);

    // A folder, recursively, empty folders included.
    let resp = a
        .copy_to(&src.remote("tree"), b.server_id(), &dst.remote(""), false)
        .await
        .expect(200);
    assert_copy_events(&copy_events(&resp), 3, 4, 6, &dst.remote("tree"));
    assert_eq!(dst.read_string("tree/x.txt"), "x");
    assert_eq!(dst.read_string("tree/sub/y.txt"), "yy");
    assert_eq!(dst.read_string("tree/sub/deeper/z.txt"), "zzz");
    assert!(dst.lstat("tree/empty").is_dir());

    // What can be refused is refused before the stream starts, as a plain HTTP error.
    a.copy_to(
        &src.remote("big.bin"),
        b.server_id(),
        &dst.remote("renamed.bin"),
        false,
    )
    .await
    .expect_error(409, "exists");
    a.copy_to(
        &src.remote("missing"),
        b.server_id(),
        &dst.remote(""),
        false,
    )
    .await
    .expect_error(404, "not_found");
    // …and overwrite replaces.
    src.write("small.txt", "new contents");
    dst.write("small.txt", "old contents, longer than the new ones");
    let resp = a
        .copy_to(
            &src.remote("small.txt"),
            b.server_id(),
            &dst.remote("small.txt"),
            true,
        )
        .await
        .expect(200);
    assert_copy_events(&copy_events(&resp), 1, 0, 12, &dst.remote("small.txt"));
    assert_eq!(dst.read_string("small.txt"), "new contents");

    // The same server works too.
    let resp = a
        .copy_to(
            &src.remote("small.txt"),
            a.server_id(),
            &src.remote("twin.txt"),
            false,
        )
        .await
        .expect(200);
    assert_copy_events(&copy_events(&resp), 1, 0, 12, &src.remote("twin.txt"));
    assert_eq!(src.read_string("twin.txt"), "new contents");
    assert!(src.upload_leftovers().is_empty() && dst.upload_leftovers().is_empty());
}

/// `start`, `progress`* (never going backwards nor past the total), `done` with the totals.
#[track_caller]
fn assert_copy_events(events: &[CopyEvent], files: u64, dirs: u64, bytes: u64, target: &str) {
    let (first, last) = (events.first(), events.last());
    assert_eq!(
        first,
        Some(&CopyEvent::Start {
            files,
            bytes,
            target_path: target.to_string()
        }),
        "{events:?}"
    );
    assert_eq!(
        last,
        Some(&CopyEvent::Done {
            files,
            dirs,
            bytes,
            target_path: target.to_string()
        }),
        "{events:?}"
    );
    let mut seen = (0, 0);
    for event in &events[1..events.len() - 1] {
        match event {
            CopyEvent::Progress {
                files_done,
                bytes_done,
                ..
            } => {
                assert!(
                    *files_done >= seen.0
                        && *bytes_done >= seen.1
                        && *files_done <= files
                        && *bytes_done <= bytes,
                    "progress goes forward within the totals: {events:?}"
                );
                seen = (*files_done, *bytes_done);
            }
            other => panic!("only progress between start and done, not {other:?}"),
        }
    }
}
