//! Session recordings as clients see them: `GET /api/recordings`, `GET /api/recordings/{id}`.
//! The cast itself (`GET /api/recordings/{id}/cast`) is an asciicast v2 file, not JSON.

use serde::{Deserialize, Serialize};

/// Where a recording stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    /// The session is live; the cast is being written.
    Recording,
    /// The session ended and the cast was finalised.
    Complete,
    /// The gateway stopped without finalising it (a crash); what had reached the disk was kept.
    Interrupted,
}

impl RecordingState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingState::Recording => "recording",
            RecordingState::Complete => "complete",
            RecordingState::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> RecordingState {
        match s {
            "recording" => RecordingState::Recording,
            "interrupted" => RecordingState::Interrupted,
            _ => RecordingState::Complete,
        }
    }
}

/// Someone who joined the session by link or watched it, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingParticipant {
    pub username: String,
    /// `ro`, `rw` or `watch` (an admin or auditor watching without a link).
    pub mode: String,
    /// RFC 3339.
    pub joined_at: String,
    /// RFC 3339; null while still there (or if the session ended with them in it).
    pub left_at: Option<String>,
}

/// One recording's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingView {
    pub id: String,
    /// The terminal session it recorded.
    pub session_id: String,
    /// Null once the server was deleted; `server_name` stays.
    pub server_id: Option<i32>,
    pub server_name: String,
    pub user_id: i32,
    pub username: String,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339; null while recording.
    pub ended_at: Option<String>,
    /// Milliseconds from start to end (or to now, while recording).
    pub duration_ms: u64,
    /// Bytes of the cast file.
    pub size_bytes: u64,
    /// The terminal size when the session started.
    pub cols: u16,
    pub rows: u16,
    pub state: RecordingState,
    /// Whether keystrokes were recorded (`i` events), per the recording policy.
    pub input_recorded: bool,
    /// Whether the size cap stopped the recording before the session ended.
    pub truncated: bool,
    pub participants: Vec<RecordingParticipant>,
}

/// `GET /api/recordings?server_id=&user=&since=&until=&limit=&offset=`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingList {
    pub recordings: Vec<RecordingView>,
    /// How many match the filters (for paging).
    pub total: u64,
}
