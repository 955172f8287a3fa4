//! Outbound SSH: connecting to a server (through its jump chain) with its stored credentials,
//! verifying every hop's host key against its pin on every connection, pooling connections per
//! user and server, and naming failures precisely (unreachable, timeout, auth failed, host key
//! changed or unapproved, forwarding prohibited). Terminals, SFTP, the test endpoint and the
//! monitor all connect through here.

pub mod connect;
pub mod error;
pub mod host_key;
pub mod open;
pub mod pool;
pub mod trust;

pub use connect::{Target, Timeouts};
pub use error::SshError;
pub use open::session_channel;
pub use pool::{Lease, SshPool};
