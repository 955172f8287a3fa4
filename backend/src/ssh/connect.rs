//! Opening an authenticated SSH connection. Every step has a deadline; every failure maps to an
//! `SshError` that says what went wrong.

use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, AuthResult, Handle};
use russh::keys::{decode_secret_key, PrivateKeyWithHashAlg};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::host_key::{HostKeyCheck, PresentedKey};
use super::SshError;
use crate::crypto::Secret;
use crate::servers::service::Credential;

/// One machine to log in to.
pub struct Target {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub credential: Credential,
    /// The pinned `SHA256:…` fingerprint; `None` trusts (and reports) the first key seen.
    pub pinned_fingerprint: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub auth: Duration,
    pub keepalive: Duration,
}

/// An authenticated connection. `presented` is the host key the server showed, for pinning.
pub struct Connection {
    pub handle: Handle<HostKeyCheck>,
    pub presented: PresentedKey,
}

fn client_config(timeouts: Timeouts) -> Arc<client::Config> {
    Arc::new(client::Config {
        // Keepalives notice a dead server; three missed ones end the connection.
        keepalive_interval: Some(timeouts.keepalive),
        keepalive_max: 3,
        inactivity_timeout: None,
        nodelay: true,
        ..Default::default()
    })
}

pub async fn connect(target: Target, timeouts: Timeouts) -> Result<Connection, SshError> {
    let unreachable = |reason: String| SshError::Unreachable {
        host: target.host.clone(),
        port: target.port,
        reason,
    };
    let stream = timeout(
        timeouts.connect,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| SshError::Timeout("connecting"))?
    .map_err(|e| unreachable(e.to_string()))?;
    // Keystrokes are tiny writes: never let Nagle hold them back.
    stream
        .set_nodelay(true)
        .map_err(|e| unreachable(e.to_string()))?;

    let (handler, seen) = HostKeyCheck::new(target.host.clone(), target.pinned_fingerprint.clone());
    let mut handle = timeout(
        timeouts.connect,
        client::connect_stream(client_config(timeouts), stream, handler),
    )
    .await
    .map_err(|_| SshError::Timeout("during the SSH handshake"))?
    .map_err(|e| match e {
        SshError::Protocol(reason) => unreachable(format!("SSH handshake failed: {reason}")),
        other => other,
    })?;
    let presented = seen
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .ok_or_else(|| SshError::Protocol("the server presented no host key".into()))?;

    let result = timeout(
        timeouts.auth,
        authenticate(&mut handle, &target.username, &target.credential),
    )
    .await
    .map_err(|_| SshError::Timeout("authenticating"))??;
    if !result.success() {
        return Err(SshError::AuthFailed {
            user: target.username.clone(),
        });
    }
    Ok(Connection { handle, presented })
}

async fn authenticate(
    handle: &mut Handle<HostKeyCheck>,
    user: &str,
    credential: &Credential,
) -> Result<AuthResult, SshError> {
    match credential {
        Credential::Password(password) => Ok(handle
            .authenticate_password(user, password.expose().as_str())
            .await?),
        Credential::Key { key, passphrase } => {
            let key = decode_secret_key(
                key.expose(),
                passphrase.as_ref().map(Secret::expose).map(String::as_str),
            )
            .map_err(|_| SshError::CredentialsMissing)?;
            // RSA keys sign with the strongest hash the server accepts; other key types ignore it.
            let hash = if key.algorithm().is_rsa() {
                handle.best_supported_rsa_hash().await?.flatten()
            } else {
                None
            };
            Ok(handle
                .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                .await?)
        }
    }
}
