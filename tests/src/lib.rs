//! Fixtures for Gatehouse's black-box tests and benchmark: the real `gatehouse` binary, a real
//! OpenSSH `sshd`, a real PostgreSQL, and clients that speak the gateway's REST and WebSocket
//! contract (with the `wire` types) the way a script or a browser would.
//!
//! Every process a fixture starts is stopped by PID when the fixture drops, and dies with the
//! thread that spawned it if the test binary is killed (`PR_SET_PDEATHSIG`). Nothing binds
//! anything but loopback and the addresses of network namespaces the fixtures create themselves.

pub mod api;
pub mod binary;
pub mod files;
pub mod gatehouse;
pub mod ldap;
pub mod netns;
pub mod oidc;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod routes;
pub mod sshd;
pub mod terminal;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

pub use api::{Api, Auth, Response};
pub use files::{Files, RemoteDir};
pub use gatehouse::{Gatehouse, Storage, ADMIN_PASSWORD};
pub use netns::Bastion;
pub use sshd::{Sshd, TestUser};
pub use terminal::{Control, Terminal, WsRefused};

/// How long a test waits for something that should happen "at once" before it fails with a
/// message. Generous on purpose: debug builds on a loaded 2-core machine are slow, and these are
/// hang guards, never performance assertions.
pub const WAIT: Duration = Duration::from_secs(30);

/// The cargo workspace this crate lives in.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace")
        .to_path_buf()
}

/// Where tests leave files a person may want to look at (screenshots). Git-ignored.
pub fn artifacts_dir() -> PathBuf {
    let dir = workspace_root().join("tests").join("artifacts");
    std::fs::create_dir_all(&dir).expect("create tests/artifacts");
    dir
}

/// A loopback port that was free a moment ago. Callers retry on a clash: another test may grab
/// the same port between this call and their bind.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral loopback port")
        .port()
}

/// The last `max` bytes of a text, for failure messages that include a log.
pub fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Whether `needle` occurs in `haystack` (byte-wise).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// The offset of the first `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The last `max` bytes of a byte string.
pub fn tail_bytes(bytes: &[u8], max: usize) -> &[u8] {
    &bytes[bytes.len().saturating_sub(max)..]
}
