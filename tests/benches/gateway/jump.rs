//! The jump-host rows of the bench: sign-in time direct and through one and two hops, a second
//! terminal on a warm (pooled) connection, and terminal and SFTP throughput through a bastion —
//! each beside OpenSSH's own client (`ssh -J`, `sftp -J`, a ControlMaster) in the same run.
//!
//! The hops are real sshds in network namespaces ([`Bastion::start_deep`]): gateway → bastion →
//! private → deep. They all run on this machine, so a hop costs CPU (crypto, process hand-offs)
//! and loopback round trips here, never network latency.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::sshd::{test_user, TEST_USER};
use gatehouse_tests::{Api, Bastion, Files, Gatehouse, Sshd, Terminal};
use wire::servers::TestReport;

use super::files::download;
use super::{gateway_throughput, make_file, median, ms, signed_ms};

/// One destination as the gateway and OpenSSH's client each reach it.
struct Target {
    label: &'static str,
    /// The gateway's server id.
    server: i32,
    address: String,
    port: u16,
    /// OpenSSH's `-J` list (empty: direct).
    jump: String,
}

/// Sign-in and warm-terminal figures of one target: Gatehouse and OpenSSH, in ms.
struct Latency {
    label: &'static str,
    gateway: f64,
    /// Median of each hop's own `ms` from the test report (sign-in rows only).
    hops: Vec<f64>,
    openssh: f64,
    /// Sign-in rows: OpenSSH with its own default key exchange (9.2: sntrup761x25519), where
    /// `openssh` is held to curve25519, the one the gateway negotiates with these sshds.
    openssh_default_kex: Option<f64>,
    /// Logins the target's sshd saw while measured: one per sign-in (gateway and each `ssh`),
    /// none for warm terminals.
    logins: usize,
}

/// The raw sign-in samples of one target.
#[derive(Default)]
struct Samples {
    gateway: Vec<f64>,
    hops: Vec<Vec<f64>>,
    openssh: Vec<f64>,
    openssh_default_kex: Vec<f64>,
    logins: usize,
}

pub struct Rows {
    mb: u64,
    runs: usize,
    sign_in: Vec<Latency>,
    warm: Vec<Latency>,
    /// MB/s: (Gatehouse direct, Gatehouse via the bastion).
    term_gateway: (f64, f64),
    /// MB/s: (`ssh host cat`, `ssh -tt host cat`) direct and through the bastion.
    term_direct: (f64, f64),
    term_hop: (f64, f64),
    /// MB/s: (Gatehouse, `sftp` get) direct and through the bastion.
    sftp_direct: (f64, f64),
    sftp_hop: (f64, f64),
}

/// OpenSSH's client configuration for every host and jump: `-F` is handed on to the `ssh -W`
/// processes behind `-J`, while command-line `-i`/`-o` options are not.
struct OpenSsh {
    _dir: tempfile::TempDir,
    config: PathBuf,
    control: PathBuf,
}

impl OpenSsh {
    /// `kex`: a `KexAlgorithms` setting; `None` keeps OpenSSH's default.
    fn new(kex: Option<&str>) -> OpenSsh {
        let dir = tempfile::Builder::new()
            .prefix("gh-jump-")
            .tempdir()
            .expect("tempdir");
        let key = dir.path().join("id");
        fs::write(&key, &test_user().private_key).expect("write client key");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod key");
        let config = dir.path().join("config");
        fs::write(
            &config,
            format!(
                "Host *\n  User {TEST_USER}\n  IdentityFile {}\n  IdentitiesOnly yes\n  \
                 BatchMode yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  \
                 LogLevel ERROR\n{}",
                key.display(),
                kex.map(|k| format!("  KexAlgorithms {k}\n"))
                    .unwrap_or_default()
            ),
        )
        .expect("write ssh config");
        let control = dir.path().join("ctl");
        OpenSsh {
            _dir: dir,
            config,
            control,
        }
    }

    /// `program` with the config, `pre`, the jumps, the port (spelled `port_flag`) and the
    /// destination, stdin and stdout null; the caller appends the remote command.
    fn client(&self, program: &str, pre: &[&str], port_flag: &str, to: &Target) -> Command {
        let mut cmd = Command::new(program);
        cmd.arg("-F").arg(&self.config).args(pre);
        if !to.jump.is_empty() {
            cmd.args(["-J", &to.jump]);
        }
        cmd.arg(port_flag)
            .arg(to.port.to_string())
            .arg(&to.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    }

    fn ssh(&self, to: &Target, pre: &[&str]) -> Command {
        self.client("ssh", pre, "-p", to)
    }

    /// Wall time of `ssh [pre…] host true`, in ms.
    fn run_true(&self, to: &Target, pre: &[&str]) -> f64 {
        let mut cmd = self.ssh(to, pre);
        cmd.arg("true");
        let start = Instant::now();
        let status = cmd.status().expect("run ssh");
        let took = ms(start.elapsed());
        assert!(status.success(), "ssh to {} failed: {status}", to.label);
        took
    }

    /// MB/s of `ssh [-tt] host cat FILE > /dev/null`.
    fn cat(&self, to: &Target, file: &Path, size: u64, tty: bool) -> f64 {
        let pre: &[&str] = if tty { &["-tt"] } else { &[] };
        let mut cmd = self.ssh(to, pre);
        cmd.arg(format!("cat {}", file.display()));
        let start = Instant::now();
        let status = cmd.status().expect("run ssh");
        let secs = start.elapsed().as_secs_f64();
        assert!(
            status.success(),
            "ssh cat via {} failed: {status}",
            to.label
        );
        size as f64 / secs / 1e6
    }

    /// MB/s of `sftp` `get FILE /dev/null`.
    fn sftp_get(&self, to: &Target, file: &Path, size: u64) -> f64 {
        let mut child = self
            .client("sftp", &["-b", "-"], "-P", to)
            .stdin(Stdio::piped())
            .spawn()
            .expect("run sftp");
        let start = Instant::now();
        child
            .stdin
            .take()
            .expect("sftp stdin")
            .write_all(format!("get {} /dev/null\n", file.display()).as_bytes())
            .expect("sftp batch");
        let status = child.wait().expect("wait for sftp");
        let secs = start.elapsed().as_secs_f64();
        assert!(
            status.success(),
            "sftp get via {} failed: {status}",
            to.label
        );
        size as f64 / secs / 1e6
    }

    /// A ControlMaster to `to`, in the background until the guard drops.
    fn master<'a>(&'a self, to: &'a Target) -> Master<'a> {
        let ctl = self.control.to_str().expect("utf-8 path");
        let status = self
            .ssh(to, &["-M", "-S", ctl, "-f", "-N"])
            .stderr(Stdio::null())
            .status()
            .expect("run ssh -M");
        assert!(status.success(), "ssh -M to {} failed: {status}", to.label);
        Master { ssh: self, to }
    }
}

/// A running ControlMaster; `ssh -O exit` on drop.
struct Master<'a> {
    ssh: &'a OpenSsh,
    to: &'a Target,
}

impl Master<'_> {
    /// Wall time of a multiplexed `ssh -tt host true`, in ms.
    fn session(&self) -> f64 {
        let ctl = self.ssh.control.to_str().expect("utf-8 path");
        self.ssh.run_true(self.to, &["-S", ctl, "-tt"])
    }
}

impl Drop for Master<'_> {
    fn drop(&mut self) {
        let ctl = self.ssh.control.to_str().expect("utf-8 path");
        let _ = self
            .ssh
            .ssh(self.to, &["-S", ctl, "-O", "exit"])
            .stderr(Stdio::null())
            .status();
    }
}

/// `POST /api/servers/{id}/test`: wall time in ms, and each hop's own `ms`.
async fn test_server(admin: &Api, to: &Target) -> (f64, Vec<f64>) {
    let start = Instant::now();
    let report: TestReport = admin
        .post_empty(&format!("/api/servers/{}/test", to.server))
        .await
        .expect(200)
        .json();
    let took = ms(start.elapsed());
    assert!(report.ok, "test of {}: {report:?}", to.label);
    let hops = report
        .hops
        .iter()
        .map(|h| h.ms.unwrap_or(0) as f64)
        .collect();
    (took, hops)
}

/// Median ms from opening a terminal WebSocket to its `session` frame, with a first terminal
/// holding the pooled connection open; and how many logins the target's sshd saw meanwhile.
async fn warm_terminal(admin: &Api, to: &Target, sshd: &Sshd, runs: usize) -> (f64, usize) {
    let first = Terminal::open(admin, to.server).await;
    let logins = sshd.logins();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let start = Instant::now();
        let term = Terminal::open(admin, to.server).await;
        times.push(ms(start.elapsed()));
        term.close().await;
    }
    let new_logins = sshd.logins() - logins;
    first.close().await;
    (median(times), new_logins)
}

pub async fn run(
    admin: &Api,
    sshd: &Sshd,
    direct: i32,
    file: &Path,
    size: u64,
    runs: usize,
) -> Rows {
    eprintln!("bench: jump: building bastion → private → deep");
    let net = Bastion::start_deep();
    let deep_sshd = net.deep.as_ref().expect("started with a deep host");
    let bastion = admin
        .create_server(&net.bastion.key_server("bench-bastion"))
        .await
        .id;
    let mut req = net.private.key_server("bench-private");
    req.jump_via_id = Some(bastion);
    let private = admin.create_server(&req).await.id;
    let mut req = deep_sshd.key_server("bench-deep");
    req.jump_via_id = Some(private);
    let deep = admin.create_server(&req).await.id;

    let (b, p) = (net.bastion_address(), net.private_address());
    let targets = [
        Target {
            label: "direct",
            server: direct,
            address: sshd.address().to_string(),
            port: sshd.port(),
            jump: String::new(),
        },
        Target {
            label: "1 hop (bastion → private)",
            server: private,
            address: p.clone(),
            port: 22,
            jump: b.clone(),
        },
        Target {
            label: "2 hops (bastion → private → deep)",
            server: deep,
            address: deep_sshd.address().to_string(),
            port: 22,
            jump: format!("{b},{p}"),
        },
    ];
    let sshds = [sshd, &net.private, deep_sshd];
    let openssh = OpenSsh::new(None);
    let openssh_x25519 = OpenSsh::new(Some("curve25519-sha256"));

    // Warm-up: pins each host key (trust on first use) and loads the ssh binary.
    for to in &targets {
        test_server(admin, to).await;
        openssh.run_true(to, &[]);
    }

    eprintln!("bench: jump: cold sign-in ({runs} runs each)");
    let mut samples: Vec<Samples> = targets.iter().map(|_| Samples::default()).collect();
    for _ in 0..runs {
        for ((to, sample), sshd) in targets.iter().zip(samples.iter_mut()).zip(sshds) {
            let before = sshd.logins();
            let (took, per_hop) = test_server(admin, to).await;
            sample.gateway.push(took);
            sample.hops.push(per_hop);
            sample.openssh.push(openssh_x25519.run_true(to, &[]));
            sample.openssh_default_kex.push(openssh.run_true(to, &[]));
            sample.logins += sshd.logins() - before;
        }
    }
    let sign_in = targets
        .iter()
        .zip(samples)
        .map(|(to, sample)| Latency {
            label: to.label,
            gateway: median(sample.gateway),
            hops: (0..sample.hops[0].len())
                .map(|i| median(sample.hops.iter().map(|h| h[i]).collect()))
                .collect(),
            openssh: median(sample.openssh),
            openssh_default_kex: Some(median(sample.openssh_default_kex)),
            logins: sample.logins,
        })
        .collect();

    eprintln!("bench: jump: warm terminal open ({runs} runs each)");
    let mut warm = Vec::new();
    for (to, sshd) in targets.iter().zip(sshds) {
        let (gateway, logins) = warm_terminal(admin, to, sshd, runs).await;
        let master = openssh.master(to);
        let openssh_ms = median((0..runs).map(|_| master.session()).collect());
        drop(master);
        warm.push(Latency {
            label: to.label,
            gateway,
            hops: Vec::new(),
            openssh: openssh_ms,
            openssh_default_kex: None,
            logins,
        });
    }

    let mb = (size + (1 << 19)) >> 20;
    let (direct_to, hop_to) = (&targets[0], &targets[1]);
    eprintln!("bench: jump: terminal throughput, {mb} MiB ({runs} runs each)");
    let gw_direct = gateway_throughput(admin, direct, file, size, runs, false).await;
    let gw_hop = gateway_throughput(admin, private, file, size, runs, false).await;
    let openssh_rates = |to: &Target, tty: bool| {
        median(
            (0..runs)
                .map(|_| openssh.cat(to, file, size, tty))
                .collect(),
        )
    };
    let term_direct = (
        openssh_rates(direct_to, false),
        openssh_rates(direct_to, true),
    );
    let term_hop = (openssh_rates(hop_to, false), openssh_rates(hop_to, true));

    eprintln!("bench: jump: SFTP download, {mb} MiB ({runs} runs each)");
    let path = file.to_str().expect("utf-8 path");
    let mut rates = [(); 4].map(|_| Vec::new());
    for _ in 0..runs {
        for (i, to) in [direct_to, hop_to].into_iter().enumerate() {
            let url = Files::new(admin, to.server).url("download", &[path]);
            let start = Instant::now();
            assert_eq!(download(admin, &url).await, size);
            rates[2 * i].push(size as f64 / start.elapsed().as_secs_f64() / 1e6);
            rates[2 * i + 1].push(openssh.sftp_get(to, file, size));
        }
    }
    let [a, b, c, d] = rates.map(median);

    Rows {
        mb,
        runs,
        sign_in,
        warm,
        term_gateway: (gw_direct, gw_hop),
        term_direct,
        term_hop,
        sftp_direct: (a, b),
        sftp_hop: (c, d),
    }
}

pub fn print(rows: &Rows) {
    let runs = rows.runs;
    for (i, row) in rows.sign_in.iter().enumerate() {
        let hops: Vec<String> = row.hops.iter().map(|h| format!("{h:.0}")).collect();
        let (what, ssh) = match i {
            0 => (
                "sign-in, cold, direct: `POST /api/servers/{id}/test` wall time (TCP, key exchange, \
                 host-key check, auth at each hop); OpenSSH: the same plus a session running `true`",
                "`ssh host true`",
            ),
            1 => (
                "sign-in, cold, 1 hop (bastion → private)",
                "`ssh -J bastion private true`",
            ),
            _ => (
                "sign-in, cold, 2 hops (bastion → private → deep)",
                "`ssh -J bastion,private deep true`",
            ),
        };
        // The gateway's test and both `ssh` runs each sign in afresh.
        let logins = if row.logins == 3 * runs {
            String::new()
        } else {
            format!(
                " [{} logins at the target, expected {}]",
                row.logins,
                3 * runs
            )
        };
        println!(
            "| {what}{logins} | {:.1} ms (per hop {} ms) | {:.1} ms ({ssh}, curve25519 as the gateway negotiates; {:.1} ms with OpenSSH's default sntrup761x25519) | {} | (context) |",
            row.gateway,
            hops.join(" / "),
            row.openssh,
            row.openssh_default_kex.unwrap_or(f64::NAN),
            signed_ms(row.gateway - row.openssh, 1)
        );
    }
    for row in &rows.warm {
        let logins = if row.logins == 0 {
            String::new()
        } else {
            format!(" [{} new logins: not warm]", row.logins)
        };
        println!(
            "| terminal open, warm, {}: WebSocket upgrade → `session` frame, pooled connection{logins} | {:.1} ms | {:.1} ms (ControlMaster: `ssh -S ctl -tt host true`) | {} | (context) |",
            row.label,
            row.gateway,
            row.openssh,
            signed_ms(row.gateway - row.openssh, 1)
        );
    }
    let mb = rows.mb;
    let (gw_direct, gw_hop) = rows.term_gateway;
    let (ssh_direct, ssh_direct_tty) = rows.term_direct;
    let (ssh_hop, ssh_hop_tty) = rows.term_hop;
    println!(
        "| terminal output, direct (`cat` of {mb} MiB; reference for the rows below) | {gw_direct:.0} MB/s | {ssh_direct_tty:.0} MB/s (`ssh -tt host cat`; {ssh_direct:.0} MB/s without `-tt`) | {:.0} % | (context) |",
        100.0 * gw_direct / ssh_direct_tty
    );
    println!(
        "| terminal output through the bastion (1 hop) | {gw_hop:.0} MB/s ({:.0} % of direct) | {ssh_hop_tty:.0} MB/s (`ssh -tt -J bastion private cat`) | {:.0} % | (context) |",
        100.0 * gw_hop / gw_direct,
        100.0 * gw_hop / ssh_hop_tty
    );
    println!(
        "| the same, against `ssh -J` without a PTY | {gw_hop:.0} MB/s | {ssh_hop:.0} MB/s (`ssh -J bastion private cat`) | {:.0} % | (context) |",
        100.0 * gw_hop / ssh_hop
    );
    let (gw, ssh) = rows.sftp_direct;
    println!(
        "| SFTP download over HTTP, direct ({mb} MiB text file; reference) | {gw:.0} MB/s | {ssh:.0} MB/s (`sftp` get) | {:.0} % | (context) |",
        100.0 * gw / ssh
    );
    let (gw_h, ssh_h) = rows.sftp_hop;
    println!(
        "| SFTP download over HTTP through the bastion (1 hop) | {gw_h:.0} MB/s ({:.0} % of direct) | {ssh_h:.0} MB/s (`sftp -J bastion` get) | {:.0} % | (context) |",
        100.0 * gw_h / gw,
        100.0 * gw_h / ssh_h
    );
}

/// `GATEHOUSE_BENCH_ONLY=jump`: these rows alone, against a gateway of their own.
pub async fn only(binary: PathBuf, mb: usize, runs: usize) {
    let sshd = Sshd::start();
    let mut gh = Gatehouse::start_with(Options {
        binary: Some(binary),
        ..Options::default()
    })
    .await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.key_server("bench")).await.id;
    let dir = tempfile::Builder::new()
        .prefix("gatehouse-bench-")
        .tempdir()
        .expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    eprintln!("bench: writing a {mb} MiB file");
    let (file, size) = make_file(dir.path(), mb);
    let rows = run(&admin, &sshd, server, &file, size, runs).await;
    gh.terminate();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!();
    println!("Jump hosts only; {cores} cores; {mb} MiB file; median of {runs} runs.");
    println!();
    println!("| what | Gatehouse | OpenSSH (same run) | Gatehouse vs OpenSSH | target |");
    println!("|---|---|---|---|---|");
    print(&rows);
}
