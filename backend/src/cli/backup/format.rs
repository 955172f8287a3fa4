//! The backup file: a versioned header in the clear, then the payload sealed with
//! ChaCha20-Poly1305 under a key derived from the passphrase with argon2id.
//!
//! ```text
//! magic            16 bytes  "GATEHOUSE-BACKUP"
//! format version   u16 BE    1
//! kdf              u8        1 = argon2id (version 0x13)
//! memory (KiB)     u32 BE
//! passes           u32 BE
//! lanes            u32 BE
//! salt length      u8        16..=64, then the salt
//! cipher           u8        1 = ChaCha20-Poly1305
//! nonce            12 bytes
//! ciphertext       the rest, its 16-byte tag last
//! ```
//!
//! The whole header is the cipher's associated data, so changing any byte of it (a weaker KDF
//! setting, another salt) fails authentication like a changed ciphertext does. The KDF settings
//! are bounded on read so a crafted file cannot make an import allocate gigabytes.

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};

use crate::crypto::Secret;

const MAGIC: &[u8; 16] = b"GATEHOUSE-BACKUP";
pub const FORMAT_VERSION: u16 = 1;
const KDF_ARGON2ID: u8 = 1;
const CIPHER_CHACHA20_POLY1305: u8 = 1;
const NONCE_LEN: usize = 12;
const SALT_LEN: usize = 16;

/// argon2id settings for new files: well above the sign-in hash's (19 MiB, 2 passes), since a
/// backup may leave the host and be attacked offline for as long as anyone likes.
pub const EXPORT_KDF: KdfParams = KdfParams {
    memory_kib: 64 * 1024,
    passes: 3,
    lanes: 1,
};

/// What a file may ask of the reader's machine.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
const MAX_PASSES: u32 = 16;
const MAX_LANES: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("not a Gatehouse backup file")]
    NotABackup,
    #[error("the backup file is cut short")]
    Truncated,
    #[error("backup format version {0} is newer than this build reads ({FORMAT_VERSION}); use a newer gatehouse")]
    UnknownVersion(u16),
    #[error("the backup uses a key derivation or cipher this build does not know ({0})")]
    UnknownAlgorithm(&'static str),
    #[error("the backup's key-derivation settings are out of bounds ({0})")]
    KdfOutOfBounds(String),
    #[error("wrong passphrase, or the backup file was changed or damaged")]
    Authentication,
    #[error("key derivation failed: {0}")]
    Kdf(String),
}

impl KdfParams {
    /// Refuses settings no file of ours holds, and any that would exhaust the reader.
    pub fn check(&self) -> Result<(), FormatError> {
        let out = |what: String| Err(FormatError::KdfOutOfBounds(what));
        if !(1..=MAX_LANES).contains(&self.lanes) {
            return out(format!("lanes {}", self.lanes));
        }
        if !(1..=MAX_PASSES).contains(&self.passes) {
            return out(format!("passes {}", self.passes));
        }
        // argon2 needs 8 KiB per lane at least.
        if self.memory_kib < 8 * self.lanes || self.memory_kib > MAX_MEMORY_KIB {
            return out(format!("memory {} KiB", self.memory_kib));
        }
        Ok(())
    }
}

/// A parsed header: the bytes it spans (the associated data) and what they say.
#[derive(Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    pub kdf: KdfParams,
    pub salt: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
    pub len: usize,
}

/// A cursor over the file's bytes that fails with `Truncated` instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self.at.checked_add(n).ok_or(FormatError::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(FormatError::Truncated)?;
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, FormatError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, FormatError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

pub fn parse_header(bytes: &[u8]) -> Result<Header, FormatError> {
    if !bytes.starts_with(MAGIC) {
        return Err(FormatError::NotABackup);
    }
    let mut r = Reader {
        bytes,
        at: MAGIC.len(),
    };
    let version = r.u16()?;
    if version != FORMAT_VERSION {
        return Err(FormatError::UnknownVersion(version));
    }
    if r.u8()? != KDF_ARGON2ID {
        return Err(FormatError::UnknownAlgorithm("key derivation"));
    }
    let kdf = KdfParams {
        memory_kib: r.u32()?,
        passes: r.u32()?,
        lanes: r.u32()?,
    };
    kdf.check()?;
    let salt_len = usize::from(r.u8()?);
    if !(16..=64).contains(&salt_len) {
        return Err(FormatError::KdfOutOfBounds(format!(
            "salt of {salt_len} bytes"
        )));
    }
    let salt = r.take(salt_len)?.to_vec();
    if r.u8()? != CIPHER_CHACHA20_POLY1305 {
        return Err(FormatError::UnknownAlgorithm("cipher"));
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(r.take(NONCE_LEN)?);
    Ok(Header {
        version,
        kdf,
        salt,
        nonce,
        len: r.at,
    })
}

fn header_bytes(kdf: &KdfParams, salt: &[u8], nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    out.push(KDF_ARGON2ID);
    out.extend_from_slice(&kdf.memory_kib.to_be_bytes());
    out.extend_from_slice(&kdf.passes.to_be_bytes());
    out.extend_from_slice(&kdf.lanes.to_be_bytes());
    // Salts are ours (16 bytes) here; the reader accepts up to 64.
    out.push(salt.len() as u8);
    out.extend_from_slice(salt);
    out.push(CIPHER_CHACHA20_POLY1305);
    out.extend_from_slice(nonce);
    out
}

fn derive(
    passphrase: &Secret<String>,
    kdf: &KdfParams,
    salt: &[u8],
) -> Result<LessSafeKey, FormatError> {
    let params = Params::new(kdf.memory_kib, kdf.passes, kdf.lanes, Some(32))
        .map_err(|e| FormatError::Kdf(e.to_string()))?;
    let mut key = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.expose().as_bytes(), salt, &mut key)
        .map_err(|e| FormatError::Kdf(e.to_string()))?;
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key)
        .map_err(|_| FormatError::Kdf("a 32-byte key was refused".into()))?;
    Ok(LessSafeKey::new(unbound))
}

/// Seals `payload` into a complete backup file. Each file gets a fresh salt (so a fresh key) and
/// nonce, so one nonce never meets one key twice.
pub fn seal(
    passphrase: &Secret<String>,
    kdf: &KdfParams,
    payload: &[u8],
) -> Result<Vec<u8>, FormatError> {
    kdf.check()?;
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let key = derive(passphrase, kdf, &salt)?;
    let mut file = header_bytes(kdf, &salt, &nonce);
    let mut body = payload.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(file.as_slice()),
        &mut body,
    )
    .map_err(|_| FormatError::Kdf("encryption failed".into()))?;
    file.extend_from_slice(&body);
    Ok(file)
}

/// Opens a backup file: its payload, or why not.
pub fn open(passphrase: &Secret<String>, file: &[u8]) -> Result<Vec<u8>, FormatError> {
    let header = parse_header(file)?;
    let key = derive(passphrase, &header.kdf, &header.salt)?;
    let (aad, sealed) = file.split_at(header.len);
    let mut body = sealed.to_vec();
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key(header.nonce),
            Aad::from(aad),
            &mut body,
        )
        .map_err(|_| FormatError::Authentication)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap settings: tests only.
    const CHEAP: KdfParams = KdfParams {
        memory_kib: 64,
        passes: 1,
        lanes: 1,
    };

    fn pass(p: &str) -> Secret<String> {
        Secret::new(p.to_string())
    }

    #[test]
    fn a_sealed_backup_opens_with_its_passphrase_only() {
        let file = seal(&pass("correct horse"), &CHEAP, b"{\"users\":[]}").unwrap();
        assert!(file.starts_with(MAGIC));
        assert!(!contains(&file, b"users"));
        assert_eq!(
            open(&pass("correct horse"), &file).unwrap(),
            b"{\"users\":[]}"
        );
        assert_eq!(
            open(&pass("wrong horse"), &file),
            Err(FormatError::Authentication)
        );
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn any_changed_byte_is_refused() {
        let file = seal(&pass("p"), &CHEAP, b"payload").unwrap();
        let header_len = parse_header(&file).unwrap().len;
        for i in 0..file.len() {
            let mut changed = file.clone();
            changed[i] ^= 0x01;
            let result = open(&pass("p"), &changed);
            assert!(result.is_err(), "byte {i} changed unnoticed");
            if i >= header_len {
                assert_eq!(result, Err(FormatError::Authentication), "byte {i}");
            }
        }
        assert!(open(&pass("p"), &file[..file.len() - 1]).is_err());
    }

    #[test]
    fn the_header_round_trips_and_names_what_it_holds() {
        let file = seal(&pass("p"), &CHEAP, b"x").unwrap();
        let header = parse_header(&file).unwrap();
        assert_eq!(header.version, FORMAT_VERSION);
        assert_eq!(header.kdf, CHEAP);
        assert_eq!(header.salt.len(), SALT_LEN);
        assert_eq!(file.len(), header.len + 1 + 16);
    }

    #[test]
    fn foreign_newer_or_short_files_are_named() {
        assert_eq!(
            parse_header(b"PK\x03\x04 a zip file"),
            Err(FormatError::NotABackup)
        );
        assert_eq!(parse_header(MAGIC), Err(FormatError::Truncated));
        let mut newer = header_bytes(&CHEAP, &[0; 16], &[0; 12]);
        newer[16..18].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(parse_header(&newer), Err(FormatError::UnknownVersion(2)));
        let good = header_bytes(&CHEAP, &[0; 16], &[0; 12]);
        for cut in MAGIC.len()..good.len() {
            assert_eq!(
                parse_header(&good[..cut]),
                Err(FormatError::Truncated),
                "{cut}"
            );
        }
        let mut other_cipher = good.clone();
        let cipher_at = good.len() - NONCE_LEN - 1;
        other_cipher[cipher_at] = 9;
        assert_eq!(
            parse_header(&other_cipher),
            Err(FormatError::UnknownAlgorithm("cipher"))
        );
    }

    #[test]
    fn kdf_settings_are_bounded() {
        assert!(EXPORT_KDF.check().is_ok());
        let bad = [
            KdfParams {
                memory_kib: 4 * 1024 * 1024,
                ..CHEAP
            },
            KdfParams {
                memory_kib: 7,
                ..CHEAP
            },
            KdfParams { passes: 0, ..CHEAP },
            KdfParams {
                passes: 1000,
                ..CHEAP
            },
            KdfParams { lanes: 0, ..CHEAP },
            KdfParams {
                lanes: 64,
                memory_kib: 1024,
                ..CHEAP
            },
        ];
        for kdf in bad {
            assert!(
                matches!(kdf.check(), Err(FormatError::KdfOutOfBounds(_))),
                "{kdf:?}"
            );
            let header = header_bytes(&kdf, &[0; 16], &[0; 12]);
            assert!(matches!(
                parse_header(&header),
                Err(FormatError::KdfOutOfBounds(_))
            ));
        }
        let short_salt = header_bytes(&CHEAP, &[0; 8], &[0; 12]);
        assert!(matches!(
            parse_header(&short_salt),
            Err(FormatError::KdfOutOfBounds(_))
        ));
    }
}
