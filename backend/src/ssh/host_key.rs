//! Host-key verification. The russh handler is a thin adapter: it compares the presented key with
//! the pin it was given and records what it saw, so the caller can pin it on first use.

use std::sync::{Arc, Mutex};

use russh::client;
use russh::keys::{HashAlg, PublicKey, PublicKeyOrCertificate};

use super::SshError;

/// The key a host presented: `SHA256:…` fingerprint and the OpenSSH public-key line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedKey {
    pub fingerprint: String,
    pub openssh: String,
}

/// Which key a host may present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Only the key with this `SHA256:…` fingerprint.
    Pinned(String),
    /// No pin yet and the policy is trust-on-first-use: accept, and the caller pins it.
    FirstUse,
    /// No pin yet and the policy is strict: refuse before any credential is sent; the caller
    /// records the key for an admin to approve.
    AwaitApproval,
}

impl Trust {
    /// The trust for a host with `pinned` (or none) under the configured policy.
    pub fn for_pin(pinned: Option<&String>, strict: bool) -> Trust {
        match pinned {
            Some(fingerprint) => Trust::Pinned(fingerprint.clone()),
            None if strict => Trust::AwaitApproval,
            None => Trust::FirstUse,
        }
    }
}

pub struct HostKeyCheck {
    host: String,
    trust: Trust,
    seen: Arc<Mutex<Option<PresentedKey>>>,
}

impl HostKeyCheck {
    pub fn new(host: String, trust: Trust) -> (Self, Arc<Mutex<Option<PresentedKey>>>) {
        let seen = Arc::new(Mutex::new(None));
        (
            HostKeyCheck {
                host,
                trust,
                seen: seen.clone(),
            },
            seen,
        )
    }
}

fn describe(key: &PublicKeyOrCertificate) -> PresentedKey {
    let public: PublicKey = match key {
        PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
        // A host certificate is pinned by the key it certifies.
        PublicKeyOrCertificate::Certificate(cert) => PublicKey::from(cert.public_key().clone()),
    };
    PresentedKey {
        fingerprint: public.fingerprint(HashAlg::Sha256).to_string(),
        openssh: public.to_openssh().unwrap_or_default(),
    }
}

impl client::Handler for HostKeyCheck {
    type Error = SshError;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, SshError> {
        let presented = describe(key);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(presented.clone());
        }
        match &self.trust {
            Trust::FirstUse => Ok(true),
            Trust::Pinned(pinned) if *pinned == presented.fingerprint => Ok(true),
            Trust::Pinned(pinned) => Err(SshError::HostKeyMismatch {
                host: self.host.clone(),
                pinned: pinned.clone(),
                presented: presented.fingerprint,
            }),
            Trust::AwaitApproval => Err(SshError::HostKeyUnapproved {
                host: self.host.clone(),
                presented,
            }),
        }
    }
}
