//! Browser terminals: the WebSocket endpoint, the pump that moves bytes between the socket and
//! the SSH channel with back-pressure both ways, and the registry of live sessions.

pub mod handler;
pub mod pump;
pub mod registry;
