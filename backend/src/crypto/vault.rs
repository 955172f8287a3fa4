//! Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the master
//! secret with HKDF. Each ciphertext is wrapped in a versioned envelope `gh1:<key id>:<token>`, so
//! a key rotation can tell which key sealed a value: while a rotation is under way the vault also
//! holds the previous master's key, opens what either sealed, and seals only under the current.

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

/// One derived key and the id its envelopes carry.
struct SealKey {
    fernet: fernet::Fernet,
    key_id: String,
}

pub struct Vault {
    current: SealKey,
    /// The previous master's key during a rotation (`secret_key_previous`): opens, never seals.
    previous: Option<SealKey>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.previous {
            Some(p) => write!(
                f,
                "Vault(key {}, previous {})",
                self.current.key_id, p.key_id
            ),
            None => write!(f, "Vault(key {})", self.current.key_id),
        }
    }
}

impl SealKey {
    fn derive(master: &Secret<String>) -> SealKey {
        let hk = Hkdf::<Sha256>::new(Some(b"gatehouse"), master.expose().as_bytes());
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        hk.expand(b"credentials-at-rest v1", &mut okm)
            .unwrap_or_else(|_| unreachable!("32-byte HKDF output is always valid"));
        let key_id = hex::encode(&Sha256::digest(okm)[..4]);
        let fernet = fernet::Fernet::new(&URL_SAFE.encode(okm))
            .unwrap_or_else(|| unreachable!("a 32-byte key is always a valid Fernet key"));
        SealKey { fernet, key_id }
    }
}

/// The key id an envelope names, and its token.
fn split(envelope: &str) -> Result<(&str, &str), VaultError> {
    let mut parts = envelope.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(ENVELOPE_VERSION), Some(key_id), Some(token)) => Ok((key_id, token)),
        _ => Err(VaultError::Malformed),
    }
}

impl Vault {
    pub fn from_master(master: &Secret<String>) -> Vault {
        Vault::with_previous(master, None)
    }

    /// A vault that seals under `master` and also opens what `previous` sealed.
    pub fn with_previous(master: &Secret<String>, previous: Option<&Secret<String>>) -> Vault {
        let current = SealKey::derive(master);
        // The same secret twice is no rotation: one key is enough.
        let previous = previous
            .map(SealKey::derive)
            .filter(|p| p.key_id != current.key_id);
        Vault { current, previous }
    }

    /// The id new envelopes carry.
    pub fn key_id(&self) -> &str {
        &self.current.key_id
    }

    /// Whether `envelope` was sealed under the current key (a rotation has nothing to do for it).
    pub fn is_current(&self, envelope: &str) -> bool {
        split(envelope).is_ok_and(|(key_id, _)| key_id == self.current.key_id)
    }

    pub fn seal(&self, plaintext: &str) -> String {
        format!(
            "{ENVELOPE_VERSION}:{}:{}",
            self.current.key_id,
            self.current.fernet.encrypt(plaintext.as_bytes())
        )
    }

    pub fn open(&self, envelope: &str) -> Result<Secret<String>, VaultError> {
        let (key_id, token) = split(envelope)?;
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.key_id == key_id)
            .ok_or_else(|| VaultError::UnknownKey(key_id.to_string()))?;
        let bytes = key.fernet.decrypt(token).map_err(|_| VaultError::Corrupt)?;
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

    #[test]
    fn during_a_rotation_both_keys_open_and_only_the_new_one_seals() {
        let old = Secret::new("0123456789abcdef0123456789abcdef".to_string());
        let new = Secret::new("fedcba9876543210fedcba9876543210".to_string());
        let under_old = Vault::from_master(&old).seal("old secret");
        let rotating = Vault::with_previous(&new, Some(&old));
        assert_eq!(rotating.open(&under_old).unwrap().expose(), "old secret");
        assert!(!rotating.is_current(&under_old));
        let under_new = rotating.seal("new secret");
        assert!(rotating.is_current(&under_new));
        assert_eq!(rotating.key_id(), Vault::from_master(&new).key_id());
        // Once the previous key is dropped, what it sealed no longer opens.
        let after = Vault::from_master(&new);
        assert!(matches!(
            after.open(&under_old),
            Err(VaultError::UnknownKey(_))
        ));
        assert_eq!(after.open(&under_new).unwrap().expose(), "new secret");
        let third = vault("a-third-key-that-is-long-enough-0000");
        assert!(matches!(
            third.open(&under_new),
            Err(VaultError::UnknownKey(_))
        ));
    }
}
