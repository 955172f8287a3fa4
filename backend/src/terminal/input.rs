//! The writing half of a session's shell channel, shared by whichever sockets may type into it
//! (the owner's today; read-write joiners later).
//!
//! Each socket writes from its own reading task: `data_bytes` waits for SSH window space, so a
//! paste bigger than sshd will take holds that socket's reader, and TCP pushes back on its
//! browser, while the hub goes on reading output. Writes are cancelled with the socket (russh can
//! otherwise wait forever on a closed peer).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use russh::client::Msg;
use russh::ChannelWriteHalf;
use tokio::time::timeout;

use super::hub::Activity;
use crate::recordings::Recorder;

#[derive(Clone)]
pub struct Input {
    channel: Arc<ChannelWriteHalf<Msg>>,
    activity: Arc<Activity>,
    recorder: Option<Recorder>,
}

impl Input {
    pub fn new(
        channel: ChannelWriteHalf<Msg>,
        activity: Arc<Activity>,
        recorder: Option<Recorder>,
    ) -> Input {
        Input {
            channel: Arc::new(channel),
            activity,
            recorder,
        }
    }

    /// Bytes for the shell's stdin, typed by `author` (`None`: the owner); false once the
    /// channel is gone.
    pub async fn write(&self, bytes: Bytes, author: Option<&Arc<str>>) -> bool {
        self.activity.touch();
        crate::metrics::terminal_in(bytes.len());
        if let Some(recorder) = &self.recorder {
            recorder.input(&bytes, author);
        }
        self.channel.data_bytes(bytes).await.is_ok()
    }

    /// A new PTY size (already clamped).
    pub async fn resize(&self, cols: u32, rows: u32) {
        if let Some(recorder) = &self.recorder {
            recorder.resize(cols, rows);
        }
        let _ = self.channel.window_change(cols, rows, 0, 0).await;
    }

    /// Closes the channel, which ends the shell (the connection stays pooled).
    pub async fn close(&self) {
        let _ = timeout(Duration::from_secs(2), self.channel.close()).await;
    }
}
