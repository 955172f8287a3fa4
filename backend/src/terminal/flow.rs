//! Ack flow control for one socket (see `wire::terminal::ClientFrame::Ack`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::Notify;
use wire::terminal::FLOW_WINDOW;

/// Opt-in application-level flow control (see `wire::terminal::ClientFrame::Ack`). Browsers read
/// every WebSocket frame as soon as it arrives, whatever their renderer can keep up with, so TCP
/// back-pressure alone never reaches a slow browser tab; acks do.
#[derive(Default)]
pub struct Flow {
    enabled: AtomicBool,
    acked: AtomicU64,
    /// Woken by each ack, for a sender waiting on a full window.
    pub acks: Notify,
}

impl Flow {
    pub fn ack(&self, bytes: u64) {
        self.enabled.store(true, Ordering::Release);
        self.acked.fetch_add(bytes, Ordering::AcqRel);
        self.acks.notify_one();
    }

    /// Must the sender wait before sending more, having sent `sent` bytes in all?
    pub fn must_wait(&self, sent: u64) -> bool {
        self.enabled.load(Ordering::Acquire)
            && sent.saturating_sub(self.acked.load(Ordering::Acquire)) >= FLOW_WINDOW
    }
}
