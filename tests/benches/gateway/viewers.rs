//! The live-session rows of the bench: the owner's terminal throughput while 0, 10 and 50
//! read-only viewers watch the same session through a share link (and with one viewer that never
//! reads), and with session recording off and on (`GATEHOUSE_RECORD_SESSIONS`), beside
//! `ssh -tt host cat` in the same run.
//!
//! Every figure is the owner's: a WebSocket client that acks like the browser reads `cat FILE`
//! up to a marker. The viewers are other WebSocket clients, joined read-only by one share link
//! as another signed-in user, each reading and acking like a browser until the same marker; they
//! run on their own thread (a runtime of their own), so the owner's client is never queued behind
//! fifty viewers' reads in the bench process. Each run measures every configuration once, in
//! turn, so load on the machine spreads over all of them alike.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::terminal::{Control, Marker};
use gatehouse_tests::{Api, Gatehouse, Sshd, Terminal};
use tokio::sync::mpsc;
use wire::terminal::{ServerFrame, ShareCreated};
use wire::users::{CreateUserRequest, Role};

use super::{
    cat_rate, make_file, median, mib, openssh_throughput, proc_status_kib, read_to_marker,
    ready_terminal,
};

/// Numbers of reading viewers measured by default (0, the owner alone, always comes first).
const VIEWERS: &str = "0,10,50";
const VIEWER_USER: &str = "viewer";
const VIEWER_PASSWORD: &str = "viewer-bench-Passw0rd";

/// One configuration's medians.
#[derive(Default)]
struct Figure {
    /// The owner's MB/s, one per run.
    rates: Vec<f64>,
    /// Peak RSS growth of the gateway during the `cat` (KiB), one per run.
    growth: Vec<u64>,
    /// What the reading viewers received live, as a share of what they would have without any
    /// skipping (one per run; 1.0 with no viewers).
    live: Vec<f64>,
    /// Bytes skipped on the owner's own socket, all runs.
    owner_skipped: u64,
    /// CPU time of the gateway during the `cat`, as a share of its wall time (1.0: one core
    /// busy), one per run.
    gateway_cpu: Vec<f64>,
    /// The same for the viewers' client thread in the bench process.
    viewers_cpu: Vec<f64>,
    /// The whole machine's busy share (all cores) during the `cat`, one per run.
    machine_cpu: Vec<f64>,
}

impl Figure {
    fn rate(&self) -> f64 {
        median(self.rates.clone())
    }

    fn growth_mib(&self) -> f64 {
        mib(self.growth.iter().copied().max().unwrap_or(0))
    }

    fn live_pct(&self) -> f64 {
        100.0 * median(self.live.clone())
    }

    fn gateway_cpu_pct(&self) -> f64 {
        100.0 * median(self.gateway_cpu.clone())
    }

    fn viewers_cpu_pct(&self) -> f64 {
        100.0 * median(self.viewers_cpu.clone())
    }

    fn machine_cpu_pct(&self) -> f64 {
        100.0 * median(self.machine_cpu.clone())
    }
}

/// The machine's busy and total CPU ticks so far, all cores (`/proc/stat`'s `cpu` line; idle
/// and iowait count as not busy).
fn machine_ticks() -> (u64, u64) {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.iter().skip(3).take(2).sum::<u64>();
    (total - idle, total)
}

/// User plus system CPU time in `/proc/…/stat` (`stat` is that file's path), in seconds.
fn cpu_secs(stat: &str) -> f64 {
    let text = fs::read_to_string(stat).unwrap_or_default();
    // The fields after the command name, which ends at the last ')': state is the first, utime
    // and stime the 12th and 13th.
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf only reads a constant of the system.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    ticks as f64 / per_sec as f64
}

/// CPU seconds of the bench process's viewer threads (named `bench-viewers`).
fn viewers_cpu_secs() -> f64 {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter(|t| {
            fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "bench-viewers")
        })
        .map(|t| cpu_secs(&t.path().join("stat").to_string_lossy()))
        .sum()
}

pub struct Rows {
    /// The file's size, in MiB (rounded) and bytes.
    mb: u64,
    size: u64,
    runs: usize,
    /// Numbers of reading viewers measured, 0 first.
    counts: Vec<usize>,
    /// One per entry of `counts`, recording off.
    viewers: Vec<Figure>,
    /// One viewer joined that never reads, recording off.
    stalled: Figure,
    /// The owner alone on a gateway started with `GATEHOUSE_RECORD_SESSIONS=true`.
    recorded: Figure,
    /// MB/s of `ssh -tt host cat`, median of the runs.
    ssh_tty: f64,
    /// The `*.cast` files under the recording gateway's data directory: count and total bytes.
    casts: (usize, u64),
}

/// A gateway for these rows, recording as told, with an admin (the owner), a server in group
/// `bench`, and a plain user of that group (the viewers).
struct Rig {
    gh: Gatehouse,
    recording: bool,
    owner: Api,
    viewer: Api,
    server: i32,
}

impl Rig {
    async fn start(binary: &Path, sshd: &Sshd, record: bool) -> Rig {
        let gh = Gatehouse::start_with(Options {
            binary: Some(binary.to_path_buf()),
            env: vec![("GATEHOUSE_RECORD_SESSIONS".into(), record.to_string())],
            ..Options::default()
        })
        .await;
        let owner = gh.admin().await;
        let mut req = sshd.key_server("bench");
        req.group = Some("bench".into());
        let server = owner.create_server(&req).await.id;
        owner
            .create_user(&CreateUserRequest {
                username: VIEWER_USER.into(),
                password: VIEWER_PASSWORD.into(),
                role: Role::User,
                allowed_groups: vec!["bench".into()],
                must_change_password: false,
            })
            .await;
        let viewer = gh.api().login(VIEWER_USER, VIEWER_PASSWORD).await.bearer;
        Rig {
            gh,
            recording: record,
            owner,
            viewer,
            server,
        }
    }
}

/// A read-only share link of the owner's session; returns its token.
async fn share(owner: &Api, session_id: &str) -> String {
    let created: ShareCreated = owner
        .post(
            &format!("/api/terminal/share/{session_id}"),
            &serde_json::json!({"mode": "ro"}),
        )
        .await
        .expect(201)
        .json();
    created.token
}

/// Joins by `token` and reads the greeting: `session`, `joined` (read-only) and the replay.
async fn join(api: &Api, token: &str) -> Terminal {
    let mut term = Terminal::connect_path(api, &format!("/api/ws/terminal/join/{token}"))
        .await
        .unwrap_or_else(|r| panic!("join refused: {} {}", r.status, r.body));
    term.expect_session().await;
    match term.next_control().await {
        Control::Frame(ServerFrame::Joined { mode, .. }) => assert_eq!(mode, "ro"),
        other => panic!("expected a joined frame, got {other:?}"),
    }
    term.expect_replay().await;
    term
}

/// A viewer as a browser is one: joins, opts into flow control, says it is ready, then reads and
/// acks until `end`'s marker. Returns the bytes received and skipped.
async fn viewer(api: Api, token: String, end: Marker, ready: mpsc::Sender<()>) -> (u64, u64) {
    let mut term = join(&api, &token).await;
    term.ack(0).await;
    ready
        .send(())
        .await
        .expect("the bench waits for its viewers");
    let got = read_to_marker(&mut term, &end, true).await;
    term.detach().await;
    got
}

/// One measured `cat` on a fresh owner terminal of `rig`, with `viewers` reading viewers on
/// `pool` and, if `stalled`, one more viewer that never reads.
async fn measure(
    rig: &Rig,
    pool: &tokio::runtime::Runtime,
    file: &Path,
    size: u64,
    viewers: usize,
    stalled: bool,
    into: &mut Figure,
) {
    let mut owner = ready_terminal(&rig.owner, rig.server).await;
    owner.ack(0).await;
    let token = if viewers > 0 || stalled {
        Some(share(&rig.owner, owner.session_id()).await)
    } else {
        None
    };
    let end = Marker::new("CATEND");
    let (ready_tx, mut ready) = mpsc::channel(viewers.max(1));
    let mut readers = Vec::with_capacity(viewers);
    for _ in 0..viewers {
        let token = token.clone().expect("a share link");
        let end = Marker {
            shell: end.shell.clone(),
            printed: end.printed.clone(),
        };
        readers.push(pool.spawn(viewer(rig.viewer.clone(), token, end, ready_tx.clone())));
    }
    drop(ready_tx);
    for joined in 0..viewers {
        tokio::time::timeout(gatehouse_tests::WAIT, ready.recv())
            .await
            .unwrap_or_else(|_| panic!("{joined} of {viewers} viewers joined in time"))
            .unwrap_or_else(|| panic!("a viewer failed after {joined} joined"));
    }
    let stuck = match &token {
        Some(token) if stalled => Some(join(&rig.viewer, token).await),
        _ => None,
    };

    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = fs::write(format!("/proc/{}/clear_refs", rig.gh.pid()), "5");
    let before = rig.gh.rss_kib();
    let gateway_stat = format!("/proc/{}/stat", rig.gh.pid());
    let cpu_before = (cpu_secs(&gateway_stat), viewers_cpu_secs());
    let machine_before = machine_ticks();
    let started = Instant::now();
    let (rate, skipped) = cat_rate(&mut owner, file, size, true, &end).await;
    let wall = started.elapsed().as_secs_f64();
    let cpu_after = (cpu_secs(&gateway_stat), viewers_cpu_secs());
    let machine_after = machine_ticks();
    let peak = proc_status_kib(rig.gh.pid(), "VmHWM:");

    let (mut got, mut lost) = (0u64, 0u64);
    for reader in readers {
        let (received, skipped) = tokio::time::timeout(gatehouse_tests::WAIT * 4, reader)
            .await
            .expect("the viewers finished reading")
            .expect("a viewer panicked");
        got += received;
        lost += skipped;
    }
    into.rates.push(rate);
    into.growth.push(peak.saturating_sub(before));
    into.live.push(if viewers == 0 {
        1.0
    } else {
        got as f64 / (got + lost) as f64
    });
    into.owner_skipped += skipped;
    into.gateway_cpu.push((cpu_after.0 - cpu_before.0) / wall);
    into.viewers_cpu.push((cpu_after.1 - cpu_before.1) / wall);
    into.machine_cpu.push(
        (machine_after.0 - machine_before.0) as f64
            / (machine_after.1 - machine_before.1).max(1) as f64,
    );
    eprintln!(
        "bench: viewers: {viewers} reading{}{}: owner {rate:.0} MB/s; viewers got {:.0} % live; \
         CPU: gateway {:.0} % of a core, viewers' thread {:.0} %, machine {:.0} % busy",
        if stalled { ", 1 stalled" } else { "" },
        if rig.recording { ", recording" } else { "" },
        100.0 * into.live.last().copied().unwrap_or(1.0),
        100.0 * into.gateway_cpu.last().copied().unwrap_or(0.0),
        100.0 * into.viewers_cpu.last().copied().unwrap_or(0.0),
        100.0 * into.machine_cpu.last().copied().unwrap_or(0.0),
    );
    owner.close().await;
    if let Some(stuck) = stuck {
        stuck.drop_connection();
    }
}

/// The `*.cast` files under `dir` (recursively): how many, and their total size in bytes.
fn casts(dir: &Path) -> (usize, u64) {
    let mut found = (0, 0);
    let mut dirs: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "cast") {
                found.0 += 1;
                found.1 += meta.len();
            }
        }
    }
    found
}

pub async fn run(binary: &Path, sshd: &Sshd, file: &Path, size: u64, runs: usize) -> Rows {
    eprintln!("bench: viewers: two gateways, recording off and on");
    let plain = Rig::start(binary, sshd, false).await;
    let mut recording = Rig::start(binary, sshd, true).await;
    // The viewers' own thread; dropped with `shutdown_background` (a runtime may not be dropped
    // inside another one).
    let pool = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-viewers")
        .enable_all()
        .build()
        .expect("the viewers' runtime");

    let mut counts: Vec<usize> = std::env::var("GATEHOUSE_BENCH_VIEWERS")
        .unwrap_or_else(|_| VIEWERS.into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("GATEHOUSE_BENCH_VIEWERS: numbers, comma-separated")
        })
        .filter(|&n| n > 0)
        .collect();
    counts.insert(0, 0);
    let mut viewers: Vec<Figure> = counts.iter().map(|_| Figure::default()).collect();
    let mut stalled = Figure::default();
    let mut recorded = Figure::default();
    let mut ssh_tty = Vec::new();
    for run in 1..=runs {
        eprintln!("bench: viewers: run {run} of {runs}");
        for (n, figure) in counts.iter().zip(viewers.iter_mut()) {
            measure(&plain, &pool, file, size, *n, false, figure).await;
        }
        measure(&plain, &pool, file, size, 0, true, &mut stalled).await;
        measure(&recording, &pool, file, size, 0, false, &mut recorded).await;
        ssh_tty.push(openssh_throughput(sshd, file, size, 1, true));
    }
    pool.shutdown_background();
    drop(plain);
    // Stopped first, so every cast is finalised, whether at its session's end or on shutdown.
    recording.gh.terminate();
    let casts = casts(&recording.gh.data_dir());
    drop(recording);
    Rows {
        mb: (size + (1 << 19)) >> 20,
        size,
        runs,
        counts,
        viewers,
        stalled,
        recorded,
        ssh_tty: median(ssh_tty),
        casts,
    }
}

pub fn print(rows: &Rows) {
    let alone = rows.viewers[0].rate();
    let tty = rows.ssh_tty;
    // The Gatehouse cell: MB/s, against no viewers / recording off unless this is that row,
    // the gateway's CPU and its peak RSS growth.
    let cell = |f: &Figure, against: Option<&str>| {
        let rate = f.rate();
        let share = against
            .map(|what| format!("{:.0} % of {what}; ", 100.0 * rate / alone))
            .unwrap_or_default();
        format!(
            "{rate:.0} MB/s ({share}gateway CPU {:.0} % of a core, machine {:.0} % busy; peak RSS +{:.1} MiB)",
            f.gateway_cpu_pct(),
            f.machine_cpu_pct(),
            f.growth_mib()
        )
    };
    let skipped = |f: &Figure| {
        if f.owner_skipped == 0 {
            String::new()
        } else {
            format!(
                " [the owner's own socket skipped {:.1} MiB in {} runs]",
                f.owner_skipped as f64 / 1048576.0,
                rows.runs
            )
        }
    };
    for (n, figure) in rows.counts.iter().zip(&rows.viewers) {
        let rate = figure.rate();
        if *n == 0 {
            println!(
                "| live session: owner's terminal output, no viewers, recording off (`cat` of {} MiB, owner acking like the browser; reference for the rows below){} | {} | {tty:.0} MB/s (`ssh -tt host cat`) | {:.0} % | (context) |",
                rows.mb,
                skipped(figure),
                cell(figure, None),
                100.0 * rate / tty
            );
        } else {
            println!(
                "| the same with {n} read-only viewer{} (one share link, another user; each reads and acks; they got {:.0} % of the output live, the rest skipped; their client thread in the bench was busy {:.0} % of the time){} | {} | {tty:.0} MB/s | {:.0} % | (context) |",
                if *n == 1 { "" } else { "s" },
                figure.live_pct(),
                figure.viewers_cpu_pct(),
                skipped(figure),
                cell(figure, Some("no viewers")),
                100.0 * rate / tty
            );
        }
    }
    println!(
        "| the same with 1 read-only viewer that never reads (joined, then stalled){} | {} | {tty:.0} MB/s | {:.0} % | (context) |",
        skipped(&rows.stalled),
        cell(&rows.stalled, Some("no viewers")),
        100.0 * rows.stalled.rate() / tty
    );
    let (count, bytes) = rows.casts;
    let cast = if count == 0 {
        "no `*.cast` file under the data directory".to_string()
    } else {
        format!(
            "{count} `*.cast` file{}, {:.1} MiB{} ({:.2} × the file)",
            if count == 1 { "" } else { "s" },
            bytes as f64 / count as f64 / 1048576.0,
            if count == 1 { "" } else { " each on average" },
            bytes as f64 / count as f64 / rows.size as f64
        )
    };
    println!(
        "| owner's terminal output, no viewers, recording on (`GATEHOUSE_RECORD_SESSIONS=true`, a gateway of its own; {cast}){} | {} | {tty:.0} MB/s | {:.0} % | (context) |",
        skipped(&rows.recorded),
        cell(&rows.recorded, Some("recording off")),
        100.0 * rows.recorded.rate() / tty
    );
}

pub async fn only(binary: PathBuf, mb: usize, runs: usize) {
    let sshd = Sshd::start();
    let dir = tempfile::Builder::new()
        .prefix("gatehouse-bench-")
        .tempdir()
        .expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    eprintln!("bench: writing a {mb} MiB file");
    let (file, size) = make_file(dir.path(), mb);
    let rows = run(&binary, &sshd, &file, size, runs).await;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!();
    println!("Live sessions only; {cores} cores; {mb} MiB file; median of {runs} runs.");
    println!();
    println!("| what | Gatehouse | OpenSSH (same run) | Gatehouse vs OpenSSH | target |");
    println!("|---|---|---|---|---|");
    print(&rows);
}
