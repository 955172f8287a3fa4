//! Terminal WebSocket control frames and the live-session REST bodies. Terminal bytes travel as
//! binary frames in both directions; these JSON text frames carry everything else.

use serde::{Deserialize, Serialize};

/// Text frames the server sends. The first frame of every terminal socket is `Session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Session {
        session_id: String,
    },
    /// Sent on a reattach (`/api/ws/terminal/attach/{session_id}`) right after `Session`: the
    /// next `bytes` bytes of binary frames replay recent output from the session's buffer,
    /// starting at position `offset` of the session's output stream (bytes since the shell
    /// started). Live output follows them. When `offset` is past the position the client asked
    /// for (`?offset=`), the output in between was dropped from the buffer.
    Replay {
        offset: u64,
        bytes: u64,
    },
    /// `bytes` bytes of output were dropped here because this socket fell too far behind (more
    /// than `terminal_lag_bytes` waiting); live output resumes after it. Stream positions
    /// (`Replay::offset`, `?offset=`) count the skipped bytes too.
    Skipped {
        bytes: u64,
    },
    /// Sent to a joiner (share link or watch) right after `Session`: whose session this is and
    /// whether the joiner may type (`"ro"` or `"rw"`). `Replay` and the replay follow.
    Joined {
        owner: String,
        mode: String,
    },
    /// Sent to the owner's socket whenever someone joins, leaves or is kicked.
    Participants {
        participants: Vec<ParticipantView>,
    },
    Exit {
        code: Option<u32>,
    },
    Error {
        code: String,
        message: String,
    },
}

/// Text frames the client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Resize {
        cols: u16,
        rows: u16,
    },
    /// Flow control, opt-in: the client has processed `bytes` more output bytes. Once a client
    /// sends its first `ack` (send `{"type":"ack","bytes":0}` right after connecting), the gateway
    /// keeps at most [`FLOW_WINDOW`] bytes unacknowledged in flight; more waits at the gateway
    /// (up to `terminal_lag_bytes`, then the oldest is skipped, see [`ServerFrame::Skipped`]),
    /// so a browser that renders slower than a command prints never buffers without bound.
    /// Clients that never ack are paced by TCP alone.
    Ack {
        bytes: u64,
    },
    /// End the session (close the shell) rather than detach from it. A socket that simply goes
    /// away only detaches: the session waits for a reattach until its grace period runs out.
    Close,
}

/// Most output bytes in flight to an acking client.
pub const FLOW_WINDOW: u64 = 1 << 20;

/// How often (in processed bytes) a client should ack; a quarter of the window keeps output flowing.
pub const ACK_EVERY: u64 = FLOW_WINDOW / 4;

/// `GET /api/terminal/sessions`: one of the caller's live terminal sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub session_id: String,
    pub server_id: i32,
    pub server_name: String,
    /// RFC 3339.
    pub started_at: String,
    /// Whether a socket is attached right now (false: detached, waiting for a reattach).
    pub attached: bool,
    pub cols: u16,
    pub rows: u16,
}

/// `GET /api/terminal/limits`: the gateway's live-session settings, so a client can explain a
/// refusal (a failed WebSocket upgrade shows a browser no status) or a timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    /// Most live sessions per user, detached ones included (0: no limit).
    pub max_sessions_per_user: u64,
    /// How long a detached session waits for a reattach.
    pub detach_grace_secs: u64,
    /// Inactivity after which a session is ended (0: never).
    pub idle_timeout_secs: u64,
    /// Recent output kept for a replay.
    pub replay_bytes: u64,
}

/// `POST /api/terminal/share/{session_id}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareRequest {
    /// `"ro"` or `"rw"`.
    pub mode: String,
    /// Seconds until the link stops admitting joiners (default 3600, at most 7 days).
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// `POST /api/terminal/share/{session_id}` answer. The token is shown only here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareCreated {
    pub id: String,
    pub token: String,
    /// The UI route that joins, the token in the fragment (`/#/join/<token>`).
    pub url: String,
    pub mode: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// One active share link of a session (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareView {
    pub id: String,
    pub mode: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// Someone watching or typing into a session that is not theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParticipantView {
    pub id: String,
    pub username: String,
    pub mode: String,
    /// RFC 3339.
    pub since: String,
}

/// `GET /api/terminal/share/{session_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sharing {
    pub shares: Vec<ShareView>,
    pub participants: Vec<ParticipantView>,
}

/// Machine-readable codes of `ServerFrame::Error` (and of the terminal REST errors), so clients
/// can match on them.
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
    /// Another socket attached to this session and took it over.
    pub const REPLACED: &str = "replaced";
    /// No input and no output for `terminal_idle_timeout_secs`: the session was ended.
    pub const IDLE_TIMEOUT: &str = "idle_timeout";
    /// The session was ended on request (`DELETE /api/terminal/sessions/{id}`, or a `close`
    /// frame from another socket), or because its owner may no longer use the server.
    pub const SESSION_CLOSED: &str = "session_closed";
    /// No such live session of the caller's (REST 404, or an error frame when it ended just
    /// before the attach).
    pub const SESSION_NOT_FOUND: &str = "session_not_found";
    /// REST 429: the per-user session cap (`terminal_max_sessions_per_user`) is reached.
    pub const TOO_MANY_SESSIONS: &str = "too_many_sessions";
    /// REST 404 on a join: the share link is unknown, expired or revoked (never told apart).
    pub const SHARE_NOT_FOUND: &str = "share_not_found";
    /// The owner revoked the share links: every joiner is disconnected.
    pub const SHARE_REVOKED: &str = "share_revoked";
    /// The owner removed this joiner.
    pub const KICKED: &str = "kicked";
    /// A read-only joiner typed; the input was dropped (not fatal, sent once).
    pub const READ_ONLY: &str = "read_only";
    /// An admin's change took away the access this socket relied on (the account, its role or
    /// groups, or the server's group or terminal switch).
    pub const ACCESS_REVOKED: &str = "access_revoked";
    /// The session must be recorded and the recording could not be started.
    pub const RECORDING_FAILED: &str = "recording_failed";
    /// The session runs on another replica, and the link to it (through Redis) was lost, or
    /// that replica stopped.
    pub const REPLICA_GONE: &str = "replica_gone";

    /// The code among these that equals `code` (codes that crossed between replicas as text);
    /// `session_closed` for one this build does not know.
    pub fn known(code: &str) -> &'static str {
        [
            AUTH_FAILED,
            HOST_KEY_MISMATCH,
            HOST_KEY_UNAPPROVED,
            TOO_MANY_CONNECTIONS,
            UNREACHABLE,
            TIMEOUT,
            SSH_ERROR,
            CREDENTIALS_MISSING,
            SHUTTING_DOWN,
            BAD_FRAME,
            FORWARDING_PROHIBITED,
            BROKEN_CHAIN,
            REPLACED,
            IDLE_TIMEOUT,
            SESSION_CLOSED,
            SESSION_NOT_FOUND,
            TOO_MANY_SESSIONS,
            SHARE_NOT_FOUND,
            SHARE_REVOKED,
            KICKED,
            READ_ONLY,
            ACCESS_REVOKED,
            RECORDING_FAILED,
            REPLICA_GONE,
        ]
        .into_iter()
        .find(|c| *c == code)
        .unwrap_or(SESSION_CLOSED)
    }
}
