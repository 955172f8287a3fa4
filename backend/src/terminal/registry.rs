//! Live terminal sessions, attached or detached: found by id to reattach, listed per user,
//! counted per user against the session cap, and tracked so shutdown can wait for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use super::input::Input;
use super::sharing::Sharing;
use super::viewer::Command;
use crate::recordings::Recorder;

/// A PTY size within what the gateway accepts: 2–1000 columns, 1–1000 rows.
pub fn clamp_dims(cols: u32, rows: u32) -> (u32, u32) {
    (cols.clamp(2, 1000), rows.clamp(1, 1000))
}

/// What the registry knows about a session, for listing and for the owner check.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user_id: i32,
    /// The owner's username (shown to joiners).
    pub owner: String,
    pub server_id: i32,
    pub server_name: String,
    pub started_at: DateTime<Utc>,
    pub attached: bool,
    pub cols: u32,
    pub rows: u32,
    /// The session's recording, when its server's policy records it.
    pub recorder: Option<Recorder>,
}

struct Entry {
    info: SessionInfo,
    commands: mpsc::Sender<Command>,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Entry>,
    /// Sessions per user, counted from the moment a slot is reserved (before the upgrade) until
    /// the session has ended, so concurrent opens cannot overshoot the cap.
    slots: HashMap<i32, usize>,
}

#[derive(Clone, Default)]
pub struct TerminalRegistry {
    inner: Arc<Mutex<Inner>>,
    tasks: TaskTracker,
    sharing: Sharing,
}

/// One of a user's session slots; the session holds it for its whole life.
pub struct Slot {
    inner: Arc<Mutex<Inner>>,
    user_id: i32,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = lock(&self.inner);
        if let Some(n) = inner.slots.get_mut(&self.user_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.slots.remove(&self.user_id);
            }
        }
    }
}

/// A poisoned lock only means another thread panicked mid-update of plain maps; go on.
fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TerminalRegistry {
    /// A slot for one more session of `user_id`, unless they already have `cap` (0: no cap).
    pub fn reserve(&self, user_id: i32, cap: usize) -> Option<Slot> {
        let mut inner = lock(&self.inner);
        let used = inner.slots.entry(user_id).or_default();
        if cap != 0 && *used >= cap {
            return None;
        }
        *used += 1;
        Some(Slot {
            inner: self.inner.clone(),
            user_id,
        })
    }

    pub fn insert(&self, session_id: &str, info: SessionInfo, commands: mpsc::Sender<Command>) {
        lock(&self.inner)
            .sessions
            .insert(session_id.to_string(), Entry { info, commands });
    }

    pub fn remove(&self, session_id: &str) {
        lock(&self.inner).sessions.remove(session_id);
        self.sharing.forget(session_id);
    }

    /// Share links and participants of every session.
    pub fn sharing(&self) -> &Sharing {
        &self.sharing
    }

    /// The session, whoever owns it (for joiners, watchers and admins).
    pub fn get(&self, session_id: &str) -> Option<(SessionInfo, mpsc::Sender<Command>)> {
        let inner = lock(&self.inner);
        let entry = inner.sessions.get(session_id)?;
        Some((entry.info.clone(), entry.commands.clone()))
    }

    /// The session, if it is alive and `user_id` owns it. Anyone else learns nothing, not even
    /// that it exists.
    pub fn owned(
        &self,
        session_id: &str,
        user_id: i32,
    ) -> Option<(SessionInfo, mpsc::Sender<Command>)> {
        let inner = lock(&self.inner);
        let entry = inner.sessions.get(session_id)?;
        (entry.info.user_id == user_id).then(|| (entry.info.clone(), entry.commands.clone()))
    }

    /// Every live session.
    pub fn all(&self) -> Vec<(String, SessionInfo, mpsc::Sender<Command>)> {
        lock(&self.inner)
            .sessions
            .iter()
            .map(|(id, e)| (id.clone(), e.info.clone(), e.commands.clone()))
            .collect()
    }

    /// `user_id`'s live sessions, oldest first.
    pub fn of_user(&self, user_id: i32) -> Vec<(String, SessionInfo)> {
        let inner = lock(&self.inner);
        let mut list: Vec<_> = inner
            .sessions
            .iter()
            .filter(|(_, e)| e.info.user_id == user_id)
            .map(|(id, e)| (id.clone(), e.info.clone()))
            .collect();
        list.sort_by(|a, b| a.1.started_at.cmp(&b.1.started_at).then(a.0.cmp(&b.0)));
        list
    }

    /// Sizes the session's PTY through `input` (clamped: see [`clamp_dims`]) and remembers the
    /// size for listings. A session another replica runs is remembered there, by its host.
    pub async fn resize(&self, session_id: &str, input: &Input, cols: u32, rows: u32) {
        let (cols, rows) = clamp_dims(cols, rows);
        self.update(session_id, |s| (s.cols, s.rows) = (cols, rows));
        input.resize(cols, rows).await;
    }

    pub fn update(&self, session_id: &str, f: impl FnOnce(&mut SessionInfo)) {
        if let Some(entry) = lock(&self.inner).sessions.get_mut(session_id) {
            f(&mut entry.info);
        }
    }

    pub fn count(&self) -> usize {
        lock(&self.inner).sessions.len()
    }

    /// Logs every terminal still open (used when shutdown runs out of patience).
    pub fn log_remaining(&self) {
        for (id, t) in lock(&self.inner).sessions.iter() {
            let t = &t.info;
            tracing::warn!(session_id = %id, user_id = t.user_id, server_id = t.server_id, started_at = %t.started_at, attached = t.attached, "terminal still open");
        }
    }

    /// Every terminal task (sessions and their sockets) runs under this tracker so shutdown can
    /// wait for them to finish.
    pub fn tracker(&self) -> &TaskTracker {
        &self.tasks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_counts_reserved_slots_until_they_are_dropped() {
        let registry = TerminalRegistry::default();
        let a = registry.reserve(1, 2).expect("first");
        let _b = registry.reserve(1, 2).expect("second");
        assert!(registry.reserve(1, 2).is_none(), "third is over the cap");
        assert!(
            registry.reserve(2, 2).is_some(),
            "another user has their own"
        );
        drop(a);
        assert!(registry.reserve(1, 2).is_some(), "a freed slot is reusable");
        assert!(registry.reserve(1, 0).is_some(), "0 means no cap");
    }
}
