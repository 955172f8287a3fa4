//! Writing one session's cast while the session runs.
//!
//! The hub and the sockets hand events to a `Recorder` (a cheap clone); one writer task per
//! recording turns them into asciicast lines in `<id>.cast.part` and, when the session ends,
//! syncs the file and renames it to `<id>.cast` (a finished cast is whole or absent, never
//! half-written) before marking the row complete.
//!
//! Recording never slows a session: events are stamped where they happen and offered with
//! `try_send` to a bounded queue. If the disk falls that far behind, the output that did not fit
//! is counted and the cast says so with a marker at that point, rather than holding the shell
//! (whose SSH connection other channels share) or growing memory without bound. Joins and leaves
//! come from socket tasks, which may wait, so they are never dropped.
//!
//! While open, the part file holds an exclusive advisory lock: the startup recovery
//! (`retention.rs`) finalises only part files nobody holds, so it never touches a live
//! recording of another process sharing the directory.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use wire::recordings::{RecordingParticipant, RecordingState};

use super::cast::{self, Utf8Stream};
use super::store;

/// Events waiting for the writer (output chunks are up to 64 KiB each).
const QUEUE: usize = 512;

/// Room kept below the size cap for the marker that says the cap was reached.
const CAP_MARKER_ROOM: u64 = 256;

/// How often buffered lines are pushed to the file while the session runs.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How a participant's view ended, for the marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    Left,
    Kicked,
    Revoked,
    /// An admin's change took their access away.
    AccessRevoked,
}

#[derive(Debug)]
enum Event {
    Output(Duration, Bytes),
    /// Stdin bytes (empty when input is not recorded) and who typed them (`None`: the owner).
    Input(Duration, Bytes, Option<Arc<str>>),
    Resize(Duration, u32, u32),
    Joined(Duration, String, String),
    Left(Duration, String, Leave),
    End(Duration, oneshot::Sender<()>),
}

/// A running recording's sending side.
#[derive(Debug, Clone)]
pub struct Recorder {
    events: mpsc::Sender<Event>,
    clock: Instant,
    /// Bytes of output or input that found the queue full since the writer last looked.
    dropped: Arc<AtomicU64>,
    record_input: bool,
}

/// Everything the writer needs to know about its recording.
pub(super) struct Plan {
    pub id: String,
    pub part: PathBuf,
    pub done: PathBuf,
    pub cols: u32,
    pub rows: u32,
    pub title: String,
    /// The owner's username, to name them when they type after a joiner did.
    pub owner: String,
    pub record_input: bool,
    pub max_bytes: u64,
}

impl Recorder {
    /// Writes the header to `file` and starts the writer task.
    pub(super) async fn spawn(
        db: DatabaseConnection,
        plan: Plan,
        file: tokio::fs::File,
    ) -> std::io::Result<Recorder> {
        let mut out = BufWriter::with_capacity(64 << 10, file);
        let header = cast::header(plan.cols, plan.rows, Utc::now().timestamp(), &plan.title);
        out.write_all(header.as_bytes()).await?;
        out.flush().await?;
        let (events, rx) = mpsc::channel(QUEUE);
        let recorder = Recorder {
            events,
            clock: Instant::now(),
            dropped: Arc::new(AtomicU64::new(0)),
            record_input: plan.record_input,
        };
        let writer = Writer {
            db,
            written: header.len() as u64,
            plan,
            out,
            dropped: recorder.dropped.clone(),
            last_at: Duration::ZERO,
            output: Utf8Stream::default(),
            input: Utf8Stream::default(),
            author: None,
            truncated: false,
            dirty: false,
            failed: false,
            participants: Vec::new(),
        };
        tokio::spawn(writer.run(rx));
        Ok(recorder)
    }

    fn now(&self) -> Duration {
        self.clock.elapsed()
    }

    fn offer(&self, event: Event, bytes: usize) {
        if self.events.try_send(event).is_err() {
            self.dropped.fetch_add(bytes as u64, Ordering::Relaxed);
        }
    }

    /// Output the session printed (called by the hub; never waits).
    pub fn output(&self, data: &Bytes) {
        self.offer(Event::Output(self.now(), data.clone()), data.len());
    }

    /// Stdin bytes, and who typed them (`None`: the owner). The bytes themselves are kept only
    /// when the policy records input; who typed is always marked.
    pub fn input(&self, data: &Bytes, author: Option<&Arc<str>>) {
        let kept = if self.record_input {
            data.clone()
        } else {
            Bytes::new()
        };
        let len = kept.len();
        self.offer(Event::Input(self.now(), kept, author.cloned()), len);
    }

    pub fn resize(&self, cols: u32, rows: u32) {
        self.offer(Event::Resize(self.now(), cols, rows), 0);
    }

    pub async fn joined(&self, username: &str, mode: &str) {
        let event = Event::Joined(self.now(), username.to_owned(), mode.to_owned());
        let _ = self.events.send(event).await;
    }

    pub async fn left(&self, username: &str, how: Leave) {
        let _ = self
            .events
            .send(Event::Left(self.now(), username.to_owned(), how))
            .await;
    }

    /// Ends the recording and waits until the cast is final and its row complete.
    pub async fn finish(&self) {
        let (done, finished) = oneshot::channel();
        if self.events.send(Event::End(self.now(), done)).await.is_ok() {
            let _ = finished.await;
        }
    }
}

struct Writer {
    db: DatabaseConnection,
    plan: Plan,
    out: BufWriter<tokio::fs::File>,
    written: u64,
    dropped: Arc<AtomicU64>,
    /// Times only move forward: events from different tasks may arrive a little out of order.
    last_at: Duration,
    output: Utf8Stream,
    input: Utf8Stream,
    /// Who typed last (`None`: the owner), so a change of typist is marked.
    author: Option<Arc<str>>,
    truncated: bool,
    dirty: bool,
    /// A write failed: the rest is not written, and the row says where it stopped.
    failed: bool,
    participants: Vec<RecordingParticipant>,
}

impl Writer {
    async fn run(mut self, mut events: mpsc::Receiver<Event>) {
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let done = loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(Event::End(at, done)) => {
                        self.stamp(at);
                        break Some(done);
                    }
                    Some(event) => self.handle(event).await,
                    // Every sender is gone without an End: finish anyway.
                    None => break None,
                },
                _ = flush.tick(), if self.dirty => {
                    self.dirty = false;
                    if let Err(e) = self.out.flush().await {
                        self.fail(e);
                    }
                }
            }
        };
        self.finalise().await;
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    fn stamp(&mut self, at: Duration) -> Duration {
        self.last_at = self.last_at.max(at);
        self.last_at
    }

    async fn handle(&mut self, event: Event) {
        let lost = self.dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let at = self.last_at;
            let label = format!("{lost} bytes were not recorded here: the disk fell behind");
            self.line(at, "m", &label).await;
        }
        match event {
            Event::Output(at, data) => {
                let at = self.stamp(at);
                let text = self.output.decode(&data);
                if !text.is_empty() {
                    self.line(at, "o", &text).await;
                }
            }
            Event::Input(at, data, author) => {
                let at = self.stamp(at);
                if author != self.author {
                    let who = author.as_deref().unwrap_or(&self.plan.owner).to_owned();
                    self.author = author;
                    self.line(at, "m", &format!("{who} is typing")).await;
                }
                let text = self.input.decode(&data);
                if !text.is_empty() {
                    self.line(at, "i", &text).await;
                }
            }
            Event::Resize(at, cols, rows) => {
                let at = self.stamp(at);
                self.line(at, "r", &format!("{cols}x{rows}")).await;
            }
            Event::Joined(at, username, mode) => {
                let at = self.stamp(at);
                let label = format!("{username} joined ({mode})");
                self.participants.push(RecordingParticipant {
                    username,
                    mode,
                    joined_at: Utc::now().to_rfc3339(),
                    left_at: None,
                });
                self.line(at, "m", &label).await;
                self.save_participants().await;
            }
            Event::Left(at, username, how) => {
                let at = self.stamp(at);
                if let Some(p) = self
                    .participants
                    .iter_mut()
                    .rev()
                    .find(|p| p.username == username && p.left_at.is_none())
                {
                    p.left_at = Some(Utc::now().to_rfc3339());
                }
                let label = match how {
                    Leave::Left => format!("{username} left"),
                    Leave::Kicked => format!("{username} was removed by the owner"),
                    Leave::Revoked => format!("{username} was disconnected: share links revoked"),
                    Leave::AccessRevoked => {
                        format!("{username} was disconnected: access revoked")
                    }
                };
                self.line(at, "m", &label).await;
                self.save_participants().await;
            }
            Event::End(..) => {}
        }
    }

    /// Writes one event line, unless the cap was reached (the last line then says so).
    async fn line(&mut self, at: Duration, code: &str, data: &str) {
        if self.truncated || self.failed {
            return;
        }
        let line = cast::event(at, code, data);
        let len = line.len() as u64;
        if self.written + len + CAP_MARKER_ROOM > self.plan.max_bytes {
            self.truncated = true;
            let label = format!(
                "recording stopped: the size limit of {} bytes was reached",
                self.plan.max_bytes
            );
            let marker = cast::event(at, "m", &label);
            self.write(marker).await;
            return;
        }
        self.write(line).await;
    }

    async fn write(&mut self, line: String) {
        match self.out.write_all(line.as_bytes()).await {
            Ok(()) => {
                self.written += line.len() as u64;
                self.dirty = true;
            }
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, e: std::io::Error) {
        if !self.failed {
            tracing::error!(recording = %self.plan.id, error = %e, "cannot write the recording; it stops here");
        }
        self.failed = true;
    }

    async fn save_participants(&self) {
        store::set_participants(&self.db, &self.plan.id, &self.participants).await;
    }

    /// Flushes, syncs and renames the cast, then completes its row.
    async fn finalise(mut self) {
        let tail = self.output.finish();
        if !tail.is_empty() {
            let at = self.last_at;
            self.line(at, "o", &tail).await;
        }
        let synced = async {
            self.out.flush().await?;
            self.out.get_ref().sync_all().await?;
            tokio::fs::rename(&self.plan.part, &self.plan.done).await
        }
        .await;
        let state = match synced {
            Ok(()) => RecordingState::Complete,
            Err(e) => {
                tracing::error!(recording = %self.plan.id, error = %e, "cannot finalise the recording");
                RecordingState::Interrupted
            }
        };
        let duration_ms = u64::try_from(self.last_at.as_millis()).unwrap_or(u64::MAX);
        store::finish(
            &self.db,
            &self.plan.id,
            store::Finished {
                state,
                duration_ms,
                size_bytes: self.written,
                truncated: self.truncated,
                participants: &self.participants,
            },
        )
        .await;
        let ready = serde_json::json!({
            "recording_id": self.plan.id,
            "title": self.plan.title,
            "owner": self.plan.owner,
            "state": state.as_str(),
            "duration_ms": duration_ms,
            "size_bytes": self.written,
            "truncated": self.truncated,
        });
        crate::webhooks::publish(&self.db, crate::webhooks::RECORDING_READY, ready).await;
    }
}
