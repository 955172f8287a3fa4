//! Opening an authenticated SSH connection. Every step has a deadline; every failure maps to an
//! `SshError` that says what went wrong.

use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, AuthResult, Handle};
use russh::keys::{decode_secret_key, PrivateKeyWithHashAlg};
use russh::ChannelOpenFailure;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::host_key::{HostKeyCheck, PresentedKey};
use super::SshError;
use crate::crypto::Secret;
use crate::servers::service::Credential;

/// One machine to log in to.
pub struct Target {
    /// The server's name, to say which hop of a chain failed.
    pub name: String,
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

/// An authenticated connection to the last hop of a chain. `presented` holds the host key each
/// hop showed (bastions first), for pinning; `via` keeps the bastion connections the final one
/// runs through alive for as long as it lives.
pub struct Connection {
    pub handle: Handle<HostKeyCheck>,
    pub presented: Vec<PresentedKey>,
    pub via: Vec<Handle<HostKeyCheck>>,
}

impl Connection {
    /// The host key of the final hop.
    pub fn target_key(&self) -> Option<&PresentedKey> {
        self.presented.last()
    }
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

/// Connects through `hops` in order: the first over TCP, each next one over a `direct-tcpip`
/// channel of the previous (so only the first hop must be reachable from the gateway). Every hop
/// is authenticated with its own credential and verified against its own pin; an error names
/// the bastion it happened at.
pub async fn connect(hops: Vec<Target>, timeouts: Timeouts) -> Result<Connection, SshError> {
    let (result, _) = connect_timed(hops, timeouts).await;
    result
}

/// `connect`, also reporting how long each hop that succeeded took (for the test endpoint).
pub async fn connect_timed(
    hops: Vec<Target>,
    timeouts: Timeouts,
) -> (Result<Connection, SshError>, Vec<Duration>) {
    let last = hops.len().saturating_sub(1);
    let mut via: Vec<Handle<HostKeyCheck>> = Vec::new();
    let mut presented = Vec::new();
    let mut timings = Vec::new();
    for (i, hop) in hops.into_iter().enumerate() {
        let name = format!("{} ({}:{})", hop.name, hop.host, hop.port);
        let started = std::time::Instant::now();
        let step = match via.last() {
            None => over_tcp(hop, timeouts).await,
            Some(bastion) => through(bastion, hop, timeouts).await,
        };
        match step {
            Ok((handle, key)) => {
                timings.push(started.elapsed());
                presented.push(key);
                via.push(handle);
            }
            Err(e) => return (Err(if i < last { e.at_bastion(&name) } else { e }), timings),
        }
    }
    let Some(handle) = via.pop() else {
        return (
            Err(SshError::Protocol("no server to connect to".into())),
            timings,
        );
    };
    let connection = Connection {
        handle,
        presented,
        via,
    };
    (Ok(connection), timings)
}

async fn over_tcp(
    target: Target,
    timeouts: Timeouts,
) -> Result<(Handle<HostKeyCheck>, PresentedKey), SshError> {
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
    login(stream, target, timeouts).await
}

/// The next hop, over a `direct-tcpip` channel the bastion opens to it.
async fn through(
    bastion: &Handle<HostKeyCheck>,
    target: Target,
    timeouts: Timeouts,
) -> Result<(Handle<HostKeyCheck>, PresentedKey), SshError> {
    let opened = timeout(
        timeouts.connect,
        bastion.channel_open_direct_tcpip(
            target.host.clone(),
            u32::from(target.port),
            "127.0.0.1",
            0,
        ),
    )
    .await
    .map_err(|_| SshError::Timeout("asking the bastion to connect"))?;
    let channel = opened.map_err(|e| match e {
        russh::Error::ChannelOpenFailure(ChannelOpenFailure::AdministrativelyProhibited) => {
            SshError::ForwardingProhibited {
                host: target.host.clone(),
                port: target.port,
            }
        }
        russh::Error::ChannelOpenFailure(why) => SshError::Unreachable {
            host: target.host.clone(),
            port: target.port,
            reason: format!("the bastion could not connect ({why:?})"),
        },
        other => SshError::from(other),
    })?;
    login(channel.into_stream(), target, timeouts).await
}

/// SSH handshake (with the host-key check) and authentication over an open byte stream.
async fn login<S>(
    stream: S,
    target: Target,
    timeouts: Timeouts,
) -> Result<(Handle<HostKeyCheck>, PresentedKey), SshError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (handler, seen) = HostKeyCheck::new(target.host.clone(), target.pinned_fingerprint.clone());
    let mut handle = timeout(
        timeouts.connect,
        client::connect_stream(client_config(timeouts), stream, handler),
    )
    .await
    .map_err(|_| SshError::Timeout("during the SSH handshake"))?
    .map_err(|e| match e {
        SshError::Protocol(reason) => SshError::Unreachable {
            host: target.host.clone(),
            port: target.port,
            reason: format!("SSH handshake failed: {reason}"),
        },
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
    Ok((handle, presented))
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
