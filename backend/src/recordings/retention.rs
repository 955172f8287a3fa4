//! Keeping the recordings directory honest: at start, casts a crash left unfinished are closed
//! and marked `interrupted`; then, every `recording_retention_interval_secs`, finished
//! recordings older than `recording_retention_days` go, and the oldest go while all of them
//! together exceed `recording_max_total_bytes`. Each removal is audited.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{cast_path, dir, part_path, store};
use crate::audit::{self, Actor, Event};
use crate::state::AppState;

/// Runs until shutdown: recovery once, then the retention rounds.
pub async fn run(state: AppState) {
    recover(&state).await;
    let every = Duration::from_secs(state.config.recording_retention_interval_secs.max(1));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = ticks.tick() => {
                if let Err(e) = enforce(&state).await {
                    tracing::warn!(error = %e, "recording retention round failed");
                }
            }
        }
    }
}

/// Finalises the part files no running recorder holds (their lock is free): cut after the last
/// whole line, renamed, marked `interrupted` with what survived.
pub async fn recover(state: &AppState) {
    let dir = dir(&state.config);
    let rows = match store::unfinished(&state.db).await {
        Ok(rows) => rows,
        Err(e) => return tracing::warn!(error = %e, "cannot look for unfinished recordings"),
    };
    for row in rows {
        let (part, done) = (part_path(&dir, &row.id), cast_path(&dir, &row.id));
        let closed = tokio::task::spawn_blocking(move || close_abandoned(&part, &done)).await;
        let (size, last_at, modified) = match closed {
            Ok(Ok(Some(found))) => found,
            // Not here (another replica's directory) or still being written.
            Ok(Ok(None)) => continue,
            Ok(Err(e)) => {
                tracing::warn!(recording = %row.id, error = %e, "cannot recover the recording");
                continue;
            }
            Err(_) => continue,
        };
        let ended_at = modified.unwrap_or_else(Utc::now);
        let duration_ms = u64::try_from(last_at.as_millis()).unwrap_or(u64::MAX);
        if let Err(e) = store::interrupted(&state.db, &row.id, ended_at, duration_ms, size).await {
            tracing::warn!(recording = %row.id, error = %e, "cannot mark the recording interrupted");
            continue;
        }
        tracing::info!(recording = %row.id, size, "recovered an unfinished recording");
    }
}

type Recovered = (u64, Duration, Option<DateTime<Utc>>);

fn close_abandoned(part: &Path, done: &Path) -> std::io::Result<Option<Recovered>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(part)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Renamed but never marked complete (the process died in between): it is whole.
            return match std::fs::metadata(done) {
                Ok(meta) => Ok(Some((meta.len(), last_event_time(done)?, modified(&meta)))),
                Err(_) => Ok(None),
            };
        }
        Err(e) => return Err(e),
    };
    if file.try_lock().is_err() {
        return Ok(None);
    }
    let mut text = Vec::new();
    file.read_to_end(&mut text)?;
    let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    file.set_len(keep as u64)?;
    file.seek(SeekFrom::End(0))?;
    file.sync_all()?;
    let meta = file.metadata()?;
    std::fs::rename(part, done)?;
    let last_at = last_time(&text[..keep]);
    Ok(Some((keep as u64, last_at, modified(&meta))))
}

fn modified(meta: &std::fs::Metadata) -> Option<DateTime<Utc>> {
    meta.modified().ok().map(DateTime::<Utc>::from)
}

fn last_event_time(path: &Path) -> std::io::Result<Duration> {
    Ok(last_time(&std::fs::read(path)?))
}

/// The time of the last event line of a cast (zero if it has none).
fn last_time(cast: &[u8]) -> Duration {
    let text = String::from_utf8_lossy(cast);
    text.lines()
        .rev()
        .filter(|line| line.starts_with('['))
        .find_map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).ok()?;
            Duration::try_from_secs_f64(event.get(0)?.as_f64()?).ok()
        })
        .unwrap_or_default()
}

/// One retention round.
pub async fn enforce(state: &AppState) -> Result<(), sea_orm::DbErr> {
    let config = &state.config;
    let rows = store::finished_oldest_first(&state.db).await?;
    let cutoff = (config.recording_retention_days > 0).then(|| {
        let days = i64::try_from(config.recording_retention_days).unwrap_or(i64::MAX / 2);
        Utc::now() - chrono::Duration::days(days.min(365_000))
    });
    let mut total: u64 = rows
        .iter()
        .map(|r| u64::try_from(r.size_bytes).unwrap_or(0))
        .sum();
    let cap = config.recording_max_total_bytes;
    let dir = dir(config);
    for row in rows {
        let size = u64::try_from(row.size_bytes).unwrap_or(0);
        // Oldest first: once this one is neither too old nor needed to get under the size cap,
        // neither is any newer one.
        let reason = if cutoff.is_some_and(|c| row.started_at < c) {
            "age"
        } else if cap > 0 && total > cap {
            "total_size"
        } else {
            break;
        };
        match tokio::fs::remove_file(cast_path(&dir, &row.id)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(recording = %row.id, error = %e, "cannot remove an expired recording");
                continue;
            }
        }
        store::delete(&state.db, &row.id).await?;
        total = total.saturating_sub(size);
        audit::record(
            &state.db,
            &Actor::default(),
            Event::new("recording.expire")
                .target(&row.id)
                .server(row.server_id)
                .details(json!({
                    "recording_id": row.id,
                    "session_id": row.session_id,
                    "owner": row.username,
                    "started_at": row.started_at.to_rfc3339(),
                    "size_bytes": size,
                    "reason": reason,
                })),
        )
        .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_whole_event_gives_the_duration() {
        let cast = b"{\"version\": 2}\n[0.5, \"o\", \"a\"]\n[2.25, \"m\", \"x\"]\n";
        assert_eq!(last_time(cast), Duration::from_millis(2250));
        assert_eq!(last_time(b"{\"version\": 2}\n"), Duration::ZERO);
    }
}
