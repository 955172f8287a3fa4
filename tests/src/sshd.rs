//! A real OpenSSH `sshd` per test, on a loopback port of its own, and the local account tests log
//! in as.
//!
//! sshd runs as root (as non-root it cannot allocate PTYs for other users), in the foreground
//! (`-D`, so the child PID is the listener) with its host key, config and authorized keys in a
//! temporary directory. Swapping the host key and restarting on the same port is how a test makes
//! the gateway meet a re-imaged host or a man in the middle.
//!
//! [`Sshd::start_in`] runs one inside a network namespace instead (see [`crate::netns`]), bound
//! to that namespace's own address on port 22.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use tempfile::TempDir;
use wire::servers::{AuthMethod, ServerRequest};

use crate::process::{die_with_parent, log_says, log_to, relaunch, run, spawn_until_ready, stop};

/// The local account every test signs in to over SSH.
pub const TEST_USER: &str = "gatehouse-test";
/// Its password (set at every test-binary start, so a changed password heals itself).
pub const TEST_PASSWORD: &str = "gh-ssh-pw-Tr0ub4dor-3";
/// The passphrase protecting [`TestUser::encrypted_private_key`].
pub const KEY_PASSPHRASE: &str = "gh-key-passphrase-42";

/// The test account and the key pairs authorised for it.
#[derive(Debug)]
pub struct TestUser {
    pub name: &'static str,
    pub password: &'static str,
    /// An unencrypted ed25519 private key in OpenSSH format.
    pub private_key: String,
    /// An ed25519 private key encrypted with [`KEY_PASSPHRASE`].
    pub encrypted_private_key: String,
    /// The `authorized_keys` lines for both keys.
    pub authorized_keys: String,
}

impl TestUser {
    /// One line from the middle of the unencrypted private key's base64 body: if it shows up in
    /// a file, the key is stored in plaintext.
    pub fn private_key_body_line(&self) -> &str {
        body_line(&self.private_key)
    }

    /// The same for the encrypted key.
    pub fn encrypted_private_key_body_line(&self) -> &str {
        body_line(&self.encrypted_private_key)
    }
}

fn body_line(pem: &str) -> &str {
    let lines: Vec<&str> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 60)
        .collect();
    lines.get(1).or(lines.first()).expect("a key body line")
}

/// Create (idempotently) the test account and generate its key pairs, once per test binary.
pub fn test_user() -> &'static TestUser {
    static USER: OnceLock<TestUser> = OnceLock::new();
    USER.get_or_init(|| {
        // Several test binaries (tests and bench) may do this at once: serialise on a file lock.
        let _lock = FileLock::acquire(Path::new("/tmp/gatehouse-tests-useradd.lock"));
        ensure_account();
        let dir = tempfile::tempdir().expect("tempdir for keys");
        let plain = dir.path().join("id_ed25519");
        let encrypted = dir.path().join("id_ed25519_enc");
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C"])
            .arg("gatehouse-test-plain")
            .arg("-f")
            .arg(&plain));
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", KEY_PASSPHRASE, "-C"])
            .arg("gatehouse-test-encrypted")
            .arg("-f")
            .arg(&encrypted));
        let read = |p: &Path| fs::read_to_string(p).expect("read generated key");
        TestUser {
            name: TEST_USER,
            password: TEST_PASSWORD,
            private_key: read(&plain),
            encrypted_private_key: read(&encrypted),
            authorized_keys: format!(
                "{}{}",
                read(&plain.with_extension("pub")),
                read(&encrypted.with_extension("pub"))
            ),
        }
    })
}

fn ensure_account() {
    let exists = Command::new("id")
        .arg("-u")
        .arg(TEST_USER)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !exists {
        run(Command::new("useradd").args(["-m", "-s", "/bin/bash", TEST_USER]));
    } else {
        run(Command::new("usermod").args(["-s", "/bin/bash", TEST_USER]));
    }
    let mut chpasswd = Command::new("sh");
    chpasswd
        .arg("-c")
        .arg(format!("echo '{TEST_USER}:{TEST_PASSWORD}' | chpasswd"));
    run(&mut chpasswd);
}

/// An exclusive `flock` held until drop.
pub(crate) struct FileLock(fs::File);

impl FileLock {
    pub(crate) fn acquire(path: &Path) -> FileLock {
        use std::os::fd::AsRawFd;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .expect("open lock file");
        // SAFETY: flock on a descriptor we own.
        unsafe {
            libc::flock(file.as_raw_fd(), libc::LOCK_EX);
        }
        FileLock(file)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// A running sshd on `address():port()`.
pub struct Sshd {
    dir: TempDir,
    /// The network namespace it runs in; `None` for the root namespace.
    netns: Option<String>,
    address: String,
    port: u16,
    /// Appended to the generated `sshd_config`.
    extra_config: String,
    child: Option<Child>,
}

impl Sshd {
    /// Start an sshd on a free loopback port that accepts the test user by password and by
    /// either key.
    pub fn start() -> Sshd {
        Sshd::start_with("")
    }

    /// [`Sshd::start`] with `extra_config` appended to `sshd_config` (e.g. `MaxSessions 2`).
    pub fn start_with(extra_config: &str) -> Sshd {
        let mut sshd = Sshd::prepare(None, "127.0.0.1", extra_config);
        for _ in 0..10 {
            sshd.port = crate::free_port();
            if sshd.launch() {
                return sshd;
            }
        }
        panic!("sshd did not start:\n{}", sshd.log());
    }

    /// Start the same sshd inside the network namespace `netns`, listening on `address:22` (an
    /// address of that namespace, so the port is its own). `extra_config` is appended to
    /// `sshd_config`, ahead of the defaults so it wins (e.g. `PermitOpen …`).
    pub fn start_in(netns: &str, address: &str, extra_config: &str) -> Sshd {
        let mut sshd = Sshd::prepare(Some(netns), address, extra_config);
        sshd.port = 22;
        if !sshd.launch() {
            panic!(
                "sshd did not start in netns {netns} on {address}:\n{}",
                sshd.log()
            );
        }
        sshd
    }

    /// The temporary directory with the account's authorized keys and a fresh host key.
    fn prepare(netns: Option<&str>, address: &str, extra_config: &str) -> Sshd {
        let user = test_user();
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-sshd-")
            .tempdir()
            .expect("sshd tempdir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
        fs::set_permissions("/run/sshd", fs::Permissions::from_mode(0o755)).expect("chmod");
        let authkeys = dir.path().join("authkeys");
        fs::create_dir(&authkeys).expect("mkdir authkeys");
        fs::write(authkeys.join(TEST_USER), &user.authorized_keys).expect("write authorized keys");
        let sshd = Sshd {
            dir,
            netns: netns.map(str::to_string),
            address: address.to_string(),
            port: 0,
            extra_config: extra_config.to_string(),
            child: None,
        };
        sshd.generate_host_key();
        sshd
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address it listens on (and the hostname its server registrations use).
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The sshd log (stderr, `-e`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// `SHA256:…` of the host key sshd presents now.
    pub fn host_key_fingerprint(&self) -> String {
        let out = run(Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(self.host_key_path().with_extension("pub")));
        out.split_whitespace()
            .nth(1)
            .expect("ssh-keygen -l prints a fingerprint")
            .to_string()
    }

    /// Give sshd a brand-new host key and restart it on the same port, as a re-imaged host (or a
    /// man in the middle) would look: established connections are gone too.
    pub fn replace_host_key(&mut self) {
        self.kill_connections();
        self.shutdown();
        self.generate_host_key();
        self.restart();
    }

    /// Stop sshd, as a host that went down would look: its port refuses connections until
    /// [`Sshd::restart`].
    pub fn stop(&mut self) {
        self.shutdown();
    }

    /// Start sshd again on the same port, with the same host key (unless it was replaced).
    pub fn restart(&mut self) {
        self.shutdown();
        let what = format!("sshd on {}:{}", self.address, self.port);
        relaunch(&what, self, Self::launch, |s| s.log());
    }

    /// How many connections this sshd is serving now: its per-connection processes.
    pub fn connections(&self) -> usize {
        let listener = self.listener_pid();
        parent_pids()
            .iter()
            .filter(|(_, ppid)| *ppid == listener)
            .count()
    }

    /// How many logins this sshd has accepted so far, from its log.
    pub fn logins(&self) -> usize {
        self.log().matches("Accepted ").count()
    }

    /// Drop every connection this sshd is serving, as a crash or a network cut would: SIGKILL the
    /// per-connection processes. The listener keeps accepting. Returns how many were killed.
    pub fn kill_connections(&self) -> usize {
        self.signal_connections(libc::SIGKILL)
    }

    /// Freeze every connection this sshd is serving (SIGSTOP), as a hung host would: nothing is
    /// read, answered or acknowledged any more, yet the TCP connections stay open. Returns how
    /// many processes were stopped.
    pub fn freeze_connections(&self) -> usize {
        self.signal_connections(libc::SIGSTOP)
    }

    /// Signal the per-connection processes (`sshd -D` forks one per connection, which forks
    /// again): this listener's descendants only, never another test's sshd.
    fn signal_connections(&self, sig: libc::c_int) -> usize {
        let parents = parent_pids();
        let mut tree = vec![self.listener_pid()];
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i];
            tree.extend(
                parents
                    .iter()
                    .filter(|(_, ppid)| *ppid == parent)
                    .map(|(pid, _)| *pid),
            );
            i += 1;
        }
        let connections = &tree[1..];
        for pid in connections {
            crate::process::signal(*pid, sig);
        }
        connections.len()
    }

    /// A server registration for this sshd that signs in with the test user's password.
    pub fn password_server(&self, name: &str) -> ServerRequest {
        let mut req = self.server(name);
        req.auth_method = AuthMethod::Password;
        req.password = Some(TEST_PASSWORD.to_string());
        req
    }

    /// A server registration for this sshd that signs in with the test user's unencrypted key.
    pub fn key_server(&self, name: &str) -> ServerRequest {
        let mut req = self.server(name);
        req.auth_method = AuthMethod::Key;
        req.private_key = Some(test_user().private_key.clone());
        req
    }

    fn server(&self, name: &str) -> ServerRequest {
        ServerRequest {
            name: name.to_string(),
            hostname: self.address.clone(),
            port: self.port,
            username: TEST_USER.to_string(),
            auth_method: AuthMethod::Password,
            password: None,
            private_key: None,
            passphrase: None,
            group: None,
            tags: Vec::new(),
            description: String::new(),
            jump_via_id: None,
            ssh_enabled: None,
            sftp_enabled: None,
            sftp_read_only: None,
            sftp_allowed_paths: None,
            record_sessions: None,
        }
    }

    /// The unencrypted private key as a file (mode 0600), for OpenSSH's client.
    pub fn private_key_file(&self) -> PathBuf {
        let path = self.dir.path().join("client_key");
        if !path.exists() {
            fs::write(&path, &test_user().private_key).expect("write client key");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod key");
        }
        path
    }

    /// OpenSSH's client, set up to reach this sshd as the test user with the key and without
    /// touching any known_hosts file. Append the remote command. It runs in the root namespace,
    /// so it reaches an sshd in a namespace only if that namespace is routed from there.
    pub fn ssh_command(&self) -> Command {
        self.client_command("ssh", &["-p"])
    }

    /// OpenSSH's `sftp` client, set up like [`Sshd::ssh_command`], running the batch of commands
    /// it reads on stdin (`-b -`).
    pub fn sftp_batch_command(&self) -> Command {
        self.client_command("sftp", &["-b", "-", "-P"])
    }

    /// `program` (an OpenSSH client) with the key, no config, no known_hosts, quiet, and the
    /// destination; `last_options` end with how that client spells the port option.
    fn client_command(&self, program: &str, last_options: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.arg("-i")
            .arg(self.private_key_file())
            .args([
                "-F",
                "/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
            ])
            .args(last_options)
            .arg(self.port.to_string())
            .arg(format!("{TEST_USER}@{}", self.address));
        cmd
    }

    fn listener_pid(&self) -> u32 {
        self.child.as_ref().expect("sshd is running").id()
    }

    fn host_key_path(&self) -> PathBuf {
        self.dir.path().join("hostkey")
    }

    fn generate_host_key(&self) {
        let key = self.host_key_path();
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        run(Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "gatehouse-test-host",
                "-f",
            ])
            .arg(&key));
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod host key");
    }

    fn write_config(&self) -> PathBuf {
        let dir = self.dir.path().display();
        let address = &self.address;
        let extra = &self.extra_config;
        // sshd keeps the first value it reads for a keyword: `extra` comes first to win.
        let cfg = format!(
            "{extra}\n\
             ListenAddress {address}\n\
             HostKey {dir}/hostkey\n\
             PidFile {dir}/sshd.pid\n\
             AuthorizedKeysFile {dir}/authkeys/%u\n\
             StrictModes no\n\
             UsePAM no\n\
             PasswordAuthentication yes\n\
             KbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\n\
             PermitRootLogin no\n\
             PrintMotd no\n\
             PrintLastLog no\n\
             UseDNS no\n\
             X11Forwarding no\n\
             AllowTcpForwarding yes\n\
             MaxStartups 1000\n\
             MaxSessions 100\n\
             Subsystem sftp internal-sftp\n"
        );
        let path = self.dir.path().join("sshd_config");
        fs::write(&path, cfg).expect("write sshd_config");
        path
    }

    /// Start sshd on `self.port`; false if it exited at once (port taken). In a namespace,
    /// `ip netns exec` execs sshd in place, so the child PID is still the listener.
    fn launch(&mut self) -> bool {
        let cfg = self.write_config();
        let log = self.dir.path().join("sshd.log");
        let _ = fs::write(&log, "");
        let mut cmd = match &self.netns {
            Some(netns) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", netns, "/usr/sbin/sshd"]);
                cmd
            }
            None => Command::new("/usr/sbin/sshd"),
        };
        cmd.arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&cfg)
            .arg("-p")
            .arg(self.port.to_string());
        log_to(&mut cmd, &log);
        die_with_parent(&mut cmd);
        let ready = format!("Server listening on {} port {}", self.address, self.port);
        self.child = spawn_until_ready(&mut cmd, Duration::from_millis(5), || {
            log_says(&log, &ready)
        });
        self.child.is_some()
    }

    fn shutdown(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, libc::SIGTERM, Duration::from_secs(5));
        }
    }
}

/// `(pid, parent pid)` of every process, from `/proc/<pid>/stat`.
fn parent_pids() -> Vec<(u32, u32)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the
            // last `)`.
            let after_comm = &stat[stat.rfind(')')? + 1..];
            let ppid = after_comm.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.shutdown();
        if thread::panicking() {
            eprintln!(
                "----- sshd log ({}:{}) -----\n{}",
                self.address,
                self.port,
                crate::tail(&self.log(), 6000)
            );
        }
    }
}
