//! Child processes that never outlive their test.
//!
//! Per-test fixtures stop their process in `Drop` (signal, then wait). If the test binary dies
//! without unwinding, `PR_SET_PDEATHSIG` kills the child when the thread that spawned it exits —
//! which is why shared fixtures spawn from [`spawn_from_long_lived_thread`], not from a test's own
//! thread.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Make the child receive SIGKILL when the spawning thread exits.
pub fn die_with_parent(cmd: &mut Command) -> &mut Command {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Send both stdout and stderr of `cmd` to the file at `path` (appending, so the two never
/// overwrite each other's lines).
pub fn log_to<'a>(cmd: &'a mut Command, path: &Path) -> &'a mut Command {
    let open = || -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|e| panic!("open log {}: {e}", path.display()))
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(open()))
        .stderr(Stdio::from(open()))
}

/// Signal a process by PID.
pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: plain syscall on a PID we own.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Wait up to `grace` for `child` to exit; `None` if it is still running.
pub fn wait_timeout(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Ok(None) => return None,
            Err(_) => return None,
        }
    }
}

/// Ask the child to stop with `sig`, give it `grace`, then SIGKILL. Returns the status it exited
/// with and whether it stopped within the grace period.
pub fn stop(child: &mut Child, sig: libc::c_int, grace: Duration) -> (ExitStatus, bool) {
    if let Ok(Some(status)) = child.try_wait() {
        return (status, true);
    }
    signal(child.id(), sig);
    if let Some(status) = wait_timeout(child, grace) {
        return (status, true);
    }
    let _ = child.kill();
    let status = child.wait().expect("wait for a killed child");
    (status, false)
}

type SpawnJob = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawn `cmd` (with [`die_with_parent`]) from one thread that lives as long as the test binary,
/// so a shared service is killed when the binary exits, not when the first test's thread ends.
pub fn spawn_from_long_lived_thread(mut cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        thread::Builder::new()
            .name("fixture-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // The sender lives in a static, so this loop never ends while the binary runs.
            })
            .expect("start the fixture spawner thread");
        Mutex::new(tx)
    });
    die_with_parent(&mut cmd);
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .lock()
        .expect("spawner lock")
        .send((cmd, reply_tx))
        .expect("spawner thread alive");
    reply_rx.recv().expect("spawner thread replies")
}

/// Run a short command to completion; panic with its output if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed with {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Spawns `cmd` (logging and dying with its parent as set up by the caller) and waits up to
/// [`crate::WAIT`] until `ready()` says it serves. `None` if it exited first (its port was
/// taken, say) or never got ready; then nothing is left running.
pub fn spawn_until_ready(
    cmd: &mut Command,
    poll: Duration,
    mut ready: impl FnMut() -> bool,
) -> Option<Child> {
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    let deadline = Instant::now() + crate::WAIT;
    loop {
        if ready() {
            return Some(child);
        }
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(poll);
    }
}

/// Whether the file at `log` contains `line` yet (a server's "listening" message).
pub fn log_says(log: &Path, line: &str) -> bool {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(line)
}

/// Calls `launch` on `fixture` until it succeeds, for up to 10 s: a restarted server may find
/// its old port still held for a moment. Panics with `what` and the fixture's `log` when it never
/// comes back.
pub fn relaunch<T>(
    what: &str,
    fixture: &mut T,
    launch: impl Fn(&mut T) -> bool,
    log: impl Fn(&T) -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !launch(fixture) {
        assert!(
            Instant::now() < deadline,
            "{what} did not restart:\n{}",
            log(fixture)
        );
        thread::sleep(Duration::from_millis(100));
    }
}
