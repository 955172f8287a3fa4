//! The terminals-across-replicas rows of the bench: two gateways (replica A and replica B) on one
//! PostgreSQL database and one Redis, as in `tests/e2e/replicas.rs`. A terminal is opened on A,
//! detached, and reattached through B, so every byte between the client and the shell crosses
//! B, Redis pub/sub and A ("bridged"). Keystroke echo and `cat` throughput are measured on such
//! terminals with the main table's own code ([`echo_round_trips`], [`terminal_rate`]), beside
//! the same on terminals opened directly on A and OpenSSH's figures, all in the same run; and
//! replica B's memory while it bridges.
//!
//! PostgreSQL and Redis come from the test fixtures (`tests/src/postgres.rs`,
//! `tests/src/redis.rs`). If their binaries are missing the section is skipped, and says so in
//! the table and on stderr.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::postgres::{self, PgDatabase};
use gatehouse_tests::redis::Redis;
use gatehouse_tests::{Api, Gatehouse, Sshd, Terminal};

use super::{
    direct_echo, echo_round_trips, gateway_echo, make_file, make_ready, median, mib, ms,
    openssh_throughput, percentile, proc_status_kib, ready_terminal, signed_ms, terminal_rate,
};

/// Both replicas must open the same stored credentials.
const SHARED_SECRET: &str = "bench-replicas-secret-key-0123456789abcdef";

/// Two replicas, A (where every terminal runs) and B (through which bridged ones are reached).
/// Fields drop in order: the gateways before Redis and the database.
struct Cluster {
    a: Gatehouse,
    b: Gatehouse,
    /// The admin through A, and the same sign-in through B.
    on_a: Api,
    on_b: Api,
    server: i32,
    _redis: Redis,
    _db: PgDatabase,
}

impl Cluster {
    async fn start(binary: &Path, sshd: &Sshd) -> Cluster {
        let db = postgres::create_database();
        let redis = Redis::start();
        let env = vec![
            ("GATEHOUSE_DATABASE_URL".to_owned(), db.url()),
            ("GATEHOUSE_REDIS_URL".to_owned(), redis.url()),
            ("GATEHOUSE_SECRET_KEY".to_owned(), SHARED_SECRET.to_owned()),
            (
                "GATEHOUSE_TERMINAL_MAX_SESSIONS_PER_USER".to_owned(),
                "0".to_owned(),
            ),
        ];
        let start = || {
            Gatehouse::start_with(Options {
                binary: Some(binary.to_path_buf()),
                env: env.clone(),
                ..Options::default()
            })
        };
        // One after the other: the first migrates the database.
        let a = start().await;
        let b = start().await;
        let on_a = a.admin().await;
        let on_b = b.api().with_auth(on_a.auth.clone());
        let server = on_a.create_server(&sshd.key_server("bench")).await.id;
        Cluster {
            a,
            b,
            on_a,
            on_b,
            server,
            _redis: redis,
            _db: db,
        }
    }

    /// A terminal running on A, reached through B: opened on A at `cols`×`rows`, detached, and
    /// reattached through B (its `session` and `replay` frames read).
    async fn bridged(&self, cols: u16, rows: u16) -> Terminal {
        let first = Terminal::open_sized(&self.on_a, self.server, cols, rows).await;
        let sid = first.session_id().to_owned();
        first.detach().await;
        let mut term = Terminal::attach(&self.on_b, &sid, &format!("?cols={cols}&rows={rows}"))
            .await
            .unwrap_or_else(|r| panic!("reattach through B refused: {} {}", r.status, r.body));
        assert_eq!(term.expect_session().await, sid);
        term.expect_replay().await;
        term
    }
}

/// One configuration's runs: MB/s (the file's size over the time to the marker), what of it
/// reached the client (the same less the bytes the gateway skipped on the client's socket), and
/// the bytes skipped in all runs.
#[derive(Default)]
struct Rate {
    rates: Vec<f64>,
    delivered: Vec<f64>,
    skipped: u64,
}

impl Rate {
    fn push(&mut self, (rate, skipped): (f64, u64), size: u64) {
        self.rates.push(rate);
        self.delivered
            .push(rate * size.saturating_sub(skipped) as f64 / size as f64);
        self.skipped += skipped;
    }

    fn median(&self) -> f64 {
        median(self.rates.clone())
    }

    /// "; … skipped …" when the gateway skipped output on the client's socket.
    fn note(&self, runs: usize, size: u64) -> String {
        if self.skipped == 0 {
            String::new()
        } else {
            format!(
                "; the client was told `skipped` for {:.1} MiB a run ({:.0} % of the file), so {:.0} MB/s reached it",
                self.skipped as f64 / runs as f64 / 1048576.0,
                100.0 * self.skipped as f64 / runs as f64 / size as f64,
                median(self.delivered.clone())
            )
        }
    }
}

pub struct Measured {
    mb: u64,
    size: u64,
    runs: usize,
    samples: usize,
    /// Sorted keystroke round trips: direct to A, bridged through B, russh straight to sshd.
    echo_a: Vec<Duration>,
    echo_bridged: Vec<Duration>,
    echo_russh: Vec<Duration>,
    /// Plain (TCP-paced) and acking clients, direct to A and bridged.
    plain_a: Rate,
    plain_bridged: Rate,
    ack_a: Rate,
    ack_bridged: Rate,
    /// MB/s of `ssh -tt host cat` and `ssh host cat`.
    ssh_tty: f64,
    ssh: f64,
    /// Replica B's VmRSS (KiB) after start-up and sign-in, before any bridge.
    b_idle: u64,
    /// Replica B's highest VmHWM over the bridged `cat`s, and its largest growth over the RSS
    /// just before one (KiB); `hwm_reset` false when `clear_refs` could not be written.
    b_peak: u64,
    b_growth: u64,
    /// The same growth for replica A, which runs the bridged session's shell and hub.
    a_growth: u64,
    hwm_reset: bool,
}

/// Measured, or why the section did not run.
pub type Rows = Result<Measured, String>;

/// Why the section cannot run here: a missing PostgreSQL or Redis binary.
fn missing_binaries() -> Option<String> {
    let mut missing = Vec::new();
    let pg = Path::new(postgres::BIN).join("postgres");
    if !pg.exists() {
        missing.push(pg.display().to_string());
    }
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(name).is_file()))
    };
    if !on_path("redis-server") {
        missing.push("redis-server (on PATH)".into());
    }
    (!missing.is_empty()).then(|| {
        format!(
            "missing {} (bash scripts/test.sh installs PostgreSQL 15 and Redis)",
            missing.join(" and ")
        )
    })
}

pub async fn run(
    binary: &Path,
    sshd: &Sshd,
    file: &Path,
    size: u64,
    runs: usize,
    samples: usize,
) -> Rows {
    if let Some(reason) = missing_binaries() {
        eprintln!("bench: replicas: SKIPPED: {reason}");
        return Err(reason);
    }
    eprintln!("bench: replicas: two gateways on PostgreSQL and Redis");
    let c = Cluster::start(binary, sshd).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b_idle = c.b.rss_kib();

    eprintln!("bench: replicas: keystroke echo ({samples} samples each)");
    let echo_a = gateway_echo(&c.on_a, c.server, samples).await;
    let mut term = c.bridged(80, 24).await;
    let echo_bridged = echo_round_trips(&mut term, samples).await;
    term.close().await;
    let echo_russh = direct_echo(sshd, samples).await;

    let (mut plain_a, mut plain_bridged) = (Rate::default(), Rate::default());
    let (mut ack_a, mut ack_bridged) = (Rate::default(), Rate::default());
    let (mut ssh_tty, mut ssh) = (Vec::new(), Vec::new());
    let (mut b_peak, mut b_growth, mut a_growth, mut hwm_reset) = (0, 0, 0, true);
    let clear_refs = |gh: &Gatehouse| fs::write(format!("/proc/{}/clear_refs", gh.pid()), "5");
    for run in 1..=runs {
        eprintln!("bench: replicas: throughput, run {run} of {runs}");
        for acking in [false, true] {
            let (direct, bridged) = if acking {
                (&mut ack_a, &mut ack_bridged)
            } else {
                (&mut plain_a, &mut plain_bridged)
            };
            let term = ready_terminal(&c.on_a, c.server).await;
            direct.push(terminal_rate(term, file, size, acking).await, size);
            let term = make_ready(c.bridged(200, 50).await).await;
            hwm_reset &= clear_refs(&c.b).is_ok() && clear_refs(&c.a).is_ok();
            let (before_b, before_a) = (c.b.rss_kib(), c.a.rss_kib());
            bridged.push(terminal_rate(term, file, size, acking).await, size);
            let peak = proc_status_kib(c.b.pid(), "VmHWM:");
            b_peak = b_peak.max(peak);
            b_growth = b_growth.max(peak.saturating_sub(before_b));
            let peak_a = proc_status_kib(c.a.pid(), "VmHWM:");
            a_growth = a_growth.max(peak_a.saturating_sub(before_a));
        }
        ssh_tty.push(openssh_throughput(sshd, file, size, 1, true));
        ssh.push(openssh_throughput(sshd, file, size, 1, false));
    }
    Ok(Measured {
        mb: (size + (1 << 19)) >> 20,
        size,
        runs,
        samples,
        echo_a,
        echo_bridged,
        echo_russh,
        plain_a,
        plain_bridged,
        ack_a,
        ack_bridged,
        ssh_tty: median(ssh_tty),
        ssh: median(ssh),
        b_idle,
        b_peak,
        b_growth,
        a_growth,
        hwm_reset,
    })
}

pub fn print(rows: &Rows) {
    let m = match rows {
        Ok(m) => m,
        Err(reason) => {
            println!(
                "| terminals across replicas (bridged through Redis) | skipped: {reason} | | | |"
            );
            return;
        }
    };
    for p in [50, 99] {
        let a = ms(percentile(&m.echo_a, p));
        let bridged = ms(percentile(&m.echo_bridged, p));
        let russh = ms(percentile(&m.echo_russh, p));
        println!(
            "| replicas: keystroke echo round trip, p{p}, direct to replica A (A and B on PostgreSQL + Redis; reference for the bridged row; {} samples) | {a:.3} ms | {russh:.3} ms (russh client, PTY) | {} | (context) |",
            m.samples,
            signed_ms(a - russh, 3)
        );
        println!(
            "| replicas: keystroke echo round trip, p{p}, opened on A and reattached through replica B (bridged: B → Redis pub/sub → A) | {bridged:.3} ms ({} over direct to A) | {russh:.3} ms | {} | (context) |",
            signed_ms(bridged - a, 3),
            signed_ms(bridged - russh, 3)
        );
    }
    let (mb, runs, size, tty, ssh) = (m.mb, m.runs, m.size, m.ssh_tty, m.ssh);
    let plain_a = m.plain_a.median();
    let plain_bridged = m.plain_bridged.median();
    println!(
        "| replicas: terminal output, direct to A (WS client reading `cat` of {mb} MiB; reference) | {plain_a:.0} MB/s{} | {tty:.0} MB/s (`ssh -tt host cat`; {ssh:.0} MB/s without `-tt`) | {:.0} % | (context) |",
        m.plain_a.note(runs, size),
        100.0 * plain_a / tty
    );
    println!(
        "| replicas: terminal output through replica B (bridged) | {plain_bridged:.0} MB/s ({:.0} % of direct to A{}) | {tty:.0} MB/s | {:.0} % | (context) |",
        100.0 * plain_bridged / plain_a,
        m.plain_bridged.note(runs, size),
        100.0 * plain_bridged / tty
    );
    let ack_a = m.ack_a.median();
    let ack_bridged = m.ack_bridged.median();
    println!(
        "| replicas: the same, client acking like the browser, direct to A | {ack_a:.0} MB/s{} | {tty:.0} MB/s | {:.0} % | (context) |",
        m.ack_a.note(runs, size),
        100.0 * ack_a / tty
    );
    println!(
        "| replicas: the same, client acking like the browser, through replica B (bridged) | {ack_bridged:.0} MB/s ({:.0} % of direct to A{}) | {tty:.0} MB/s | {:.0} % | (context) |",
        100.0 * ack_bridged / ack_a,
        m.ack_bridged.note(runs, size),
        100.0 * ack_bridged / tty
    );
    println!(
        "| replicas: replica B's peak RSS while bridging a `cat` (VmHWM{}; {:.1} MiB after start and sign-in; replica A, running the shell, grew by up to {:.1} MiB meanwhile) | {:.1} MiB | | +{:.1} MiB over before (worst run) | (context) |",
        if m.hwm_reset { "" } else { ", not reset: includes start-up" },
        mib(m.b_idle),
        mib(m.a_growth),
        mib(m.b_peak),
        mib(m.b_growth)
    );
}

/// `GATEHOUSE_BENCH_ONLY=replicas`: these rows alone (with their own direct-to-A and OpenSSH
/// references).
pub async fn only(binary: PathBuf, mb: usize, runs: usize, samples: usize) {
    let sshd = Sshd::start();
    let dir = tempfile::Builder::new()
        .prefix("gatehouse-bench-")
        .tempdir()
        .expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    eprintln!("bench: writing a {mb} MiB file");
    let (file, size) = make_file(dir.path(), mb);
    let rows = run(&binary, &sshd, &file, size, runs, samples).await;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!();
    println!(
        "Terminals across replicas only; {cores} cores; {mb} MiB file; median of {runs} runs; {samples} echo samples."
    );
    println!();
    println!("| what | Gatehouse | OpenSSH (same run) | Gatehouse vs OpenSSH | target |");
    println!("|---|---|---|---|---|");
    print(&rows);
}
