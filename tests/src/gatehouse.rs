//! The real `gatehouse` binary, one per test: its own data directory, its own loopback port,
//! SQLite or a fresh PostgreSQL database, and its output in a log file that is printed when the
//! test fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

use tempfile::TempDir;
use tokio::time::{sleep, Instant};

use crate::api::Api;
use crate::postgres::{self, PgDatabase};
use crate::process::{die_with_parent, log_to, stop};

/// The initial admin password the fixture sets with `GATEHOUSE_ADMIN_PASSWORD`.
pub const ADMIN_PASSWORD: &str = "admin-test-Passw0rd-0451";

/// Where the gateway keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// The default: `<data_dir>/gatehouse.db` in WAL mode.
    Sqlite,
    /// A fresh database in the shared test cluster, via `GATEHOUSE_DATABASE_URL`.
    Postgres,
}

/// How to start the gateway.
#[derive(Debug, Clone)]
pub struct Options {
    /// `GATEHOUSE_ADMIN_PASSWORD`; `None` lets the gateway generate and print one.
    pub admin_password: Option<String>,
    pub storage: Storage,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// The binary; the debug build by default.
    pub binary: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            admin_password: Some(ADMIN_PASSWORD.to_string()),
            storage: Storage::Sqlite,
            env: Vec::new(),
            binary: None,
        }
    }
}

/// A running gateway.
pub struct Gatehouse {
    work: TempDir,
    port: u16,
    child: Option<Child>,
    pg: Option<PgDatabase>,
    options: Options,
    binary: PathBuf,
}

impl Gatehouse {
    /// SQLite, admin password [`ADMIN_PASSWORD`].
    pub async fn start() -> Gatehouse {
        Self::start_with(Options::default()).await
    }

    /// Default options on the given storage.
    pub async fn start_on(storage: Storage) -> Gatehouse {
        Self::start_with(Options {
            storage,
            ..Options::default()
        })
        .await
    }

    /// Default options plus `env`.
    pub async fn start_env(env: &[(&str, &str)]) -> Gatehouse {
        Self::start_with(Options {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Options::default()
        })
        .await
    }

    pub async fn start_with(options: Options) -> Gatehouse {
        let binary = options
            .binary
            .clone()
            .unwrap_or_else(|| crate::binary::gatehouse_binary().to_path_buf());
        let work = tempfile::Builder::new()
            .prefix("gatehouse-test-")
            .tempdir()
            .expect("gatehouse tempdir");
        fs::create_dir(work.path().join("data")).expect("mkdir data");
        let pg = match options.storage {
            Storage::Sqlite => None,
            Storage::Postgres => Some(postgres::create_database()),
        };
        let mut gh = Gatehouse {
            work,
            port: 0,
            child: None,
            pg,
            options,
            binary,
        };
        gh.launch(None).await;
        gh
    }

    /// Runs SQL on the gateway's PostgreSQL database (only on `Storage::Postgres`).
    pub fn psql(&self, sql: &str) -> String {
        self.pg
            .as_ref()
            .expect("psql needs a gateway on PostgreSQL")
            .psql(sql)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn storage(&self) -> Storage {
        self.options.storage
    }

    /// PID of the running gateway.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("gatehouse is running").id()
    }

    /// `GATEHOUSE_DATA_DIR`.
    pub fn data_dir(&self) -> PathBuf {
        self.work.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.work.path().join("gatehouse.log")
    }

    /// Everything the gateway printed (stdout and stderr), across restarts.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `GATEHOUSE_ROOT_PATH` as given in the options' environment, without a trailing slash
    /// (`""` at the root).
    pub fn root_path(&self) -> String {
        self.options
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "GATEHOUSE_ROOT_PATH")
            .map(|(_, v)| v.trim_end_matches('/').to_string())
            .unwrap_or_default()
    }

    /// An unauthenticated client; under a root path its request paths are taken below it.
    pub fn api(&self) -> Api {
        Api::new(&format!("{}{}", self.base_url(), self.root_path()))
    }

    /// A bearer client signed in as `admin`.
    pub async fn admin(&self) -> Api {
        let password = self
            .options
            .admin_password
            .clone()
            .expect("admin() needs a known admin password");
        self.api().login("admin", &password).await.bearer
    }

    /// The password from the `initial admin password: <password>` line, if printed.
    pub fn initial_admin_password(&self) -> Option<String> {
        let log = self.log();
        let marker = "initial admin password:";
        let at = log.find(marker)?;
        let rest = &log[at + marker.len()..];
        rest.split_whitespace().next().map(|p| {
            p.trim_matches(|c| c == '"' || c == '\'' || c == '\\' || c == ',')
                .to_string()
        })
    }

    /// How often the log shows an initial admin password line.
    pub fn initial_admin_password_lines(&self) -> usize {
        self.log().matches("initial admin password:").count()
    }

    /// Whether `needle` occurs anywhere in the stored data: the SQLite database files (main,
    /// WAL, shared memory) or a full dump of the PostgreSQL database.
    pub fn storage_contains(&self, needle: &[u8]) -> bool {
        match &self.pg {
            Some(db) => crate::contains(&db.dump(), needle),
            None => {
                let files = self.sqlite_files();
                assert!(
                    !files.is_empty(),
                    "no gatehouse.db in {}",
                    self.data_dir().display()
                );
                files
                    .iter()
                    .any(|f| crate::contains(&fs::read(f).unwrap_or_default(), needle))
            }
        }
    }

    /// `gatehouse.db` and whichever of `-wal` / `-shm` exist.
    pub fn sqlite_files(&self) -> Vec<PathBuf> {
        ["gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm"]
            .iter()
            .map(|n| self.data_dir().join(n))
            .filter(|p| p.exists())
            .collect()
    }

    /// `VmRSS` of the gateway, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("read status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Send SIGTERM and wait (up to 20 s, then SIGKILL). Returns the exit status and whether it
    /// stopped by itself.
    pub fn terminate(&mut self) -> (ExitStatus, bool) {
        let mut child = self.child.take().expect("gatehouse is running");
        stop(&mut child, libc::SIGTERM, Duration::from_secs(20))
    }

    /// Send a signal to the gateway without waiting.
    pub fn signal(&self, sig: libc::c_int) {
        crate::process::signal(self.pid(), sig);
    }

    /// Wait (async, up to `WAIT`) for the gateway to exit after a signal; `None` if it did not.
    pub async fn wait_exit(&mut self) -> Option<ExitStatus> {
        let deadline = Instant::now() + crate::WAIT;
        let child = self.child.as_mut().expect("gatehouse is running");
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stop (SIGTERM) and start again on the same data directory and database.
    pub async fn restart(&mut self) {
        if self.child.is_some() {
            let (status, by_itself) = self.terminate();
            assert!(
                by_itself && status.success(),
                "gatehouse did not stop cleanly on SIGTERM ({status}):\n{}",
                crate::tail(&self.log(), 6000)
            );
        }
        let port = self.port;
        self.launch(Some(port)).await;
    }

    /// The gateway binary with this gateway's settings (data directory, database, `env`) and
    /// `subcommand`, e.g. `serve`, or `audit` for `cmd.arg("verify")`.
    pub fn command(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new(&self.binary);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GATEHOUSE_") {
                cmd.env_remove(key);
            }
        }
        cmd.arg(subcommand)
            .current_dir(self.work.path())
            .env("GATEHOUSE_BIND", format!("127.0.0.1:{}", self.port))
            .env("GATEHOUSE_DATA_DIR", self.data_dir())
            .env("GATEHOUSE_LOG_FORMAT", "pretty")
            // The connectivity monitor's probes log in to bastions and show up in sshd's
            // connection counts; tests that exercise it turn it on through `env`.
            .env("GATEHOUSE_MONITOR_ENABLED", "false")
            .env("NO_COLOR", "1");
        if let Some(pw) = &self.options.admin_password {
            cmd.env("GATEHOUSE_ADMIN_PASSWORD", pw);
        }
        if let Some(db) = &self.pg {
            cmd.env("GATEHOUSE_DATABASE_URL", db.url());
        }
        for (k, v) in &self.options.env {
            cmd.env(k, v);
        }
        cmd
    }

    async fn launch(&mut self, mut port: Option<u16>) {
        for _attempt in 0..4 {
            self.port = port.take().unwrap_or_else(crate::free_port);
            let log_start = self.log().len();
            let mut cmd = self.command("serve");
            log_to(&mut cmd, &self.log_path());
            die_with_parent(&mut cmd);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", self.binary.display()));
            self.child = Some(child);
            match self.wait_ready().await {
                Ready::Yes => return,
                Ready::Exited(status) => {
                    self.child = None;
                    let new_output = self.log()[log_start..].to_string();
                    if new_output.contains("in use") {
                        continue; // another test took the port: try another
                    }
                    panic!(
                        "gatehouse exited before it was ready ({status}):\n{}",
                        crate::tail(&new_output, 8000)
                    );
                }
                Ready::TimedOut => panic!(
                    "gatehouse was not healthy within {:?}:\n{}",
                    crate::WAIT,
                    crate::tail(&self.log(), 8000)
                ),
            }
        }
        panic!(
            "gatehouse could not bind a free port:\n{}",
            crate::tail(&self.log(), 4000)
        );
    }

    async fn wait_ready(&mut self) -> Ready {
        let client = reqwest::Client::new();
        let url = format!("{}{}/api/health", self.base_url(), self.root_path());
        let deadline = Instant::now() + crate::WAIT;
        loop {
            if let Ok(Some(status)) = self.child.as_mut().expect("child").try_wait() {
                return Ready::Exited(status);
            }
            let health = client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(resp) = health {
                if resp.status().is_success() {
                    return Ready::Yes;
                }
            }
            if Instant::now() > deadline {
                return Ready::TimedOut;
            }
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// The work directory (data dir and log).
    pub fn work_dir(&self) -> &Path {
        self.work.path()
    }
}

enum Ready {
    Yes,
    Exited(ExitStatus),
    TimedOut,
}

impl Drop for Gatehouse {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, libc::SIGTERM, Duration::from_secs(10));
        }
        if std::thread::panicking() {
            eprintln!(
                "----- gatehouse log ({}) -----\n{}",
                self.base_url(),
                crate::tail(&self.log(), 12000)
            );
        }
    }
}
