//! Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the master
//! secret with HKDF. Each ciphertext is wrapped in a versioned envelope `gh1:<key id>:<token>`, so
//! a future key rotation can tell which key sealed a value.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use super::Secret;

const ENVELOPE_VERSION: &str = "gh1";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("stored credential is not a Gatehouse envelope")]
    Malformed,
    #[error("stored credential was sealed with another key ({0})")]
    UnknownKey(String),
    #[error("stored credential failed authentication (wrong key or corrupted)")]
    Corrupt,
}

pub struct Vault {
    fernet: fernet::Fernet,
    key_id: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault(key {})", self.key_id)
    }
}

impl Vault {
    pub fn from_master(master: &Secret<String>) -> Vault {
        let hk = Hkdf::<Sha256>::new(Some(b"gatehouse"), master.expose().as_bytes());
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        hk.expand(b"credentials-at-rest v1", &mut okm)
            .unwrap_or_else(|_| unreachable!("32-byte HKDF output is always valid"));
        let key_id = hex::encode(&Sha256::digest(okm)[..4]);
        let fernet = fernet::Fernet::new(&URL_SAFE.encode(okm))
            .unwrap_or_else(|| unreachable!("a 32-byte key is always a valid Fernet key"));
        Vault { fernet, key_id }
    }

    pub fn seal(&self, plaintext: &str) -> String {
        format!(
            "{ENVELOPE_VERSION}:{}:{}",
            self.key_id,
            self.fernet.encrypt(plaintext.as_bytes())
        )
    }

    pub fn open(&self, envelope: &str) -> Result<Secret<String>, VaultError> {
        let mut parts = envelope.splitn(3, ':');
        let (Some(ENVELOPE_VERSION), Some(key_id), Some(token)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(VaultError::Malformed);
        };
        if key_id != self.key_id {
            return Err(VaultError::UnknownKey(key_id.to_string()));
        }
        let bytes = self
            .fernet
            .decrypt(token)
            .map_err(|_| VaultError::Corrupt)?;
        String::from_utf8(bytes)
            .map(Secret::new)
            .map_err(|_| VaultError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(key: &str) -> Vault {
        Vault::from_master(&Secret::new(key.to_string()))
    }

    #[test]
    fn sealed_values_open_and_hide_the_plaintext() {
        let v = vault("0123456789abcdef0123456789abcdef");
        let sealed = v.seal("p@ssw0rd");
        assert!(sealed.starts_with("gh1:"));
        assert!(!sealed.contains("p@ssw0rd"));
        assert_eq!(v.open(&sealed).unwrap().expose(), "p@ssw0rd");
    }

    #[test]
    fn another_key_or_tampering_is_refused() {
        let a = vault("0123456789abcdef0123456789abcdef");
        let b = vault("fedcba9876543210fedcba9876543210");
        let sealed = a.seal("secret");
        assert!(matches!(b.open(&sealed), Err(VaultError::UnknownKey(_))));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert!(a.open(&tampered).is_err());
        assert!(matches!(a.open("plain"), Err(VaultError::Malformed)));
    }
}
