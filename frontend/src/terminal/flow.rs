//! Ack flow control on the browser side (see `wire::terminal::ClientFrame::Ack`).

use std::collections::VecDeque;

use wire::terminal::ACK_EVERY;

/// Output written to xterm but not yet acknowledged to the gateway. xterm runs write callbacks
/// in write order, so a queue of sizes tells which write each callback completes; each entry
/// also names the socket it came on, since a new socket starts a new window.
#[derive(Default)]
pub struct FlowAcks {
    in_parser: VecDeque<(u32, u32)>,
    unacked: u64,
    socket: u32,
}

impl FlowAcks {
    pub fn reset(&mut self) {
        self.socket = self.socket.wrapping_add(1);
        self.unacked = 0;
    }

    pub fn written(&mut self, len: u32) {
        self.in_parser.push_back((self.socket, len));
    }

    /// One write was parsed; returns the bytes to ack when enough have accumulated.
    pub fn parsed(&mut self) -> Option<u64> {
        let (socket, len) = self.in_parser.pop_front()?;
        if socket != self.socket {
            return None;
        }
        self.unacked += u64::from(len);
        (self.unacked >= ACK_EVERY).then(|| std::mem::take(&mut self.unacked))
    }
}
