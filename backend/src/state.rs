//! Shared application state, passed to handlers as `State<AppState>` (compile-checked; no runtime
//! extension lookups that could fail).

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::auth::throttle::Throttle;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::crypto::vault::Vault;
use crate::files::SftpPool;
use crate::monitor::MonitorHandle;
use crate::ssh::SshPool;
use crate::terminal::registry::TerminalRegistry;
use crate::web::client_ip::TrustedProxies;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub vault: Arc<Vault>,
    pub terminals: TerminalRegistry,
    /// SSH connections per (user, server), shared by that user's terminals and SFTP session.
    pub ssh_pool: SshPool,
    /// SFTP sessions per (user, server), shared by that user's file requests.
    pub sftp_pool: SftpPool,
    /// Cancelled when the process begins shutting down; live terminals watch it.
    pub shutdown: CancellationToken,
    pub instance_id: Arc<str>,
    /// This replica's connectivity-monitor role and its event channel.
    pub monitor: MonitorHandle,
    /// Failed sign-in counts and locks, per account and per IP.
    pub throttle: Throttle,
    /// Who may tell us the client's address (`X-Forwarded-For`).
    pub proxies: Arc<TrustedProxies>,
    /// The other replicas, through Redis (`redis_url`); `None` for a single process.
    pub cluster: Option<Cluster>,
}
