//! Cryptography in one place: the master secret, credential encryption at rest, password hashing
//! and random tokens. Nothing here logs or formats a secret.

pub mod master_key;
pub mod password;
pub mod secret;
pub mod token;
pub mod vault;

pub use secret::Secret;
