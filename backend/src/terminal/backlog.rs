//! Output a socket has not taken yet, kept by the hub per viewer (the owner and each joiner).

use std::collections::VecDeque;

use bytes::Bytes;

use super::viewer::Output;

/// Output a socket has not taken yet, in order. Past `cap` bytes everything waiting is dropped
/// and counted, so the socket resumes with the newest output after a `Skipped` notice.
pub struct Backlog {
    items: VecDeque<Output>,
    bytes: usize,
    skipped: u64,
    cap: usize,
}

impl Backlog {
    pub fn new(cap: usize) -> Backlog {
        Backlog {
            items: VecDeque::new(),
            bytes: 0,
            skipped: 0,
            cap,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn push(&mut self, chunk: Bytes) {
        if self.bytes + chunk.len() > self.cap {
            self.skipped += self.bytes as u64;
            self.items.clear();
            self.bytes = 0;
            if chunk.len() > self.cap {
                self.skipped += chunk.len() as u64;
                self.items.push_back(Output::Skipped(self.skipped));
                return;
            }
            self.items.push_back(Output::Skipped(self.skipped));
        }
        self.bytes += chunk.len();
        self.items.push_back(Output::Data(chunk));
    }

    /// A notice that `n` bytes were dropped upstream (by the replica hosting the session, for
    /// a remote viewer), kept in order. Should this backlog overflow too before the notice is
    /// taken, its own notice counts only what it dropped itself.
    pub fn push_skipped(&mut self, n: u64) {
        self.items.push_back(Output::Skipped(n));
    }

    pub fn pop(&mut self) -> Option<Output> {
        let item = self.items.pop_front()?;
        match &item {
            Output::Data(chunk) => self.bytes -= chunk.len(),
            Output::Skipped(_) => self.skipped = 0,
        }
        Some(item)
    }

    /// Puts back an item `pop` gave, when the queue turned out to be full.
    pub fn unpop(&mut self, item: Output) {
        match &item {
            Output::Data(chunk) => self.bytes += chunk.len(),
            Output::Skipped(n) => self.skipped = *n,
        }
        self.items.push_front(item);
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
        self.skipped = 0;
    }
}
