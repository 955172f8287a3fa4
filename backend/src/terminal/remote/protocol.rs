//! What replicas say to each other about terminals: requests to the replica that runs a session
//! (JSON, through `Cluster::call`), and the frames of a bridge (binary: one tag byte, then the
//! payload; output bytes travel as they are, never re-encoded).

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use wire::terminal::{ParticipantView, ShareView, Sharing as SharingView};

/// A request to the replica a session lives on. Authorisation was checked by the asking replica
/// (it has the caller's session and the database); the host checks only what it alone knows
/// (the session is alive and its owner's, the share link is live).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Call {
    /// Bind bridge `bridge` to the session as its owner's socket.
    Attach {
        bridge: String,
        session_id: String,
        user_id: i32,
        offset: Option<u64>,
        size: Option<(u32, u32)>,
    },
    /// Bind bridge `bridge` to the session as a participant; `share` is the link's digest
    /// (`None`: an admin or auditor watching).
    Join {
        bridge: String,
        session_id: String,
        share: Option<String>,
        participant: Joiner,
    },
    /// End the session (its owner's or an admin's request, or the owner lost access).
    Close {
        session_id: String,
        access_revoked: bool,
    },
    ShareCreate {
        session_id: String,
        mode: String,
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    ShareList {
        session_id: String,
    },
    ShareRevoke {
        session_id: String,
    },
    Kick {
        session_id: String,
        participant_id: String,
    },
}

/// Who joins, as the asking replica knows them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Joiner {
    pub id: String,
    pub user_id: i32,
    pub username: String,
}

/// The host's answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Answer {
    Done,
    /// The session (or share link) is not here, or not the caller's.
    NotFound,
    /// A bridge is bound, in `mode` ("ro" or "rw"); its replay follows on the bridge.
    Bound {
        owner: String,
        mode: String,
    },
    Created {
        token: String,
        share: ShareView,
    },
    Sharing {
        sharing: SharingView,
    },
    Revoked {
        count: usize,
    },
    Kicked {
        participant: Option<Kicked>,
    },
}

/// Who was removed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Kicked {
    pub username: String,
    pub user_id: i32,
}

/// A bridge frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// Host → viewer: output bytes. Viewer → host: stdin bytes.
    Data(Bytes),
    /// Host → viewer: this many bytes were dropped for this bridge.
    Skipped(u64),
    /// Host → viewer: one chunk of the replay ring.
    ReplayChunk(Bytes),
    /// Host → viewer: the replay is complete; live output follows. Its stream offset.
    ReplayEnd(u64),
    /// Host → viewer: the shell exited (with its status, if it said).
    Exited(Option<u32>),
    /// Host → viewer: the view ended with an error frame.
    Error { code: String, message: String },
    /// Host → viewer: the session's participants changed (owner bridges only).
    Roster(Vec<ParticipantView>),
    /// Viewer → host: the owner's new PTY size.
    Resize(u32, u32),
    /// Viewer → host: the owner asked to end the session.
    Close,
    /// Viewer → host: the socket went away (the session detaches, or the joiner leaves).
    Leave,
    /// Either way: still here.
    Ping,
    /// Viewer → host: this many more output bytes were handed to the socket (flow control:
    /// the host keeps at most a window unacknowledged, as for a browser that acks).
    Ack(u64),
}

#[derive(Serialize, Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

impl Frame {
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::new();
        match self {
            Frame::Data(b) => {
                out.put_u8(0);
                out.put_slice(b);
            }
            Frame::Skipped(n) => {
                out.put_u8(1);
                out.put_u64(*n);
            }
            Frame::ReplayChunk(b) => {
                out.put_u8(2);
                out.put_slice(b);
            }
            Frame::ReplayEnd(offset) => {
                out.put_u8(3);
                out.put_u64(*offset);
            }
            Frame::Exited(code) => {
                out.put_u8(4);
                if let Some(code) = code {
                    out.put_u32(*code);
                }
            }
            Frame::Error { code, message } => {
                out.put_u8(5);
                let body = ErrorBody {
                    code: code.clone(),
                    message: message.clone(),
                };
                out.put_slice(&serde_json::to_vec(&body).unwrap_or_default());
            }
            Frame::Roster(list) => {
                out.put_u8(6);
                out.put_slice(&serde_json::to_vec(list).unwrap_or_default());
            }
            Frame::Resize(cols, rows) => {
                out.put_u8(7);
                out.put_u32(*cols);
                out.put_u32(*rows);
            }
            Frame::Close => out.put_u8(8),
            Frame::Leave => out.put_u8(9),
            Frame::Ping => out.put_u8(10),
            Frame::Ack(n) => {
                out.put_u8(11);
                out.put_u64(*n);
            }
        }
        out.freeze()
    }

    /// `None` for anything malformed (ignored by both ends).
    pub fn decode(mut bytes: Bytes) -> Option<Frame> {
        if bytes.is_empty() {
            return None;
        }
        let tag = bytes.split_to(1)[0];
        let u64_of = |b: &[u8]| Some(u64::from_be_bytes(b.try_into().ok()?));
        let u32_of = |b: &[u8]| Some(u32::from_be_bytes(b.try_into().ok()?));
        Some(match tag {
            0 => Frame::Data(bytes),
            1 => Frame::Skipped(u64_of(&bytes)?),
            2 => Frame::ReplayChunk(bytes),
            3 => Frame::ReplayEnd(u64_of(&bytes)?),
            4 if bytes.is_empty() => Frame::Exited(None),
            4 => Frame::Exited(Some(u32_of(&bytes)?)),
            5 => {
                let body: ErrorBody = serde_json::from_slice(&bytes).ok()?;
                Frame::Error {
                    code: body.code,
                    message: body.message,
                }
            }
            6 => Frame::Roster(serde_json::from_slice(&bytes).ok()?),
            7 if bytes.len() == 8 => Frame::Resize(u32_of(&bytes[..4])?, u32_of(&bytes[4..])?),
            8 => Frame::Close,
            9 => Frame::Leave,
            10 => Frame::Ping,
            11 => Frame::Ack(u64_of(&bytes)?),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_survives_the_trip_and_garbage_is_refused() {
        let frames = vec![
            Frame::Data(Bytes::from_static(b"\xff\x00ls\r\n")),
            Frame::Skipped(1 << 40),
            Frame::ReplayChunk(Bytes::from_static(b"old")),
            Frame::ReplayEnd(42),
            Frame::Exited(None),
            Frame::Exited(Some(3)),
            Frame::Error {
                code: "kicked".into(),
                message: "bye".into(),
            },
            Frame::Roster(vec![ParticipantView {
                id: "p".into(),
                username: "bob".into(),
                mode: "ro".into(),
                since: "now".into(),
            }]),
            Frame::Resize(120, 40),
            Frame::Close,
            Frame::Leave,
            Frame::Ping,
            Frame::Ack(256 * 1024),
        ];
        for frame in frames {
            assert_eq!(Frame::decode(frame.encode()), Some(frame));
        }
        for garbage in [
            &b""[..],
            b"\x01\x00",
            b"\x07\x00\x00\x00\x01",
            b"\x05{",
            b"\xee",
        ] {
            assert_eq!(Frame::decode(Bytes::copy_from_slice(garbage)), None);
        }
    }
}
