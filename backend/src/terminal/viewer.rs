//! What passes between the hub and the sockets bound to it: the commands a session takes, what
//! an attaching socket gets (replay, live output, input), how its view ends, and why a session
//! ended. Joiners and a recorder will use the same vocabulary.

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::input::Input;
use super::ring::Replay;

/// What a socket (or, later, the REST API) asks of a session.
pub enum Command {
    /// Make the caller the owner's socket, replacing any other, with the output since `offset`.
    Attach {
        offset: Option<u64>,
        reply: oneshot::Sender<Attached>,
    },
    /// Add a joiner (share link or watcher) with its own queue; it gets the whole replay ring.
    Join {
        participant_id: String,
        reply: oneshot::Sender<Attached>,
    },
    Close(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The owner asked (`DELETE /api/terminal/sessions/{id}` or a `close` frame).
    Requested,
    /// The owner tried to reattach but may no longer use the server.
    AccessRevoked,
}

/// What the hub hands a socket, in stream order.
#[derive(Debug)]
pub enum Output {
    Data(Bytes),
    /// This many bytes of output were dropped because the socket fell too far behind (its
    /// backlog passed `terminal_lag_bytes`); the socket tells its client so.
    Skipped(u64),
}

/// A socket's view of the session: the replay, then live output, then how it ended; and the
/// way to type into it (a read-only joiner will get no `input`).
pub struct Attached {
    pub replay: Replay,
    pub output: mpsc::Receiver<Output>,
    pub ending: oneshot::Receiver<Ending>,
    pub input: Input,
}

/// What a viewer is told when its view ends (the socket then closes).
#[derive(Debug)]
pub enum Ending {
    /// The shell exited; `tail` is output the socket had not taken from its backlog yet.
    Exited {
        code: Option<u32>,
        tail: Vec<Output>,
    },
    /// The session ended, or this socket was replaced, for a reason worth an error frame.
    Error { code: &'static str, message: String },
}

/// Why a session ended, as audited (`terminal.close`'s `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubEnd {
    Exited(Option<u32>),
    DetachedTimeout,
    IdleTimeout,
    Closed(CloseReason),
    Shutdown,
}

impl HubEnd {
    pub fn reason(&self) -> &'static str {
        match self {
            HubEnd::Exited(_) => "exited",
            HubEnd::DetachedTimeout => "detached_timeout",
            HubEnd::IdleTimeout => "idle_timeout",
            HubEnd::Closed(CloseReason::Requested) => "closed",
            HubEnd::Closed(CloseReason::AccessRevoked) => "access_revoked",
            HubEnd::Shutdown => "shutdown",
        }
    }
}
