//! The writing half of a session's shell channel, shared by whichever sockets may type into it
//! (the owner's today; read-write joiners later).
//!
//! Each socket writes from its own reading task: `data_bytes` waits for SSH window space, so a
//! paste bigger than sshd will take holds that socket's reader, and TCP pushes back on its
//! browser, while the hub goes on reading output. Writes are cancelled with the socket (russh can
//! otherwise wait forever on a closed peer).
//!
//! A socket bound to a session on another replica types through a remote input instead: its
//! bytes and sizes go to the hosting replica as bridge frames (`remote/`), which writes them
//! here.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use russh::client::Msg;
use russh::ChannelWriteHalf;
use tokio::time::timeout;

use super::hub::Activity;
use super::remote::proxy;
use crate::cluster::Cluster;
use crate::recordings::Recorder;

#[derive(Clone)]
pub struct Input(Writer);

#[derive(Clone)]
enum Writer {
    Local {
        channel: Arc<ChannelWriteHalf<Msg>>,
        activity: Arc<Activity>,
        recorder: Option<Recorder>,
    },
    /// To the replica hosting the session, on the bridge's `up` channel.
    Remote { cluster: Cluster, up: Arc<str> },
}

impl Input {
    pub fn new(
        channel: ChannelWriteHalf<Msg>,
        activity: Arc<Activity>,
        recorder: Option<Recorder>,
    ) -> Input {
        Input(Writer::Local {
            channel: Arc::new(channel),
            activity,
            recorder,
        })
    }

    pub fn remote(cluster: Cluster, up: String) -> Input {
        Input(Writer::Remote {
            cluster,
            up: up.into(),
        })
    }

    /// Bytes for the shell's stdin, typed by `author` (`None`: the owner); false once the
    /// channel is gone.
    pub async fn write(&self, bytes: Bytes, author: Option<&Arc<str>>) -> bool {
        match &self.0 {
            Writer::Local {
                channel,
                activity,
                recorder,
            } => {
                activity.touch();
                crate::metrics::terminal_in(bytes.len());
                if let Some(recorder) = recorder {
                    recorder.input(&bytes, author);
                }
                channel.data_bytes(bytes).await.is_ok()
            }
            Writer::Remote { cluster, up } => cluster
                .publish(up, &proxy::stdin_frame(bytes))
                .await
                .is_ok(),
        }
    }

    /// A new PTY size (already clamped).
    pub async fn resize(&self, cols: u32, rows: u32) {
        match &self.0 {
            Writer::Local {
                channel, recorder, ..
            } => {
                if let Some(recorder) = recorder {
                    recorder.resize(cols, rows);
                }
                let _ = channel.window_change(cols, rows, 0, 0).await;
            }
            Writer::Remote { cluster, up } => {
                let _ = cluster.publish(up, &proxy::resize_frame(cols, rows)).await;
            }
        }
    }

    /// Closes the channel, which ends the shell (the connection stays pooled). A remote input
    /// has no channel here: its host closes its own.
    pub async fn close(&self) {
        if let Writer::Local { channel, .. } = &self.0 {
            let _ = timeout(Duration::from_secs(2), channel.close()).await;
        }
    }
}
