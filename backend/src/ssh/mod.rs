//! Outbound SSH: connecting to a server with its stored credential, verifying its host key against
//! the pin on every connection, and naming failures precisely (unreachable, timeout, auth failed,
//! host key changed). Terminals and, later, SFTP and the monitor all connect through here.

pub mod connect;
pub mod error;
pub mod host_key;
pub mod open;

pub use connect::{connect, Connection, Target, Timeouts};
pub use error::SshError;
pub use open::open;
