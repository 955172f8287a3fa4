//! Checks on a server body before anything is stored.

use wire::servers::{AuthMethod, ServerRequest};

use crate::error::ApiError;

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::Validation(msg.into())
}

fn plain_text(value: &str, field: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.len() > max || value.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{field} must be 1-{max} printable characters"
        )));
    }
    Ok(())
}

/// Field-level checks. `creating` requires the credential the auth method names.
pub fn check(req: &ServerRequest, creating: bool) -> Result<(), ApiError> {
    plain_text(&req.name, "name", 128)?;
    plain_text(&req.hostname, "hostname", 255)?;
    if req.hostname.chars().any(char::is_whitespace) || req.hostname.starts_with('-') {
        return Err(invalid("hostname must be a host name or an IP address"));
    }
    if req.port == 0 {
        return Err(invalid("port must be between 1 and 65535"));
    }
    plain_text(&req.username, "username", 128)?;
    if let Some(group) = &req.group {
        plain_text(group, "group", 128)?;
    }
    if req.tags.iter().any(|t| t.trim().is_empty() || t.len() > 64) || req.tags.len() > 64 {
        return Err(invalid("tags must be 1-64 characters, at most 64 of them"));
    }
    if req.description.len() > 4096 {
        return Err(invalid("description is limited to 4096 characters"));
    }
    for path in req.sftp_allowed_paths.iter().flatten() {
        if !path.starts_with('/') || path.contains('\0') || path.len() > 4096 {
            return Err(invalid("sftp_allowed_paths must be absolute paths"));
        }
        if path.split('/').any(|c| c == "..") {
            return Err(invalid("sftp_allowed_paths may not contain '..'"));
        }
    }
    if let Some(password) = &req.password {
        if password.len() > 4096 {
            return Err(invalid("password is too long"));
        }
    }
    if let Some(key) = &req.private_key {
        check_private_key(key, req.passphrase.as_deref())?;
    }
    if creating {
        match req.auth_method {
            AuthMethod::Password if req.password.as_deref().unwrap_or("").is_empty() => {
                return Err(invalid("auth_method 'password' needs a password"));
            }
            AuthMethod::Key if req.private_key.as_deref().unwrap_or("").is_empty() => {
                return Err(invalid("auth_method 'key' needs a private_key"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A key that cannot be decoded (or whose passphrase is wrong) is refused when saved, not at the
/// first connection. The error never quotes the key.
pub fn check_private_key(key: &str, passphrase: Option<&str>) -> Result<(), ApiError> {
    if key.len() > 64 * 1024 {
        return Err(invalid("private_key is too large"));
    }
    russh::keys::decode_secret_key(key, passphrase.filter(|p| !p.is_empty()))
        .map(|_| ())
        .map_err(|_| {
            invalid(
                "private_key is not a valid OpenSSH/PEM private key, or the passphrase is wrong",
            )
        })
}
