//! Pipelined SFTP transfers: several reads or writes in flight on one file handle, so a transfer
//! runs at the link's speed rather than one round trip per chunk. Memory is bounded by
//! `depth × chunk` per transfer whatever the file's size.
//!
//! Reads come back in order (a `FuturesOrdered`); a short read (the server may answer with less
//! than asked) queues the missing range at the front, so bytes are still delivered in order.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::stream::{FuturesOrdered, FuturesUnordered, StreamExt};
use futures::Stream;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::client::RawSftpSession;
use russh_sftp::protocol::StatusCode as Fx;

type ReadResult = (u64, u32, Result<Vec<u8>, SftpError>);

/// Reads `[start, end)` of an open file as a stream of chunks, in order.
pub struct Reader {
    raw: Arc<RawSftpSession>,
    handle: Option<String>,
    next: u64,
    end: u64,
    chunk: u32,
    depth: usize,
    inflight: FuturesOrdered<BoxFuture<'static, ReadResult>>,
}

/// What went wrong mid-transfer.
#[derive(Debug)]
pub enum PipeError {
    Sftp(SftpError),
    /// The file ended before the size it had when the transfer started.
    Truncated(u64),
}

impl std::fmt::Display for PipeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipeError::Sftp(e) => write!(f, "{e}"),
            PipeError::Truncated(at) => write!(f, "the file ended early, at byte {at}"),
        }
    }
}

impl Reader {
    pub fn new(
        raw: Arc<RawSftpSession>,
        handle: String,
        start: u64,
        end: u64,
        chunk: u32,
        depth: usize,
    ) -> Reader {
        Reader {
            raw,
            handle: Some(handle),
            next: start,
            end,
            chunk: chunk.max(1),
            depth: depth.max(1),
            inflight: FuturesOrdered::new(),
        }
    }

    fn request(&self, offset: u64, len: u32) -> BoxFuture<'static, ReadResult> {
        let raw = self.raw.clone();
        let handle = self.handle.clone().unwrap_or_default();
        Box::pin(async move {
            let result = raw.read(handle, offset, len).await.map(|d| d.data);
            (offset, len, result)
        })
    }

    fn fill(&mut self) {
        while self.inflight.len() < self.depth && self.next < self.end {
            let len = u32::try_from((self.end - self.next).min(u64::from(self.chunk)))
                .unwrap_or(self.chunk);
            let request = self.request(self.next, len);
            self.inflight.push_back(request);
            self.next += u64::from(len);
        }
    }

    /// The next chunk, or `None` once `end` is reached.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, PipeError> {
        self.fill();
        let Some((offset, len, result)) = self.inflight.next().await else {
            return Ok(None);
        };
        match result {
            Ok(data) if !data.is_empty() => {
                let got = data.len() as u64;
                if got < u64::from(len) {
                    let gap = self.request(offset + got, len - got as u32);
                    self.inflight.push_front(gap);
                }
                Ok(Some(Bytes::from(data)))
            }
            Ok(_) => Err(PipeError::Truncated(offset)),
            Err(SftpError::Status(s)) if s.status_code == Fx::Eof => {
                Err(PipeError::Truncated(offset))
            }
            Err(e) => Err(PipeError::Sftp(e)),
        }
    }

    /// The reader as a byte stream (for an HTTP body); the first error ends it.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, PipeError>> + Send {
        futures::stream::unfold(Some(self), |reader| async move {
            let mut reader = reader?;
            match reader.next_chunk().await {
                Ok(Some(bytes)) => Some((Ok(bytes), Some(reader))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        close_in_background(&self.raw, self.handle.take());
    }
}

/// Writes a file sequentially from offset 0 with up to `depth` writes in flight.
pub struct Writer {
    raw: Arc<RawSftpSession>,
    handle: Option<String>,
    offset: u64,
    chunk: usize,
    depth: usize,
    buf: BytesMut,
    inflight: FuturesUnordered<BoxFuture<'static, Result<(), SftpError>>>,
}

impl Writer {
    pub fn new(raw: Arc<RawSftpSession>, handle: String, chunk: u32, depth: usize) -> Writer {
        let chunk = usize::try_from(chunk).unwrap_or(32 * 1024).max(1);
        Writer {
            raw,
            handle: Some(handle),
            offset: 0,
            chunk,
            depth: depth.max(1),
            buf: BytesMut::with_capacity(chunk),
            inflight: FuturesUnordered::new(),
        }
    }

    pub async fn write(&mut self, mut data: &[u8]) -> Result<(), SftpError> {
        while !data.is_empty() {
            let take = (self.chunk - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == self.chunk {
                self.send().await?;
            }
        }
        Ok(())
    }

    async fn send(&mut self) -> Result<(), SftpError> {
        while self.inflight.len() >= self.depth {
            if let Some(result) = self.inflight.next().await {
                result?;
            }
        }
        let piece = self.buf.split().to_vec();
        let len = piece.len() as u64;
        let (raw, handle, offset) = (
            self.raw.clone(),
            self.handle.clone().unwrap_or_default(),
            self.offset,
        );
        self.inflight.push(Box::pin(async move {
            raw.write(handle, offset, piece).await.map(|_| ())
        }));
        self.offset += len;
        Ok(())
    }

    /// Writes what is buffered, waits for every write to be acknowledged and closes the handle.
    /// Returns the file's length.
    pub async fn finish(mut self) -> Result<u64, SftpError> {
        if !self.buf.is_empty() {
            self.send().await?;
        }
        while let Some(result) = self.inflight.next().await {
            result?;
        }
        if let Some(handle) = self.handle.take() {
            self.raw.close(handle).await?;
        }
        Ok(self.offset)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        close_in_background(&self.raw, self.handle.take());
    }
}

/// A handle abandoned mid-transfer (the client went away) is closed without waiting, so the
/// server does not keep it open for the life of the pooled session.
fn close_in_background(raw: &Arc<RawSftpSession>, handle: Option<String>) {
    let (Some(handle), Ok(runtime)) = (handle, tokio::runtime::Handle::try_current()) else {
        return;
    };
    let raw = raw.clone();
    runtime.spawn(async move {
        let _ = raw.close(handle).await;
    });
}
