//! Live terminal sessions, so shutdown can end them cleanly and wait for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio_util::task::TaskTracker;

#[derive(Debug, Clone)]
pub struct LiveTerminal {
    pub user_id: i32,
    pub server_id: i32,
    pub started_at: DateTime<Utc>,
}

#[derive(Clone, Default)]
pub struct TerminalRegistry {
    live: Arc<Mutex<HashMap<String, LiveTerminal>>>,
    tasks: TaskTracker,
}

impl TerminalRegistry {
    pub fn insert(&self, session_id: &str, terminal: LiveTerminal) {
        if let Ok(mut live) = self.live.lock() {
            live.insert(session_id.to_string(), terminal);
        }
    }

    pub fn remove(&self, session_id: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(session_id);
        }
    }

    pub fn count(&self) -> usize {
        self.live.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// Logs every terminal still open (used when shutdown runs out of patience).
    pub fn log_remaining(&self) {
        if let Ok(live) = self.live.lock() {
            for (id, t) in live.iter() {
                tracing::warn!(session_id = %id, user_id = t.user_id, server_id = t.server_id, started_at = %t.started_at, "terminal still open");
            }
        }
    }

    /// Every terminal task runs under this tracker so shutdown can wait for them to finish.
    pub fn tracker(&self) -> &TaskTracker {
        &self.tasks
    }
}
