//! Opening an authenticated SSH connection. Every step has a deadline; every failure maps to an
//! `SshError` that says what went wrong.

use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, AuthResult, Handle};
use russh::keys::{decode_secret_key, PrivateKeyWithHashAlg};
use russh::ChannelOpenFailure;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::host_key::{HostKeyCheck, PresentedKey, Trust};
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
    /// Which host key this hop may present.
    pub trust: Trust,
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

/// Connects through `hops` in order, afresh (no pooling: the test endpoint measures real
/// connections): the first over TCP, each next one over a `direct-tcpip` channel of the
/// previous (so only the first hop must be reachable from the gateway). Every hop is
/// authenticated with its own credential and verified against its own pin; an error names the
/// bastion it happened at. Also reports how long each hop that succeeded took.
pub async fn connect_timed(
    hops: Vec<Target>,
    timeouts: Timeouts,
) -> (Result<Connection, SshError>, Vec<Duration>) {
    let last = hops.len().saturating_sub(1);
    let mut via: Vec<Handle<HostKeyCheck>> = Vec::new();
    let mut presented = Vec::new();
    let mut timings = Vec::new();
    for (i, hop) in hops.iter().enumerate() {
        let started = std::time::Instant::now();
        match login_hop(via.last(), hop, timeouts).await {
            Ok((handle, key)) => {
                timings.push(started.elapsed());
                presented.push(key);
                via.push(handle);
            }
            Err(e) => return (Err(if i < last { hop.blame(e) } else { e }), timings),
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

impl Target {
    /// An error at this hop, when it is a bastion of the chain, names it.
    pub fn blame(&self, e: SshError) -> SshError {
        e.at_bastion(&format!("{} ({}:{})", self.name, self.host, self.port))
    }
}

/// One hop: reach it (over TCP, or through `via`), verify its key, authenticate.
pub async fn login_hop(
    via: Option<&Handle<HostKeyCheck>>,
    target: &Target,
    timeouts: Timeouts,
) -> Result<(Handle<HostKeyCheck>, PresentedKey), SshError> {
    let stream = dial(via, &target.host, target.port, timeouts).await?;
    login(stream, target, timeouts).await
}

/// A byte stream to one hop: a TCP socket from the gateway, or a `direct-tcpip` channel.
pub trait HopStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {}
impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> HopStream for S {}

/// Opens the byte stream to `host:port`: over TCP when `via` is `None`, otherwise over a
/// `direct-tcpip` channel the bastion `via` opens to it.
pub async fn dial(
    via: Option<&Handle<HostKeyCheck>>,
    host: &str,
    port: u16,
    timeouts: Timeouts,
) -> Result<Box<dyn HopStream>, SshError> {
    match via {
        None => Ok(Box::new(over_tcp(host, port, timeouts).await?)),
        Some(bastion) => Ok(Box::new(through(bastion, host, port, timeouts).await?)),
    }
}

async fn over_tcp(host: &str, port: u16, timeouts: Timeouts) -> Result<TcpStream, SshError> {
    let unreachable = |reason: String| SshError::Unreachable {
        host: host.to_owned(),
        port,
        reason,
    };
    let stream = timeout(timeouts.connect, TcpStream::connect((host, port)))
        .await
        .map_err(|_| SshError::Timeout("connecting"))?
        .map_err(|e| unreachable(e.to_string()))?;
    // Keystrokes are tiny writes: never let Nagle hold them back.
    stream
        .set_nodelay(true)
        .map_err(|e| unreachable(e.to_string()))?;
    Ok(stream)
}

async fn through(
    bastion: &Handle<HostKeyCheck>,
    host: &str,
    port: u16,
    timeouts: Timeouts,
) -> Result<impl HopStream, SshError> {
    let opened = timeout(
        timeouts.connect,
        bastion.channel_open_direct_tcpip(host.to_owned(), u32::from(port), "127.0.0.1", 0),
    )
    .await
    .map_err(|_| SshError::Timeout("asking the bastion to connect"))?;
    let channel = opened.map_err(|e| match e {
        russh::Error::ChannelOpenFailure(ChannelOpenFailure::AdministrativelyProhibited) => {
            SshError::ForwardingProhibited {
                host: host.to_owned(),
                port,
            }
        }
        russh::Error::ChannelOpenFailure(why) => SshError::Unreachable {
            host: host.to_owned(),
            port,
            reason: format!("the bastion could not connect ({why:?})"),
        },
        other => SshError::from(other),
    })?;
    Ok(channel.into_stream())
}

/// The SSH handshake alone: key exchange and the host-key check against `trust`, no
/// authentication. The monitor's probe stops here; `login` goes on to authenticate.
pub async fn handshake(
    stream: Box<dyn HopStream>,
    host: &str,
    port: u16,
    trust: Trust,
    timeouts: Timeouts,
) -> Result<(Handle<HostKeyCheck>, PresentedKey), SshError> {
    let (handler, seen) = HostKeyCheck::new(host.to_owned(), trust);
    let handle = timeout(
        timeouts.connect,
        client::connect_stream(client_config(timeouts), stream, handler),
    )
    .await
    .map_err(|_| SshError::Timeout("during the SSH handshake"))?
    .map_err(|e| match e {
        SshError::Protocol(reason) => SshError::Unreachable {
            host: host.to_owned(),
            port,
            reason: format!("SSH handshake failed: {reason}"),
        },
        other => other,
    })?;
    let presented = seen
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .ok_or_else(|| SshError::Protocol("the server presented no host key".into()))?;
    Ok((handle, presented))
}

/// Handshake (with the host-key check) and authentication over an open byte stream.
async fn login(
    stream: Box<dyn HopStream>,
    target: &Target,
    timeouts: Timeouts,
) -> Result<(Handle<HostKeyCheck>, PresentedKey), SshError> {
    let (mut handle, presented) = handshake(
        stream,
        &target.host,
        target.port,
        target.trust.clone(),
        timeouts,
    )
    .await?;
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
