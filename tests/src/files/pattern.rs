//! Deterministic bytes for big transfers, checked as they stream so a 1 GB file is never held
//! whole in memory.

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;

use futures::Stream;

/// Size of one [`Pattern`] chunk.
pub const PATTERN_CHUNK: usize = 1 << 20;

/// Deterministic, incompressible test bytes of any length: one random 1 MiB block, each
/// block-sized chunk stamped with its index, so a dropped, repeated or reordered chunk shows as
/// surely as a flipped byte. Checked as it streams, never held whole.
#[derive(Clone)]
pub struct Pattern {
    block: Arc<Vec<u8>>,
}

impl Default for Pattern {
    fn default() -> Self {
        Self::new()
    }
}

impl Pattern {
    pub fn new() -> Pattern {
        let mut block = vec![0u8; PATTERN_CHUNK];
        fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut block))
            .expect("read /dev/urandom");
        Pattern {
            block: Arc::new(block),
        }
    }

    /// Chunk `index` (bytes `index * PATTERN_CHUNK ..`).
    pub fn chunk(&self, index: u64) -> Vec<u8> {
        let mut chunk = self.block.to_vec();
        for (b, s) in chunk.iter_mut().zip(index.to_le_bytes()) {
            *b ^= s;
        }
        chunk
    }

    /// The first `len` bytes as a stream of chunks.
    pub fn stream(&self, len: u64) -> impl Stream<Item = io::Result<Vec<u8>>> + Send + 'static {
        let pattern = self.clone();
        futures::stream::unfold(0u64, move |done| {
            let pattern = pattern.clone();
            async move {
                if done >= len {
                    return None;
                }
                let mut chunk = pattern.chunk(done / PATTERN_CHUNK as u64);
                chunk.truncate((len - done).min(PATTERN_CHUNK as u64) as usize);
                let next = done + chunk.len() as u64;
                Some((Ok(chunk), next))
            }
        })
    }

    /// Write the first `len` bytes to `path`.
    pub fn write_file(&self, path: &Path, len: u64) {
        let file =
            fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        let mut out = BufWriter::with_capacity(PATTERN_CHUNK, file);
        let mut done = 0u64;
        let mut index = 0;
        while done < len {
            let mut chunk = self.chunk(index);
            chunk.truncate((len - done).min(PATTERN_CHUNK as u64) as usize);
            out.write_all(&chunk).expect("write pattern");
            done += chunk.len() as u64;
            index += 1;
        }
        out.flush().expect("flush pattern");
    }

    /// A checker for bytes expected to be this pattern from offset 0.
    pub fn checker(&self) -> PatternCheck {
        self.checker_at(0)
    }

    /// A checker for bytes expected to be this pattern from `offset`.
    pub fn checker_at(&self, offset: u64) -> PatternCheck {
        PatternCheck {
            pattern: self.clone(),
            offset,
            cached: None,
        }
    }

    /// Panic unless the file at `path` is exactly the first `len` bytes of the pattern.
    pub fn check_file(&self, path: &Path, len: u64) {
        let mut file =
            fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let mut check = self.checker();
        let mut buf = vec![0u8; PATTERN_CHUNK];
        loop {
            let n = file.read(&mut buf).expect("read the file back");
            if n == 0 {
                break;
            }
            check.feed(&buf[..n]);
        }
        check.finish(len);
    }
}

/// Compares bytes, as they arrive, with a [`Pattern`].
pub struct PatternCheck {
    pattern: Pattern,
    offset: u64,
    cached: Option<(u64, Vec<u8>)>,
}

impl PatternCheck {
    /// Panic at the first byte of `data` that differs from the pattern.
    #[track_caller]
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let index = self.offset / PATTERN_CHUNK as u64;
            let within = (self.offset % PATTERN_CHUNK as u64) as usize;
            if self.cached.as_ref().map(|(i, _)| *i) != Some(index) {
                self.cached = Some((index, self.pattern.chunk(index)));
            }
            let expected = &self.cached.as_ref().expect("cached chunk").1[within..];
            let n = data.len().min(expected.len());
            if data[..n] != expected[..n] {
                let at = (0..n)
                    .find(|&i| data[i] != expected[i])
                    .expect("a differing byte");
                panic!(
                    "byte {} differs from what was sent: got {:#04x}, expected {:#04x}",
                    self.offset + at as u64,
                    data[at],
                    expected[at]
                );
            }
            self.offset += n as u64;
            data = &data[n..];
        }
    }

    /// Bytes checked so far (plus the starting offset).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Panic unless exactly `end` bytes arrived in all.
    #[track_caller]
    pub fn finish(&self, end: u64) {
        assert_eq!(self.offset, end, "length differs from what was sent");
    }
}
