//! Why an SSH connection failed, in terms a person (and a client matching on `code`) can act on.

use wire::terminal::codes;

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot reach {host}:{port}: {reason}")]
    Unreachable {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("timed out while {0}")]
    Timeout(&'static str),
    #[error(
        "the host key of {host} has changed: pinned {pinned}, presented {presented}. \
         If the server was re-installed, an admin must clear the pinned key."
    )]
    HostKeyMismatch {
        host: String,
        pinned: String,
        presented: String,
    },
    #[error(
        "{host} presented host key {} which no admin has approved yet (strict host-key \
         policy); an admin must approve it first",
        presented.fingerprint
    )]
    HostKeyUnapproved {
        host: String,
        presented: super::host_key::PresentedKey,
    },
    #[error("the gateway holds too many SSH connections; try again shortly")]
    TooManyConnections,
    #[error("SSH authentication failed for user '{user}' (wrong password or key)")]
    AuthFailed { user: String },
    #[error("no usable credential is stored for this server")]
    CredentialsMissing,
    #[error("SSH protocol error: {0}")]
    Protocol(String),
    #[error("the gateway is shutting down")]
    ShuttingDown,
    #[error("the bastion refused to forward to {host}:{port} (forwarding prohibited)")]
    ForwardingProhibited { host: String, port: u16 },
    /// A failure at a bastion of a jump chain, named; the code is the underlying one's.
    #[error("via bastion {hop}: {source}")]
    AtBastion { hop: String, source: Box<SshError> },
    #[error("the jump chain is broken: {0}")]
    BrokenChain(String),
}

impl SshError {
    pub fn code(&self) -> &'static str {
        match self {
            SshError::Unreachable { .. } => codes::UNREACHABLE,
            SshError::Timeout(_) => codes::TIMEOUT,
            SshError::HostKeyMismatch { .. } => codes::HOST_KEY_MISMATCH,
            SshError::HostKeyUnapproved { .. } => codes::HOST_KEY_UNAPPROVED,
            SshError::TooManyConnections => codes::TOO_MANY_CONNECTIONS,
            SshError::AuthFailed { .. } => codes::AUTH_FAILED,
            SshError::CredentialsMissing => codes::CREDENTIALS_MISSING,
            SshError::Protocol(_) => codes::SSH_ERROR,
            SshError::ShuttingDown => codes::SHUTTING_DOWN,
            SshError::ForwardingProhibited { .. } => codes::FORWARDING_PROHIBITED,
            SshError::AtBastion { source, .. } => source.code(),
            SshError::BrokenChain(_) => codes::BROKEN_CHAIN,
        }
    }

    /// Names the bastion this error happened at.
    pub fn at_bastion(self, hop: &str) -> SshError {
        SshError::AtBastion {
            hop: hop.to_owned(),
            source: Box::new(self),
        }
    }

    /// The error itself, without the bastion it happened at.
    pub fn root(&self) -> &SshError {
        match self {
            SshError::AtBastion { source, .. } => source.root(),
            other => other,
        }
    }
}

impl From<russh::Error> for SshError {
    fn from(e: russh::Error) -> Self {
        SshError::Protocol(e.to_string())
    }
}
