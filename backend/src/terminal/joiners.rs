//! Feeding joiners: each has its own small queue and its own backlog, and the hub never waits
//! for one, so a slow or stalled joiner lags and skips alone.

use std::collections::HashMap;

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;

use super::backlog::Backlog;
use super::hub::Viewer;
use super::viewer::Output;

/// Offers output to every joiner without ever waiting: what a joiner's queue has no room
/// for waits in its backlog (bounded, then skipped). Joiners whose socket went away are
/// dropped. `None` only flushes the backlogs.
pub(super) fn fan_out(joiners: &mut HashMap<String, (Viewer, Backlog)>, chunk: Option<Bytes>) {
    joiners.retain(|_, (viewer, backlog)| {
        while let Some(item) = backlog.pop() {
            match viewer.output.try_send(item) {
                Ok(()) => {}
                Err(TrySendError::Full(item)) => {
                    backlog.unpop(item);
                    break;
                }
                Err(TrySendError::Closed(_)) => return false,
            }
        }
        let Some(chunk) = chunk.clone() else {
            return !viewer.output.is_closed();
        };
        if !backlog.is_empty() {
            backlog.push(chunk);
            return true;
        }
        match viewer.output.try_send(Output::Data(chunk)) {
            Ok(()) => true,
            Err(TrySendError::Full(Output::Data(chunk))) => {
                backlog.push(chunk);
                true
            }
            Err(TrySendError::Full(Output::Skipped(_))) => true,
            Err(TrySendError::Closed(_)) => false,
        }
    });
}

#[cfg(test)]
mod tests {
    use tokio::sync::{mpsc, oneshot};

    use super::*;

    fn joiner(queue: usize, lag: usize) -> ((Viewer, Backlog), mpsc::Receiver<Output>) {
        let (output, rx) = mpsc::channel(queue);
        let (ending, _) = oneshot::channel();
        ((Viewer { output, ending }, Backlog::new(lag)), rx)
    }

    #[test]
    fn a_stalled_joiner_lags_and_skips_alone_and_a_gone_one_is_dropped() {
        let mut joiners = HashMap::new();
        let (stalled, mut stalled_rx) = joiner(2, 10);
        let (reader, mut reader_rx) = joiner(2, 10);
        let (gone, gone_rx) = joiner(2, 10);
        joiners.insert("stalled".to_owned(), stalled);
        joiners.insert("reader".to_owned(), reader);
        joiners.insert("gone".to_owned(), gone);
        drop(gone_rx);
        for _ in 0..20 {
            fan_out(&mut joiners, Some(Bytes::from_static(b"1234")));
            // The reader keeps up; the stalled joiner never reads.
            while let Ok(item) = reader_rx.try_recv() {
                assert!(matches!(item, Output::Data(_)));
            }
        }
        assert!(!joiners.contains_key("gone"));
        let (_, backlog) = &joiners["stalled"];
        assert!(!backlog.is_empty(), "its own backlog, bounded by its lag");
        // Once it reads again, it is told what it missed.
        let mut skipped = false;
        for _ in 0..10 {
            while let Ok(item) = stalled_rx.try_recv() {
                skipped |= matches!(item, Output::Skipped(_));
            }
            fan_out(&mut joiners, None);
        }
        assert!(skipped);
    }
}
