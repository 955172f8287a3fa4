//! Terminal WebSocket control frames. Terminal bytes travel as binary frames in both directions;
//! these JSON text frames carry everything else.

use serde::{Deserialize, Serialize};

/// Text frames the server sends. The first frame of every terminal socket is `Session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Session { session_id: String },
    Exit { code: Option<u32> },
    Error { code: String, message: String },
}

/// Text frames the client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Resize {
        cols: u16,
        rows: u16,
    },
    /// Flow control, opt-in: the client has processed `bytes` more output bytes. Once a client
    /// sends its first `ack` (send `{"type":"ack","bytes":0}` right after connecting), the gateway
    /// keeps at most [`FLOW_WINDOW`] bytes unacknowledged in flight and stops reading the SSH
    /// channel until acks arrive, so a browser that renders slower than a command prints never
    /// buffers without bound. Clients that never ack are paced by TCP alone.
    Ack {
        bytes: u64,
    },
}

/// Most output bytes in flight to an acking client.
pub const FLOW_WINDOW: u64 = 1 << 20;

/// How often (in processed bytes) a client should ack; a quarter of the window keeps output flowing.
pub const ACK_EVERY: u64 = FLOW_WINDOW / 4;

/// Machine-readable codes of `ServerFrame::Error`, so clients can match on them.
pub mod codes {
    pub const AUTH_FAILED: &str = "auth_failed";
    pub const HOST_KEY_MISMATCH: &str = "host_key_mismatch";
    /// Strict host-key policy: the host's key awaits an admin's approval.
    pub const HOST_KEY_UNAPPROVED: &str = "host_key_unapproved";
    /// The gateway's SSH connection pool is full.
    pub const TOO_MANY_CONNECTIONS: &str = "too_many_connections";
    pub const UNREACHABLE: &str = "unreachable";
    pub const TIMEOUT: &str = "timeout";
    pub const SSH_ERROR: &str = "ssh_error";
    pub const CREDENTIALS_MISSING: &str = "credentials_missing";
    pub const SHUTTING_DOWN: &str = "shutting_down";
    pub const BAD_FRAME: &str = "bad_frame";
    /// A bastion of the jump chain refused to forward to the next hop.
    pub const FORWARDING_PROHIBITED: &str = "forwarding_prohibited";
    /// The jump chain no longer holds together (a hop was deleted, or a cycle).
    pub const BROKEN_CHAIN: &str = "broken_chain";
}
