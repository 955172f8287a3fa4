//! The master secret. It comes from `GATEHOUSE_SECRET_KEY` (or its `_FILE`); without one, a random
//! key is generated once into `<data_dir>/secret.key` with mode 0600 so a first run needs nothing.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;

use super::Secret;

pub const KEY_FILE: &str = "secret.key";

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("cannot read or create the secret key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the secret key must be at least 32 characters long")]
    TooShort,
}

/// Returns the configured secret, or the one in the data directory, generating it if needed.
/// The bool says whether a key was generated just now.
pub fn load_or_generate(
    configured: Option<&Secret<String>>,
    data_dir: &Path,
) -> Result<(Secret<String>, bool), MasterKeyError> {
    if let Some(secret) = configured {
        if secret.expose().len() < 32 {
            return Err(MasterKeyError::TooShort);
        }
        return Ok((secret.clone(), false));
    }
    let path = data_dir.join(KEY_FILE);
    let io_err = |source| MasterKeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = text.trim().to_string();
            if key.len() < 32 {
                return Err(MasterKeyError::TooShort);
            }
            Ok((Secret::new(key), false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let key = STANDARD.encode(bytes);
            write_private_file(&path, key.as_bytes()).map_err(io_err)?;
            Ok((Secret::new(key), true))
        }
        Err(e) => Err(io_err(e)),
    }
}

/// The previous master secret during a key rotation (`secret_key_previous`), held to the same
/// length rule as the current one. It only ever opens; nothing is generated for it.
pub fn load_previous(
    configured: Option<&Secret<String>>,
) -> Result<Option<Secret<String>>, MasterKeyError> {
    match configured {
        Some(secret) if secret.expose().len() < 32 => Err(MasterKeyError::TooShort),
        other => Ok(other.cloned()),
    }
}

/// Creates `path` with mode 0600 from the start (never world-readable, not even briefly); fails
/// if it already exists so two starting replicas cannot overwrite each other's key.
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_key_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let (first, generated) = load_or_generate(None, dir.path()).unwrap();
        assert!(generated);
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (second, generated) = load_or_generate(None, dir.path()).unwrap();
        assert!(!generated);
        assert_eq!(first.expose(), second.expose());
    }

    #[test]
    fn short_configured_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let short = Secret::new("short".to_string());
        assert!(matches!(
            load_or_generate(Some(&short), dir.path()),
            Err(MasterKeyError::TooShort)
        ));
    }
}
