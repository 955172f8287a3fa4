//! The replay buffer: the last `cap` bytes of a session's output, replayed to a socket that
//! (re)attaches. Positions are offsets in the session's whole output stream, so a client that
//! reconnects can ask for exactly what it missed instead of seeing its screen printed twice.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

/// Output is copied into blocks of about this size: few allocations for a flood of output, and
/// a quiet session (a prompt, some echo) holds only what it printed, not a whole block.
const BLOCK: usize = 16 * 1024;

pub struct Ring {
    /// Full blocks, oldest first; the first may have been trimmed at the front.
    blocks: VecDeque<Bytes>,
    /// The block being filled.
    tail: BytesMut,
    /// Bytes held (blocks and tail), never more than `cap`.
    held: usize,
    /// Stream position just past the last byte pushed: everything the session ever printed.
    end: u64,
    cap: usize,
}

/// A stretch of the output stream: `chunks` hold the bytes starting at position `offset`.
pub struct Replay {
    pub offset: u64,
    pub chunks: Vec<Bytes>,
}

impl Replay {
    pub fn len(&self) -> u64 {
        self.chunks.iter().map(|c| c.len() as u64).sum()
    }
}

impl Ring {
    pub fn new(cap: usize) -> Ring {
        Ring {
            blocks: VecDeque::new(),
            tail: BytesMut::new(),
            held: 0,
            end: 0,
            cap,
        }
    }

    /// Appends output, dropping the oldest bytes beyond the cap.
    pub fn push(&mut self, data: &[u8]) {
        self.end += data.len() as u64;
        // Only the newest `cap` bytes of a large push could be kept anyway.
        let data = &data[data.len().saturating_sub(self.cap)..];
        if data.is_empty() {
            return;
        }
        self.tail.extend_from_slice(data);
        self.held += data.len();
        if self.tail.len() >= BLOCK {
            self.blocks
                .push_back(std::mem::take(&mut self.tail).freeze());
        }
        self.trim();
    }

    /// Stream position of the oldest byte still held.
    pub fn start(&self) -> u64 {
        self.end - self.held as u64
    }

    /// Stream position just past the newest byte.
    #[cfg(test)]
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The output from position `from` on (or from the oldest byte held, if `from` is older or
    /// absent) up to now.
    pub fn since(&self, from: Option<u64>) -> Replay {
        let offset = from.unwrap_or(0).clamp(self.start(), self.end);
        let mut skip = usize::try_from(offset - self.start()).unwrap_or(usize::MAX);
        let mut chunks = Vec::new();
        let tail = Bytes::copy_from_slice(&self.tail);
        for block in self.blocks.iter().chain(std::iter::once(&tail)) {
            if skip >= block.len() {
                skip -= block.len();
                continue;
            }
            chunks.push(block.slice(skip..));
            skip = 0;
        }
        Replay { offset, chunks }
    }

    fn trim(&mut self) {
        while self.held > self.cap {
            let excess = self.held - self.cap;
            match self.blocks.front_mut() {
                Some(front) if front.len() <= excess => {
                    self.held -= front.len();
                    self.blocks.pop_front();
                }
                Some(front) => {
                    front.advance(excess);
                    self.held -= excess;
                }
                None => {
                    self.tail.advance(excess);
                    self.held -= excess;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(r: &Replay) -> Vec<u8> {
        r.chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }

    #[test]
    fn keeps_everything_below_the_cap() {
        let mut ring = Ring::new(1000);
        ring.push(b"hello ");
        ring.push(b"world");
        let all = ring.since(None);
        assert_eq!(all.offset, 0);
        assert_eq!(joined(&all), b"hello world");
        assert_eq!(ring.end(), 11);
    }

    #[test]
    fn drops_the_oldest_bytes_and_ends_with_the_newest() {
        let mut ring = Ring::new(BLOCK + 10);
        let mut stream = Vec::new();
        for i in 0..5000u32 {
            let line = format!("line-{i}\n");
            stream.extend_from_slice(line.as_bytes());
            ring.push(line.as_bytes());
        }
        let all = ring.since(None);
        assert_eq!(all.len(), (BLOCK + 10) as u64);
        assert_eq!(all.offset, stream.len() as u64 - all.len());
        assert_eq!(joined(&all), stream[stream.len() - BLOCK - 10..]);
    }

    #[test]
    fn a_push_larger_than_the_cap_keeps_its_end() {
        let mut ring = Ring::new(4);
        ring.push(b"abcdefgh");
        assert_eq!(joined(&ring.since(None)), b"efgh");
        assert_eq!(ring.start(), 4);
        ring.push(b"ij");
        assert_eq!(joined(&ring.since(None)), b"ghij");
    }

    #[test]
    fn since_skips_what_the_client_already_has() {
        let mut ring = Ring::new(100 * BLOCK);
        let stream: Vec<u8> = (0..3 * BLOCK + 7).map(|i| (i % 251) as u8).collect();
        ring.push(&stream[..BLOCK + 3]);
        ring.push(&stream[BLOCK + 3..]);
        for from in [0, 1, BLOCK, BLOCK + 5, 3 * BLOCK + 7] {
            let r = ring.since(Some(from as u64));
            assert_eq!(r.offset, from as u64);
            assert_eq!(joined(&r), stream[from..], "from {from}");
        }
        // A position in the future is clamped to now.
        assert_eq!(ring.since(Some(u64::MAX)).len(), 0);
    }

    #[test]
    fn a_zero_cap_keeps_nothing_but_counts() {
        let mut ring = Ring::new(0);
        ring.push(b"abc");
        assert_eq!(ring.since(None).len(), 0);
        assert_eq!(ring.end(), 3);
        assert_eq!(ring.since(Some(1)).offset, 3);
    }
}
