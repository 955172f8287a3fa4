//! Gatehouse against OpenSSH on loopback, in one run: terminal output throughput, keystroke echo
//! round trip, and the gateway's memory idle, while streaming, and with many open terminals.
//!
//! Run with `bash scripts/bench.sh` (it builds the release binary first). Prints a Markdown table
//! with PRODUCT.md's quality bars beside the measured figures — shown, never asserted.
//! Knobs (environment): GATEHOUSE_BENCH_MB (file size, 200), GATEHOUSE_BENCH_RUNS (3),
//! GATEHOUSE_BENCH_ECHO (echo samples, 1000), GATEHOUSE_BENCH_SESSIONS (100),
//! GATEHOUSE_BENCH_FILE_MB (size of the files rows' file and folder, 1024),
//! GATEHOUSE_BENCH_ONLY=files (only the files rows), GATEHOUSE_BENCH_DEPTH (the gateway's
//! `files_pipeline_depth`, to tune it), GATEHOUSE_BENCH_ONLY=jump (only the jump-host rows),
//! GATEHOUSE_BENCH_ONLY=viewers (only the live-session rows: viewers and recording) with
//! GATEHOUSE_BENCH_VIEWERS (the numbers of read-only viewers, `0,10,50`),
//! GATEHOUSE_BENCH_ONLY=replicas (only the terminals-across-replicas rows: two gateways on
//! PostgreSQL and Redis, a terminal on one reached through the other).

mod files;
mod jump;
mod replicas;
mod viewers;

use std::fs;
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::sshd::{test_user, TEST_USER};
use gatehouse_tests::terminal::{Control, Marker};
use gatehouse_tests::{find, Api, Gatehouse, Sshd, Terminal};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::ChannelMsg;
use wire::terminal::{ServerFrame, ACK_EVERY};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[((sorted.len() * p) / 100).min(sorted.len() - 1)]
}

/// A difference in milliseconds with its sign (a real minus sign when negative), to `decimals`.
fn signed_ms(delta: f64, decimals: usize) -> String {
    let sign = if delta < 0.0 { "−" } else { "+" };
    format!("{sign}{:.decimals$} ms", delta.abs())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// A text file of `mb` MiB in 100-byte numbered lines, readable by the test account.
fn make_file(dir: &Path, mb: usize) -> (std::path::PathBuf, u64) {
    let path = dir.join("big.txt");
    let mut out = BufWriter::with_capacity(1 << 20, fs::File::create(&path).expect("create"));
    let lines = mb * 1024 * 1024 / 100;
    for i in 0..lines {
        // 99 visible bytes + newline.
        writeln!(
            out,
            "{i:>10} the quick brown fox jumps over the lazy dog 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghi"
        )
        .expect("write");
    }
    out.flush().expect("flush");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    let size = fs::metadata(&path).expect("stat").len();
    (path, size)
}

/// MB/s of `cat FILE` read by a WebSocket client through the gateway (median of `runs`). With
/// `acking`, the client opts into the gateway's flow control and acks as a browser does.
async fn gateway_throughput(
    api: &Api,
    server: i32,
    file: &Path,
    size: u64,
    runs: usize,
    acking: bool,
) -> f64 {
    let mut rates = Vec::new();
    for _ in 0..runs {
        let term = ready_terminal(api, server).await;
        rates.push(terminal_rate(term, file, size, acking).await.0);
    }
    median(rates)
}

/// One measurement of [`gateway_throughput`] on `term` (ready: echo off, prompt read), which it
/// then ends: opts into flow control when `acking`, reads one `cat`. Returns [`cat_rate`]'s
/// MB/s and skipped bytes.
async fn terminal_rate(mut term: Terminal, file: &Path, size: u64, acking: bool) -> (f64, u64) {
    if acking {
        term.ack(0).await;
    }
    let end = Marker::new("CATEND");
    let measured = cat_rate(&mut term, file, size, acking, &end).await;
    term.close().await;
    measured
}

/// A fresh 200×50 terminal with echo off, its prompt read.
async fn ready_terminal(api: &Api, server: i32) -> Terminal {
    make_ready(Terminal::open_sized(api, server, 200, 50).await).await
}

/// Turns echo off on an open terminal and reads up to its prompt.
async fn make_ready(mut term: Terminal) -> Terminal {
    let ready = Marker::new("RDY");
    term.send_line(&format!("stty -echo; printf '%s\\n' {}", ready.shell))
        .await;
    term.read_until(ready.printed.as_bytes()).await;
    term
}

/// One `cat FILE; printf END` read on `term` up to `end`'s marker (other readers of the same
/// session may wait for it too), acking every `ACK_EVERY` bytes when `acking` (the caller has
/// opted in with `ack(0)`). Returns MB/s and the bytes the gateway skipped on this socket
/// because it fell behind (normally none).
async fn cat_rate(
    term: &mut Terminal,
    file: &Path,
    size: u64,
    acking: bool,
    end: &Marker,
) -> (f64, u64) {
    let start = Instant::now();
    term.send_line(&format!(
        "cat {}; printf '%s\\n' {}",
        file.display(),
        end.shell
    ))
    .await;
    let (received, skipped) = read_to_marker(term, end, acking).await;
    let secs = start.elapsed().as_secs_f64();
    if skipped > 0 {
        eprintln!("bench: the gateway skipped {skipped} bytes of the reader's output");
    }
    assert!(
        received + skipped >= size,
        "received {received} (and {skipped} skipped) of {size} bytes"
    );
    (size as f64 / secs / 1e6, skipped)
}

/// Reads `term`'s output until `end`'s marker, acking as [`cat_rate`] does. Returns the bytes
/// received and the bytes the gateway reported skipped (the control frames read on the way).
async fn read_to_marker(term: &mut Terminal, end: &Marker, acking: bool) -> (u64, u64) {
    let (mut received, mut unacked) = (0u64, 0u64);
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let bytes = term
            .next_output(Duration::from_secs(60))
            .await
            .unwrap_or_else(|| panic!("the output stalled after {received} bytes"));
        received += bytes.len() as u64;
        unacked += bytes.len() as u64;
        if acking && unacked >= ACK_EVERY {
            term.ack(unacked).await;
            unacked = 0;
        }
        tail.extend_from_slice(&bytes);
        if find(&tail, end.printed.as_bytes()).is_some() {
            break;
        }
        tail.drain(..tail.len().saturating_sub(64));
    }
    let mut skipped = 0;
    while !term.pending_controls().is_empty() {
        if let Control::Frame(ServerFrame::Skipped { bytes }) = term.next_control().await {
            skipped += bytes;
        }
    }
    (received, skipped)
}

/// MB/s of OpenSSH's `ssh host cat FILE > /dev/null` (median of `runs`).
fn openssh_throughput(sshd: &Sshd, file: &Path, size: u64, runs: usize, tty: bool) -> f64 {
    let mut rates = Vec::new();
    for _ in 0..runs {
        let mut cmd = sshd.ssh_command();
        if tty {
            cmd.arg("-tt");
        }
        cmd.arg(format!("cat {}", file.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let start = Instant::now();
        let status = cmd.status().expect("run ssh");
        let secs = start.elapsed().as_secs_f64();
        assert!(status.success(), "ssh cat failed: {status}");
        rates.push(size as f64 / secs / 1e6);
    }
    median(rates)
}

/// Round trips of single keystrokes echoed by the remote PTY, through the gateway.
async fn gateway_echo(api: &Api, server: i32, samples: usize) -> Vec<Duration> {
    let mut term = Terminal::open(api, server).await;
    let times = echo_round_trips(&mut term, samples).await;
    term.close().await;
    times
}

/// `samples` keystroke round trips (after 50 warm-up rounds) on an open terminal, sorted: the
/// shell is put into `stty raw echo; exec cat >/dev/null`, so the remote PTY echoes each byte.
async fn echo_round_trips(term: &mut Terminal, samples: usize) -> Vec<Duration> {
    let ready = Marker::new("ECHO");
    term.send_line(&format!(
        "stty raw echo; printf '%s\\n' {}; exec cat >/dev/null",
        ready.shell
    ))
    .await;
    term.read_until(ready.printed.as_bytes()).await;
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples + 50 {
        let key = [b'a' + (i % 26) as u8];
        let start = Instant::now();
        term.send(&key).await;
        term.read_until(&key).await;
        if i >= 50 {
            times.push(start.elapsed());
        }
    }
    times.sort();
    times
}

/// The bench's own client for its own throwaway sshd: any host key will do here.
struct AcceptOwnSshd;

impl russh::client::Handler for AcceptOwnSshd {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

async fn wait_data(ch: &mut russh::Channel<russh::client::Msg>, buf: &mut Vec<u8>, needle: &[u8]) {
    loop {
        if let Some(at) = find(buf, needle) {
            buf.drain(..at + needle.len());
            return;
        }
        match tokio::time::timeout(gatehouse_tests::WAIT, ch.wait()).await {
            Ok(Some(ChannelMsg::Data { data })) => buf.extend_from_slice(&data),
            Ok(Some(_)) => {}
            Ok(None) => panic!("the direct SSH channel closed"),
            Err(_) => panic!(
                "timed out waiting for {:?}",
                String::from_utf8_lossy(needle)
            ),
        }
    }
}

/// The same keystroke round trips over a direct SSH connection (russh, PTY, no gateway).
async fn direct_echo(sshd: &Sshd, samples: usize) -> Vec<Duration> {
    let key = russh::keys::decode_secret_key(&test_user().private_key, None).expect("key");
    let config = Arc::new(russh::client::Config {
        nodelay: true,
        ..Default::default()
    });
    let mut session = russh::client::connect(config, ("127.0.0.1", sshd.port()), AcceptOwnSshd)
        .await
        .expect("connect to sshd");
    let hash = session
        .best_supported_rsa_hash()
        .await
        .expect("hash")
        .flatten();
    let auth = session
        .authenticate_publickey(TEST_USER, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
        .expect("authenticate");
    assert!(auth.success(), "key authentication failed");
    let mut ch = session.channel_open_session().await.expect("channel");
    ch.request_pty(false, "xterm-256color", 80, 24, 0, 0, &[])
        .await
        .expect("pty");
    ch.request_shell(false).await.expect("shell");
    let ready = Marker::new("ECHO");
    let line = format!(
        "stty raw echo; printf '%s\\n' {}; exec cat >/dev/null\r",
        ready.shell
    );
    ch.data(line.as_bytes()).await.expect("send");
    let mut buf = Vec::new();
    wait_data(&mut ch, &mut buf, ready.printed.as_bytes()).await;
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples + 50 {
        let key = [b'a' + (i % 26) as u8];
        let start = Instant::now();
        ch.data(&key[..]).await.expect("send");
        wait_data(&mut ch, &mut buf, &key).await;
        if i >= 50 {
            times.push(start.elapsed());
        }
    }
    times.sort();
    times
}

/// Open `n` terminals (10 at a time) and keep them open.
async fn open_many(api: &Api, server: i32, n: usize) -> Vec<Terminal> {
    let mut open = Vec::with_capacity(n);
    while open.len() < n {
        let batch = (n - open.len()).min(10);
        let terms =
            futures::future::join_all((0..batch).map(|_| Terminal::open(api, server))).await;
        open.extend(terms);
    }
    open
}

async fn files_only(binary: std::path::PathBuf, file_mb: u64, runs: usize) {
    let sshd = Sshd::start();
    let depth = std::env::var("GATEHOUSE_BENCH_DEPTH").unwrap_or_else(|_| "16".into());
    let mut gh = Gatehouse::start_with(Options {
        binary: Some(binary),
        env: vec![("GATEHOUSE_FILES_PIPELINE_DEPTH".into(), depth.clone())],
        ..Options::default()
    })
    .await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.key_server("bench")).await.id;
    let rows = files::run(&gh, &admin, &sshd, server, file_mb, runs).await;
    gh.terminate();
    println!();
    println!("Files only; pipeline depth {depth}; {file_mb} MiB; median of {runs} runs.");
    println!();
    println!("| what | Gatehouse | OpenSSH direct | Gatehouse vs direct | target |");
    println!("|---|---|---|---|---|");
    files::print(&rows);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mb = knob("GATEHOUSE_BENCH_MB", 200);
    let runs = knob("GATEHOUSE_BENCH_RUNS", 3).max(1);
    let samples = knob("GATEHOUSE_BENCH_ECHO", 1000).max(10);
    let sessions = knob("GATEHOUSE_BENCH_SESSIONS", 100).max(1);
    let file_mb = knob("GATEHOUSE_BENCH_FILE_MB", 1024).max(8) as u64;

    let binary = gatehouse_tests::binary::gatehouse_release_binary().to_path_buf();
    eprintln!("bench: gateway binary {}", binary.display());
    if std::env::var("GATEHOUSE_BENCH_ONLY").is_ok_and(|v| v == "files") {
        return files_only(binary, file_mb, runs).await;
    }
    if std::env::var("GATEHOUSE_BENCH_ONLY").is_ok_and(|v| v == "jump") {
        return jump::only(binary, mb, runs).await;
    }
    if std::env::var("GATEHOUSE_BENCH_ONLY").is_ok_and(|v| v == "viewers") {
        return viewers::only(binary, mb, runs).await;
    }
    if std::env::var("GATEHOUSE_BENCH_ONLY").is_ok_and(|v| v == "replicas") {
        return replicas::only(binary, mb, runs, samples).await;
    }
    let sshd = Sshd::start();
    let mut gh = Gatehouse::start_with(Options {
        binary: Some(binary.clone()),
        // The many-terminals row opens more sessions than the default per-user cap allows.
        env: vec![(
            "GATEHOUSE_TERMINAL_MAX_SESSIONS_PER_USER".into(),
            "0".into(),
        )],
        ..Options::default()
    })
    .await;
    let health: wire::Health = gh.api().get("/api/health").await.expect(200).json();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = gh.rss_kib();

    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.key_server("bench")).await.id;
    let dir = tempfile::Builder::new()
        .prefix("gatehouse-bench-")
        .tempdir()
        .expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    eprintln!("bench: writing a {mb} MiB file");
    let (file, size) = make_file(dir.path(), mb);

    eprintln!("bench: throughput through the gateway ({runs} runs)");
    // Reset the peak-RSS counter (VmHWM) so it covers the streaming alone, not sign-in's argon2.
    let hwm_reset = fs::write(format!("/proc/{}/clear_refs", gh.pid()), "5").is_ok();
    let rss_before_cat = gh.rss_kib();
    let gw_rate = gateway_throughput(&admin, server, &file, size, runs, false).await;
    let hwm_after_cat = proc_status_kib(gh.pid(), "VmHWM:");
    let gw_ack_rate = gateway_throughput(&admin, server, &file, size, runs, true).await;
    eprintln!("bench: throughput with OpenSSH ({runs} runs each)");
    let ssh_rate = openssh_throughput(&sshd, &file, size, runs, false);
    let ssh_tty_rate = openssh_throughput(&sshd, &file, size, runs, true);

    eprintln!("bench: keystroke echo ({samples} samples each)");
    let gw_echo = gateway_echo(&admin, server, samples).await;
    let direct = direct_echo(&sshd, samples).await;

    eprintln!("bench: {sessions} open terminals");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before_sessions = gh.rss_kib();
    let open = open_many(&admin, server, sessions).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let rss_sessions = gh.rss_kib();
    // End them: a dropped socket only detaches its session, which would keep its shell (and
    // its channel on the pooled connection) for the rows below.
    for term in open {
        term.close().await;
    }

    let file_rows = files::run(&gh, &admin, &sshd, server, file_mb, runs).await;
    let jump_rows = jump::run(&admin, &sshd, server, &file, size, runs).await;
    let viewer_rows = viewers::run(&binary, &sshd, &file, size, runs).await;
    let replica_rows = replicas::run(&binary, &sshd, &file, size, runs, samples).await;
    let (status, by_itself) = gh.terminate();

    let gw50 = percentile(&gw_echo, 50);
    let gw99 = percentile(&gw_echo, 99);
    let d50 = percentile(&direct, 50);
    let d99 = percentile(&direct, 99);
    let per_session_kib = (rss_sessions as f64 - rss_before_sessions as f64) / sessions as f64;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);

    println!();
    println!(
        "Gatehouse {} (release) vs OpenSSH on loopback; {cores} cores; {mb} MiB file; median of {runs} runs; {samples} echo samples.",
        health.version
    );
    println!();
    println!("| what | Gatehouse | OpenSSH direct | Gatehouse vs direct | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| terminal output throughput (WS client reading `cat` of {mb} MiB) | {gw_rate:.0} MB/s | {ssh_rate:.0} MB/s (`ssh host cat`) | {:.0} % | ≥ 80 % |",
        100.0 * gw_rate / ssh_rate
    );
    println!(
        "| the same, against a PTY on both sides | {gw_rate:.0} MB/s | {ssh_tty_rate:.0} MB/s (`ssh -tt host cat`) | {:.0} % | (context) |",
        100.0 * gw_rate / ssh_tty_rate
    );
    println!(
        "| the same, client acking like the browser (flow control on) | {gw_ack_rate:.0} MB/s | {ssh_rate:.0} MB/s (`ssh host cat`) | {:.0} % | (context) |",
        100.0 * gw_ack_rate / ssh_rate
    );
    println!(
        "| keystroke echo round trip, p50 | {:.3} ms | {:.3} ms (russh client, PTY) | +{:.3} ms | < 1 ms added |",
        ms(gw50),
        ms(d50),
        ms(gw50) - ms(d50)
    );
    println!(
        "| keystroke echo round trip, p99 | {:.3} ms | {:.3} ms | +{:.3} ms | < 5 ms added |",
        ms(gw99),
        ms(d99),
        ms(gw99) - ms(d99)
    );
    println!(
        "| gateway RSS, idle after start | {:.1} MiB | | | < 40 MiB |",
        mib(rss_idle)
    );
    println!(
        "| gateway peak RSS while streaming the `cat`s (VmHWM{}) | {:.1} MiB | | +{:.1} MiB over before | < 64 MiB growth |",
        if hwm_reset { "" } else { ", not reset: includes start-up" },
        mib(hwm_after_cat),
        mib(hwm_after_cat.saturating_sub(rss_before_cat))
    );
    println!(
        "| gateway RSS with {sessions} open terminals | {:.1} MiB | | {:.0} KiB per session | < 1 MiB per idle session |",
        mib(rss_sessions),
        per_session_kib
    );
    files::print(&file_rows);
    jump::print(&jump_rows);
    viewers::print(&viewer_rows);
    replicas::print(&replica_rows);
    println!();
    println!(
        "gateway stopped on SIGTERM: {status}{}",
        if by_itself { "" } else { " (had to be killed)" }
    );
}
