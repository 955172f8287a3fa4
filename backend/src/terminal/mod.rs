//! Browser terminals that outlive their WebSocket. A session (`session.rs`) is a shell channel on
//! the user's pooled SSH connection, driven by a hub task (`hub.rs`) that reads its output into a
//! replay ring (`ring.rs`) and to the attached socket; attached sockets type into the channel's
//! writing half (`input.rs`); `viewer.rs` is what the hub and its sockets say to each other. A
//! socket (`attachment.rs`, with ack flow control in `flow.rs`) binds to a session when it opens
//! one or reattaches (`handler.rs`); when it goes away the session waits, detached, for a grace
//! period. `registry.rs` finds sessions by id and counts them per user; `api.rs` lists and ends
//! them over REST. Sharing: `sharing.rs` keeps share links and participants, `share_api.rs` is
//! their REST side, `share_ws.rs` the join and watch sockets; joiners bind through the same
//! attachment, fed by the hub from their own queues. `remote/` lets a socket on one replica
//! bind to a session another runs (through Redis).

pub mod access;
pub mod api;
pub mod attachment;
pub mod backlog;
pub mod flow;
pub mod handler;
pub mod hub;
pub mod inbound;
pub mod input;
pub mod joiners;
pub mod registry;
pub mod remote;
pub mod ring;
pub mod session;
pub mod share_api;
pub mod share_ws;
pub mod sharing;
pub mod viewer;
