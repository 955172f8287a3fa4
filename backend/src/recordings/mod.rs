//! Session recordings: asciicast v2 casts written while terminal sessions run, their rows in
//! the database, the API that lists, plays back and deletes them, and the retention task.
//!
//! Policy: a server's `record_sessions` (true / false) wins; unset, the gateway-wide
//! `record_sessions` decides. `record_input` adds keystrokes. A session that must be recorded
//! and cannot be (the directory or the database refuses) does not start: a gap in the record
//! would be worse than a refused terminal.

pub mod cast;
pub mod handlers;
pub mod recorder;
pub mod retention;
pub mod store;

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use sea_orm::Set;
use wire::recordings::RecordingState;

pub use recorder::{Leave, Recorder};

use crate::config::Config;
use crate::db::{recording, server};

/// Where the casts live: `<data_dir>/recordings`.
pub fn dir(config: &Config) -> PathBuf {
    config.data_dir.join("recordings")
}

/// A finished cast.
pub fn cast_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.cast"))
}

/// A cast being written (or left unfinished by a crash).
pub fn part_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.cast.part"))
}

/// Whether sessions on `server` are recorded.
pub fn records(config: &Config, server: &server::Model) -> bool {
    server.record_sessions.unwrap_or(config.record_sessions)
}

/// The session that is about to be recorded.
pub struct Session<'a> {
    pub session_id: &'a str,
    pub server: &'a server::Model,
    pub user_id: i32,
    pub username: &'a str,
    pub cols: u32,
    pub rows: u32,
}

/// Creates the part file (locked, owner-only) and the row, and starts the writer.
pub async fn start(
    db: &sea_orm::DatabaseConnection,
    config: &Config,
    session: Session<'_>,
) -> Result<Recorder, String> {
    let dir = dir(config);
    let id = uuid::Uuid::new_v4().to_string();
    let part = part_path(&dir, &id);
    let file = {
        let (dir, path) = (dir.clone(), part.clone());
        tokio::task::spawn_blocking(move || create_locked(&dir, &path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot create {}: {e}", part.display()))?
    };
    let started_at = Utc::now();
    let record_input = config.record_input;
    let row = recording::ActiveModel {
        id: Set(id.clone()),
        session_id: Set(session.session_id.to_owned()),
        server_id: Set(Some(session.server.id)),
        server_name: Set(session.server.name.clone()),
        user_id: Set(session.user_id),
        username: Set(session.username.to_owned()),
        started_at: Set(started_at),
        ended_at: Set(None),
        duration_ms: Set(0),
        size_bytes: Set(0),
        cols: Set(i32::try_from(session.cols).unwrap_or(80)),
        rows: Set(i32::try_from(session.rows).unwrap_or(24)),
        state: Set(RecordingState::Recording.as_str().to_owned()),
        input_recorded: Set(record_input),
        truncated: Set(false),
        participants: Set("[]".into()),
    };
    if let Err(e) = store::insert(db, row).await {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(format!("cannot store the recording: {e}"));
    }
    let plan = recorder::Plan {
        done: cast_path(&dir, &id),
        id: id.clone(),
        part: part.clone(),
        cols: session.cols,
        rows: session.rows,
        title: format!("{} — {}", session.server.name, session.username),
        owner: session.username.to_owned(),
        record_input,
        max_bytes: config.recording_max_bytes.max(4096),
    };
    match Recorder::spawn(db.clone(), plan, tokio::fs::File::from_std(file)).await {
        Ok(recorder) => Ok(recorder),
        Err(e) => {
            let _ = tokio::fs::remove_file(&part).await;
            let _ = store::delete(db, &id).await;
            Err(format!("cannot write {}: {e}", part.display()))
        }
    }
}

/// The part file, created new with mode 0600 in a 0700 directory, holding an exclusive lock
/// for as long as it is open (see `retention::recover`).
fn create_locked(dir: &Path, part: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(part)?;
    file.try_lock()
        .map_err(|e| std::io::Error::other(format!("cannot lock: {e}")))?;
    file.flush()?;
    Ok(file)
}
