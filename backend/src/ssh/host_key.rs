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

pub struct HostKeyCheck {
    host: String,
    pinned: Option<String>,
    seen: Arc<Mutex<Option<PresentedKey>>>,
}

impl HostKeyCheck {
    pub fn new(host: String, pinned: Option<String>) -> (Self, Arc<Mutex<Option<PresentedKey>>>) {
        let seen = Arc::new(Mutex::new(None));
        (
            HostKeyCheck {
                host,
                pinned,
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
        match &self.pinned {
            None => Ok(true),
            Some(pinned) if *pinned == presented.fingerprint => Ok(true),
            Some(pinned) => Err(SshError::HostKeyMismatch {
                host: self.host.clone(),
                pinned: pinned.clone(),
                presented: presented.fingerprint,
            }),
        }
    }
}
