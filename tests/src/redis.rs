//! A real `redis-server` per test, on a loopback port of its own, with a password (as production
//! Redis should have) and no persistence. Stopping and restarting it on the same port is how a
//! test makes the gateway meet a Redis that went away and came back.

use std::fs;
use std::process::{Child, Command};
use std::time::Duration;

use tempfile::TempDir;

use crate::process::{die_with_parent, log_says, log_to, relaunch, run, spawn_until_ready, stop};

/// `requirepass` of every test Redis.
pub const REDIS_PASSWORD: &str = "gh-redis-pw-Corr3ct-Horse";

/// A running redis-server on `127.0.0.1:port()`.
pub struct Redis {
    dir: TempDir,
    port: u16,
    child: Option<Child>,
}

impl Redis {
    /// Start a Redis on a free loopback port.
    pub fn start() -> Redis {
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-redis-")
            .tempdir()
            .expect("redis tempdir");
        let mut redis = Redis {
            dir,
            port: 0,
            child: None,
        };
        for _ in 0..10 {
            redis.port = crate::free_port();
            if redis.launch() {
                return redis;
            }
        }
        panic!("redis-server did not start:\n{}", redis.log());
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://default:PASSWORD@127.0.0.1:PORT/1`: user, password and a database other than 0,
    /// as a shared deployment would spell it.
    pub fn url(&self) -> String {
        format!("redis://default:{REDIS_PASSWORD}@127.0.0.1:{}/1", self.port)
    }

    /// What redis-server printed.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// Runs `redis-cli` against database 1 with `args`; returns its output, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        run(Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args(["-a", REDIS_PASSWORD, "--no-auth-warning", "-n", "1"])
            .args(args))
        .trim()
        .to_string()
    }

    /// Stop Redis, as a crashed one would look: its port refuses connections until
    /// [`Redis::restart`]. Its (unpersisted) data is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, libc::SIGKILL, Duration::from_secs(10));
        }
    }

    /// Start Redis again, empty, on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let what = format!("redis-server on port {}", self.port);
        relaunch(&what, self, Self::launch, |s| s.log());
    }

    /// Start redis-server on `self.port`; false if it exited at once (port taken).
    fn launch(&mut self) -> bool {
        let log = self.dir.path().join("redis.log");
        let _ = fs::write(&log, "");
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--requirepass", REDIS_PASSWORD])
            .arg("--dir")
            .arg(self.dir.path());
        log_to(&mut cmd, &log);
        die_with_parent(&mut cmd);
        self.child = spawn_until_ready(&mut cmd, Duration::from_millis(5), || {
            log_says(&log, "Ready to accept connections")
        });
        self.child.is_some()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "----- redis log (port {}) -----\n{}",
                self.port,
                crate::tail(&self.log(), 4000)
            );
        }
    }
}
