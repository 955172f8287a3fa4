//! A real PostgreSQL: one cluster per test binary (initdb costs seconds), one database per test.
//!
//! PostgreSQL refuses to run as root, so `initdb` and `postgres` run as the `postgres` account.
//! The server is spawned from the long-lived fixture thread (it must not die with the first test's
//! thread) and stopped, with its directory removed, when the test binary exits.

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{log_to, run, spawn_from_long_lived_thread};

/// Where the PostgreSQL 15 server binaries are (Debian's layout).
pub const BIN: &str = "/usr/lib/postgresql/15/bin";
const SUPERUSER_PASSWORD: &str = "gatehouse-pg-test-pw";

/// The cluster shared by every test in this binary.
pub struct PgCluster {
    root: PathBuf,
    port: u16,
}

/// One database for one test; dropped (forcibly) when the test ends.
pub struct PgDatabase {
    name: String,
    port: u16,
    socket_dir: PathBuf,
}

impl PgDatabase {
    /// `postgres://…@127.0.0.1:PORT/NAME`, for `GATEHOUSE_DATABASE_URL`.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{}/{}",
            self.port, self.name
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Run SQL in this database with `psql` and return what it printed (unaligned, tuples only).
    pub fn psql(&self, sql: &str) -> String {
        psql(&self.socket_dir, self.port, &self.name, sql)
    }

    /// A plain-SQL dump of the whole database (schema and data), to look for leaked secrets.
    pub fn dump(&self) -> Vec<u8> {
        let out = Command::new(format!("{BIN}/pg_dump"))
            .arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", "postgres", "--no-owner"])
            .arg(&self.name)
            .output()
            .expect("run pg_dump");
        assert!(
            out.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new(format!("{BIN}/psql"))
            .arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", "postgres", "-d", "postgres", "-q", "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

/// A fresh, empty database in the shared cluster.
pub fn create_database() -> PgDatabase {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let cluster = cluster();
    let name = format!(
        "gatehouse_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let socket_dir = cluster.root.join("socket");
    psql(
        &socket_dir,
        cluster.port,
        "postgres",
        &format!("CREATE DATABASE \"{name}\""),
    );
    PgDatabase {
        name,
        port: cluster.port,
        socket_dir,
    }
}

fn psql(socket_dir: &Path, port: u16, db: &str, sql: &str) -> String {
    run(Command::new(format!("{BIN}/psql"))
        .arg("-h")
        .arg(socket_dir)
        .arg("-p")
        .arg(port.to_string())
        .args(["-U", "postgres", "-d", db, "-X", "-A", "-t", "-q"])
        .args(["-v", "ON_ERROR_STOP=1", "-c", sql]))
}

/// The shared cluster, started on first use.
pub fn cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<Result<PgCluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(start_cluster) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// PID of the postmaster and its directory, for the exit hook.
static RUNNING: Mutex<Option<(u32, PathBuf)>> = Mutex::new(None);

extern "C" fn stop_cluster_at_exit() {
    let Ok(mut guard) = RUNNING.lock() else {
        return;
    };
    if let Some((pid, root)) = guard.take() {
        // SIGQUIT = immediate shutdown: nothing here needs to survive.
        crate::process::signal(pid, libc::SIGQUIT);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let mut status = 0;
            // SAFETY: waitpid on our own child.
            let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
            if r != 0 {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = fs::remove_dir_all(root);
    }
}

fn postgres_ids() -> Result<(u32, u32), String> {
    let name = CString::new("postgres").expect("cstring");
    // SAFETY: getpwnam returns a pointer to static storage, read at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err("there is no `postgres` account: install the postgresql package".into());
    }
    // SAFETY: non-null, points to a valid passwd struct.
    unsafe { Ok(((*pw).pw_uid, (*pw).pw_gid)) }
}

fn as_postgres(cmd: &mut Command, uid: u32, gid: u32) -> &mut Command {
    cmd.uid(uid).gid(gid).env("HOME", "/var/lib/postgresql")
}

fn start_cluster() -> Result<PgCluster, String> {
    if !Path::new(BIN).join("postgres").exists() {
        return Err(format!(
            "{BIN}/postgres is missing: install PostgreSQL 15 (bash scripts/test.sh does)"
        ));
    }
    let (uid, gid) = postgres_ids()?;
    let root = tempfile::Builder::new()
        .prefix("gatehouse-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let chown = |p: &Path| std::os::unix::fs::chown(p, Some(uid), Some(gid));
    let data = root.join("data");
    let socket = root.join("socket");
    for dir in [&data, &socket] {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
        chown(dir).map_err(|e| e.to_string())?;
    }
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    let pwfile = root.join("pwfile");
    fs::write(&pwfile, SUPERUSER_PASSWORD).map_err(|e| e.to_string())?;
    chown(&pwfile).map_err(|e| e.to_string())?;
    let log = root.join("postgres.log");
    fs::write(&log, "").map_err(|e| e.to_string())?;
    chown(&log).map_err(|e| e.to_string())?;

    let initdb = as_postgres(&mut Command::new(format!("{BIN}/initdb")), uid, gid)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .args([
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .output()
        .map_err(|e| format!("run initdb: {e}"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&initdb.stdout),
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }

    // SAFETY: registering a plain extern "C" fn.
    unsafe {
        libc::atexit(stop_cluster_at_exit);
    }
    let mut last_log = String::new();
    for _ in 0..5 {
        let port = crate::free_port();
        let mut cmd = Command::new(format!("{BIN}/postgres"));
        as_postgres(&mut cmd, uid, gid)
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(&socket)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=300"]);
        log_to(&mut cmd, &log);
        let mut child =
            spawn_from_long_lived_thread(cmd).map_err(|e| format!("spawn postgres: {e}"))?;
        *RUNNING.lock().expect("lock") = Some((child.id(), root.clone()));
        let deadline = Instant::now() + crate::WAIT;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            let ready = Command::new(format!("{BIN}/pg_isready"))
                .arg("-h")
                .arg(&socket)
                .arg("-p")
                .arg(port.to_string())
                .arg("-q")
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                // The Child handle is dropped without waiting: the exit hook reaps it by PID.
                return Ok(PgCluster { root, port });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        *RUNNING.lock().expect("lock") = None;
        last_log = fs::read_to_string(&log).unwrap_or_default();
    }
    Err(format!("postgres did not start:\n{last_log}"))
}
