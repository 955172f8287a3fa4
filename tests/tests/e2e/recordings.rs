//! Session recordings: asciicast v2 casts that `asciinema` itself plays, with output, input by
//! policy, resizes and markers for joins, typists and kicks; metadata in the database; the
//! size cap; per-server policy; who may see, fetch and delete; crash recovery; retention.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gatehouse_tests::terminal::{Control, Marker};
use gatehouse_tests::{Api, Storage, Terminal};
use serde_json::Value;
use tokio::time::{sleep, Instant};
use wire::recordings::{RecordingList, RecordingState, RecordingView};
use wire::terminal::{codes, ServerFrame};
use wire::users::Role;

use crate::terminal_sessions::Rig;
use crate::terminal_share::{join, next_participants, share, user};

/// Polls (up to 15 s) until the session's recording is no longer being written.
async fn finished(api: &Api, session_id: &str) -> RecordingView {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let list: RecordingList = api.get("/api/recordings").await.expect(200).json();
        if let Some(rec) = list.recordings.iter().find(|r| r.session_id == session_id) {
            if rec.state != RecordingState::Recording {
                return rec.clone();
            }
        }
        assert!(Instant::now() < deadline, "no finished recording: {list:?}");
        sleep(Duration::from_millis(100)).await;
    }
}

/// Downloads the cast into `dir` and returns its path and text.
async fn download(api: &Api, rec: &RecordingView, dir: &Path) -> (PathBuf, String) {
    let resp = api
        .get(&format!("/api/recordings/{}/cast", rec.id))
        .await
        .expect(200);
    let header = |name: &str| {
        resp.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/x-asciicast");
    let disposition = header("content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let text = resp.text.clone();
    let path = dir.join(format!("{}.cast", rec.id));
    std::fs::write(&path, &text).expect("write cast");
    (path, text)
}

/// What `asciinema cat` prints for the file, after checking `asciinema play` plays it too (both
/// fail on anything that is not a valid cast). asciinema 2 reads its keyboard from /dev/tty, so
/// it runs on a pseudo-terminal of `script`'s.
fn asciinema_cat(path: &Path) -> String {
    let run = |command: String| {
        let out = Command::new("script")
            .args(["-q", "-e", "-c", &command, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run script (util-linux)");
        assert!(
            out.status.success(),
            "`{command}` refused the cast: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let path = path.display();
    run(format!(
        "asciinema play --speed 1000 --idle-time-limit 0.01 '{path}'"
    ));
    run(format!("asciinema cat '{path}'"))
}

/// The header and events; checks every event is `[time, code, string]` with times in order.
fn parse(cast: &str) -> (Value, Vec<(f64, String, String)>) {
    let mut lines = cast.lines();
    let header: Value = serde_json::from_str(lines.next().expect("header")).expect("header json");
    let mut last = 0.0;
    let events: Vec<_> = lines
        .map(|line| {
            let event: (f64, String, String) = serde_json::from_str(line).expect("event json");
            assert!(event.0 >= last, "time went back at {line}");
            last = event.0;
            event
        })
        .collect();
    (header, events)
}

fn markers(events: &[(f64, String, String)]) -> Vec<&str> {
    events
        .iter()
        .filter(|(_, code, _)| code == "m")
        .map(|(_, _, label)| label.as_str())
        .collect()
}

fn joined(events: &[(f64, String, String)], code: &str) -> String {
    events
        .iter()
        .filter(|(_, c, _)| c == code)
        .map(|(_, _, data)| data.as_str())
        .collect()
}

#[tokio::test]
async fn a_shared_session_is_recorded_with_input_resizes_and_markers_and_asciinema_plays_it() {
    let rig = Rig::with(&[("GATEHOUSE_RECORD_INPUT", "true")]).await;
    let bob = user(&rig, "bob", Role::User, &["ops"]).await;
    let carol = user(&rig, "carol", Role::User, &["ops"]).await;
    let mut owner = Terminal::open_sized(&rig.admin, rig.server.id, 100, 30).await;
    let sid = owner.session_id().to_owned();

    let printed = Marker::new("REC");
    owner
        .send_line(&format!("printf '%s\\n' {}", printed.shell))
        .await;
    owner.read_until(printed.printed.as_bytes()).await;
    owner.resize(120, 40).await;

    // While the session runs, its recording is listed as such and cannot be fetched yet.
    let live: RecordingList = rig.admin.get("/api/recordings").await.expect(200).json();
    let rec = live
        .recordings
        .iter()
        .find(|r| r.session_id == sid)
        .expect("the live recording is listed");
    assert_eq!(rec.state, RecordingState::Recording);
    rig.admin
        .get(&format!("/api/recordings/{}/cast", rec.id))
        .await
        .expect_error(409, "recording_in_progress");

    let (mut watcher, _) = join(
        &bob,
        &share(&rig.admin, &sid, "ro", None).await,
        "admin",
        "ro",
    )
    .await;
    let (mut typist, _) = join(
        &carol,
        &share(&rig.admin, &sid, "rw", None).await,
        "admin",
        "rw",
    )
    .await;
    let by_carol = Marker::new("CAROL");
    typist
        .send_line(&format!("printf '%s\\n' {}", by_carol.shell))
        .await;
    owner.read_until(by_carol.printed.as_bytes()).await;
    watcher.read_until(by_carol.printed.as_bytes()).await;
    let sharing: wire::terminal::Sharing = rig
        .admin
        .get(&format!("/api/terminal/share/{sid}"))
        .await
        .expect(200)
        .json();
    let bob_id = &sharing
        .participants
        .iter()
        .find(|p| p.username == "bob")
        .expect("bob")
        .id;
    rig.admin
        .delete(&format!("/api/terminal/share/{sid}/participants/{bob_id}"))
        .await
        .expect(204);
    assert_eq!(watcher.expect_error().await.0, codes::KICKED);
    typist.close().await;
    // The owner sees the roster empty once both are gone.
    while !next_participants(&mut owner).await.is_empty() {}
    let back = Marker::new("BACK");
    owner
        .send_line(&format!("printf '%s\\n' {}", back.shell))
        .await;
    owner.read_until(back.printed.as_bytes()).await;
    owner.send_line("exit").await;
    // The roster changes (kick, leave) may still be queued before the exit frame.
    loop {
        match owner.next_control().await {
            Control::Frame(ServerFrame::Exit { .. }) => break,
            Control::Frame(ServerFrame::Participants { .. }) => {}
            other => panic!("expected the exit frame, got {other:?}"),
        }
    }

    let rec = finished(&rig.admin, &sid).await;
    assert_eq!(rec.state, RecordingState::Complete);
    assert_eq!(
        (rec.username.as_str(), rec.server_id),
        ("admin", Some(rig.server.id))
    );
    assert_eq!((rec.cols, rec.rows), (100, 30));
    assert!(rec.input_recorded && !rec.truncated);
    assert!(rec.duration_ms > 0 && rec.ended_at.is_some());
    let names: Vec<_> = rec
        .participants
        .iter()
        .map(|p| (p.username.as_str(), p.mode.as_str()))
        .collect();
    assert_eq!(names, [("bob", "ro"), ("carol", "rw")]);
    assert!(rec.participants.iter().all(|p| p.left_at.is_some()));

    let dir = tempfile::tempdir().expect("tempdir");
    let (path, cast) = download(&rig.admin, &rec, dir.path()).await;
    assert_eq!(rec.size_bytes, cast.len() as u64);
    let (header, events) = parse(&cast);
    assert_eq!(
        (
            header["version"].as_u64(),
            header["width"].as_u64(),
            header["height"].as_u64()
        ),
        (Some(2), Some(100), Some(30))
    );
    assert!(header["timestamp"].as_i64().unwrap_or(0) > 1_700_000_000);
    assert_eq!(header["title"], format!("{} — admin", rig.server.name));
    assert_eq!(header["env"]["TERM"], "xterm-256color");
    assert!(
        events.iter().any(|(_, c, d)| c == "r" && d == "120x40"),
        "no resize event"
    );
    let output = joined(&events, "o");
    for m in [&printed, &by_carol, &back] {
        assert!(output.contains(&m.printed), "output lacks {}", m.printed);
    }
    let input = joined(&events, "i");
    assert!(
        input.contains(&printed.shell) && input.contains(&by_carol.shell),
        "input: {input:?}"
    );
    assert_eq!(
        markers(&events),
        [
            "bob joined (ro)",
            "carol joined (rw)",
            "carol is typing",
            "bob was removed by the owner",
            "carol left",
            "admin is typing"
        ]
    );

    // asciinema itself reads the file, and shows what was typed and printed.
    let shown = asciinema_cat(&path);
    assert!(
        shown.contains(&printed.printed)
            && shown.contains(&by_carol.printed)
            && shown.contains(&back.printed)
    );
    assert!(
        shown.contains(&format!("printf '%s\\n' {}", by_carol.shell)),
        "the typed command is shown"
    );
}

#[tokio::test]
async fn keystrokes_are_left_out_unless_the_policy_records_input() {
    let rig = Rig::with(&[]).await;
    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let sid = term.session_id().to_owned();
    let m = Marker::new("NOINPUT");
    term.send_line(&format!("printf '%s\\n' {}", m.shell)).await;
    term.read_until(m.printed.as_bytes()).await;
    term.close().await;
    let rec = finished(&rig.admin, &sid).await;
    assert!(!rec.input_recorded);
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, cast) = download(&rig.admin, &rec, dir.path()).await;
    let (_, events) = parse(&cast);
    assert!(
        events.iter().all(|(_, c, _)| c != "i"),
        "input was recorded"
    );
    assert!(joined(&events, "o").contains(&m.printed));
    assert!(asciinema_cat(&path).contains(&m.printed));
}

#[tokio::test]
async fn a_recording_that_reaches_the_size_cap_ends_with_a_marker_and_the_session_goes_on() {
    let rig = Rig::with(&[("GATEHOUSE_RECORDING_MAX_BYTES", "16384")]).await;
    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let sid = term.session_id().to_owned();
    let done = Marker::new("FLOODED");
    term.send_line(&format!("seq 1 20000; printf '%s\\n' {}", done.shell))
        .await;
    term.read_until(done.printed.as_bytes()).await;
    let alive = Marker::new("ALIVE");
    term.send_line(&format!("printf '%s\\n' {}", alive.shell))
        .await;
    term.read_until(alive.printed.as_bytes()).await;
    term.close().await;

    let rec = finished(&rig.admin, &sid).await;
    assert!(rec.truncated, "{rec:?}");
    assert!(rec.size_bytes <= 16384, "{} bytes", rec.size_bytes);
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, cast) = download(&rig.admin, &rec, dir.path()).await;
    let (_, events) = parse(&cast);
    let last = events.last().expect("events");
    assert_eq!(last.1, "m");
    assert!(last.2.contains("size limit of 16384 bytes"), "{}", last.2);
    assert!(!joined(&events, "o").contains(&alive.printed));
    asciinema_cat(&path);
}

#[tokio::test]
async fn a_server_policy_overrides_the_gateway_default() {
    let rig = Rig::with(&[("GATEHOUSE_RECORD_SESSIONS", "false")]).await;
    let term = Terminal::open(&rig.admin, rig.server.id).await;
    let off = term.session_id().to_owned();
    term.close().await;

    let mut body: Value = rig
        .admin
        .get(&format!("/api/servers/{}", rig.server.id))
        .await
        .expect(200)
        .json();
    body["record_sessions"] = Value::Bool(true);
    rig.admin
        .put(&format!("/api/servers/{}", rig.server.id), &body)
        .await
        .expect(200);
    let term = Terminal::open(&rig.admin, rig.server.id).await;
    let on = term.session_id().to_owned();
    term.close().await;

    let rec = finished(&rig.admin, &on).await;
    assert_eq!(rec.state, RecordingState::Complete);
    let list: RecordingList = rig.admin.get("/api/recordings").await.expect(200).json();
    assert!(
        list.recordings.iter().all(|r| r.session_id != off),
        "recorded against the policy"
    );
    assert_eq!(list.total, 1);
}

#[tokio::test]
async fn users_see_only_their_own_recordings_auditors_all_and_only_admins_delete() {
    let rig = Rig::with(&[]).await;
    let bob = user(&rig, "bob", Role::User, &["ops"]).await;
    let audrey = user(&rig, "audrey", Role::Auditor, &[]).await;
    let term = Terminal::open(&rig.admin, rig.server.id).await;
    let admins = term.session_id().to_owned();
    term.close().await;
    let term = Terminal::open(&bob, rig.server.id).await;
    let bobs = term.session_id().to_owned();
    term.close().await;
    let admin_rec = finished(&rig.admin, &admins).await;
    let bob_rec = finished(&rig.admin, &bobs).await;

    let mine: RecordingList = bob.get("/api/recordings").await.expect(200).json();
    assert_eq!(mine.total, 1);
    assert_eq!(mine.recordings[0].id, bob_rec.id);
    for path in [
        format!("/api/recordings/{}", admin_rec.id),
        format!("/api/recordings/{}/cast", admin_rec.id),
    ] {
        bob.get(&path).await.expect_error(404, "not_found");
    }
    bob.get(&format!("/api/recordings/{}/cast", bob_rec.id))
        .await
        .expect(200);

    let all: RecordingList = audrey.get("/api/recordings").await.expect(200).json();
    assert_eq!(all.total, 2);
    let filtered: RecordingList = audrey
        .get("/api/recordings?user=bob")
        .await
        .expect(200)
        .json();
    assert_eq!(
        filtered
            .recordings
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        [bob_rec.id.as_str()]
    );
    let by_server: RecordingList = audrey
        .get(&format!(
            "/api/recordings?server_id={}&since=2000-01-01&until=2999-12-31",
            rig.server.id
        ))
        .await
        .expect(200)
        .json();
    assert_eq!(by_server.total, 2);
    let none: RecordingList = audrey
        .get("/api/recordings?until=2000-01-01")
        .await
        .expect(200)
        .json();
    assert_eq!(none.total, 0);
    audrey
        .get("/api/recordings?since=yesterday")
        .await
        .expect_error(400, "invalid_date");
    let page: RecordingList = audrey
        .get("/api/recordings?limit=1&offset=1")
        .await
        .expect(200)
        .json();
    assert_eq!((page.recordings.len(), page.total), (1, 2));
    audrey
        .get(&format!("/api/recordings/{}/cast", admin_rec.id))
        .await
        .expect(200);

    for api in [&bob, &audrey] {
        api.delete(&format!("/api/recordings/{}", bob_rec.id))
            .await
            .expect_error(403, "forbidden");
    }
    rig.admin
        .delete(&format!("/api/recordings/{}", bob_rec.id))
        .await
        .expect(204);
    rig.admin
        .get(&format!("/api/recordings/{}", bob_rec.id))
        .await
        .expect_error(404, "not_found");
    assert!(!rig
        .gh
        .data_dir()
        .join(format!("recordings/{}.cast", bob_rec.id))
        .exists());
}

#[tokio::test]
async fn a_session_that_must_be_recorded_does_not_start_when_it_cannot_be() {
    let rig = Rig::with(&[]).await;
    // A file where the recordings directory should be: nothing can be written there.
    std::fs::write(rig.gh.data_dir().join("recordings"), b"not a directory").expect("write");
    let refused = Terminal::connect(&rig.admin, rig.server.id, 80, 24).await;
    let mut term = refused.unwrap_or_else(|r| panic!("upgrade refused: {} {}", r.status, r.body));
    assert_eq!(term.expect_error().await.0, codes::RECORDING_FAILED);
}

#[tokio::test]
async fn a_recording_cut_short_by_a_crash_is_kept_as_interrupted_and_still_plays() {
    let mut rig = Rig::with(&[]).await;
    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let sid = term.session_id().to_owned();
    let m = Marker::new("BEFORECRASH");
    term.send_line(&format!("printf '%s\\n' {}", m.shell)).await;
    term.read_until(m.printed.as_bytes()).await;
    // The writer flushes every second.
    sleep(Duration::from_millis(1500)).await;
    rig.gh.signal(libc::SIGKILL);
    rig.gh.wait_exit().await.expect("killed");
    drop(term);
    rig.gh.restart().await;
    let admin = rig.gh.admin().await;
    rig.admin = admin;

    let rec = finished(&rig.admin, &sid).await;
    assert_eq!(rec.state, RecordingState::Interrupted);
    assert!(rec.ended_at.is_some() && rec.size_bytes > 0);
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = download(&rig.admin, &rec, dir.path()).await;
    assert!(asciinema_cat(&path).contains(&m.printed));
}

#[tokio::test]
async fn recordings_older_than_the_retention_period_are_removed() {
    let rig = Rig::on(
        Storage::Postgres,
        &[
            ("GATEHOUSE_RECORDING_RETENTION_DAYS", "30"),
            ("GATEHOUSE_RECORDING_RETENTION_INTERVAL_SECS", "1"),
        ],
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let term = Terminal::open(&rig.admin, rig.server.id).await;
        let sid = term.session_id().to_owned();
        term.close().await;
        ids.push(finished(&rig.admin, &sid).await.id);
    }
    sleep(Duration::from_millis(1500)).await;
    let list: RecordingList = rig.admin.get("/api/recordings").await.expect(200).json();
    assert_eq!(list.total, 2, "a fresh recording expired");
    rig.gh.psql(&format!(
        "UPDATE recordings SET started_at = now() - interval '31 days' WHERE id = '{}'",
        ids[0]
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list: RecordingList = rig.admin.get("/api/recordings").await.expect(200).json();
        let left: Vec<_> = list.recordings.iter().map(|r| r.id.clone()).collect();
        if left == [ids[1].clone()] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the old recording stayed: {left:?}"
        );
        sleep(Duration::from_millis(200)).await;
    }
    assert!(!rig
        .gh
        .data_dir()
        .join(format!("recordings/{}.cast", ids[0]))
        .exists());
    assert!(rig
        .gh
        .data_dir()
        .join(format!("recordings/{}.cast", ids[1]))
        .exists());
}

#[tokio::test]
async fn the_oldest_recordings_go_when_all_of_them_pass_the_total_size_limit() {
    let rig = Rig::with(&[
        ("GATEHOUSE_RECORDING_MAX_TOTAL_BYTES", "10000"),
        ("GATEHOUSE_RECORDING_RETENTION_INTERVAL_SECS", "1"),
    ])
    .await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let mut term = Terminal::open(&rig.admin, rig.server.id).await;
        let sid = term.session_id().to_owned();
        // About 4 KB of cast each: two fit under the limit, three do not.
        let done = Marker::new(&format!("SEQ{n}_"));
        term.send_line(&format!("seq 1 500; printf '%s\\n' {}", done.shell))
            .await;
        term.read_until(done.printed.as_bytes()).await;
        term.close().await;
        ids.push(finished(&rig.admin, &sid).await.id);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list: RecordingList = rig.admin.get("/api/recordings").await.expect(200).json();
        let total: u64 = list.recordings.iter().map(|r| r.size_bytes).sum();
        let left: Vec<_> = list.recordings.iter().map(|r| r.id.clone()).collect();
        if !left.contains(&ids[0]) {
            assert!(total <= 10000, "still {total} bytes");
            assert!(left.contains(&ids[2]), "the newest went: {left:?}");
            assert!(!rig
                .gh
                .data_dir()
                .join(format!("recordings/{}.cast", ids[0]))
                .exists());
            break;
        }
        assert!(Instant::now() < deadline, "nothing expired: {list:?}");
        sleep(Duration::from_millis(200)).await;
    }
}
