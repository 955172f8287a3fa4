//! `gatehouse serve`: open storage, make sure an admin exists, listen, and shut down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::bootstrap;
use crate::auth::throttle::Throttle;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::crypto::{master_key, vault::Vault};
use crate::files::SftpPool;
use crate::monitor::{self, MonitorHandle};
use crate::ssh::SshPool;
use crate::state::AppState;
use crate::terminal::registry::TerminalRegistry;
use crate::terminal::remote;
use crate::web::client_ip::TrustedProxies;
use crate::{db, web};

pub async fn run(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    // A half-configured single sign-on is a mistake to report now, not at someone's sign-in.
    crate::auth::oidc::check_config(&config).map_err(anyhow::Error::msg)?;
    db::ensure_data_dir(&config)?;
    let (master, generated) =
        master_key::load_or_generate(config.secret_key.as_ref(), &config.data_dir)?;
    if generated {
        tracing::warn!(
            path = %config.data_dir.join(master_key::KEY_FILE).display(),
            "no GATEHOUSE_SECRET_KEY given: generated one into the data directory; back it up, \
             stored credentials cannot be decrypted without it"
        );
    }
    // During a key rotation the previous secret still opens (and verifies) what it sealed.
    let previous = master_key::load_previous(config.secret_key_previous.as_ref())?;
    crate::audit::chain::init(&master);
    crate::audit::chain::init_previous(previous.as_ref());
    let db = db::connect(&config).await?;
    bootstrap::ensure_initial_admin(&db, config.admin_password.as_ref()).await?;

    let throttle = Throttle::from_config(&config)?;
    let proxies = TrustedProxies::parse(&config.trusted_proxies).map_err(anyhow::Error::msg)?;

    let shutdown = CancellationToken::new();
    let instance_id: Arc<str> = uuid::Uuid::new_v4().to_string().into();
    // With Redis, replicas reach each other's terminals through it.
    let cluster = match &config.redis_url {
        Some(url) => Some(Cluster::start(
            url.expose(),
            &instance_id,
            shutdown.clone(),
        )?),
        None => None,
    };
    let state = AppState {
        db,
        vault: Arc::new(Vault::with_previous(&master, previous.as_ref())),
        terminals: TerminalRegistry::default(),
        ssh_pool: SshPool::new(
            Duration::from_secs(config.ssh_pool_idle_secs),
            config.ssh_pool_max_connections,
            config.ssh_channels_per_connection,
        ),
        sftp_pool: SftpPool::new(
            Duration::from_secs(config.files_pool_idle_secs),
            config.files_pool_max_sessions,
        ),
        shutdown: shutdown.clone(),
        instance_id,
        cluster: cluster.as_ref().map(|(c, _)| c.clone()),
        monitor: MonitorHandle::new(),
        throttle,
        proxies: Arc::new(proxies),
        config: Arc::new(config),
    };
    // Before anything listens, so a visitor never finds the demo half-seeded.
    crate::demo::seed::run(&state.db, &state.vault, &state.config).await?;
    tokio::spawn(state.sftp_pool.clone().run_reaper(shutdown.clone()));
    let monitor = tokio::spawn(monitor::run(state.clone()));
    tokio::spawn(state.ssh_pool.clone().run_reaper(shutdown.clone()));
    tokio::spawn(crate::recordings::retention::run(state.clone()));
    tokio::spawn(crate::audit::retention::run(state.clone()));
    tokio::spawn(crate::webhooks::dispatcher::run(state.clone()));
    if let Some((cluster, incoming)) = cluster {
        // Listening before serving, so the first cross-replica join does not find us deaf. A
        // Redis that is down does not stop the start: the link comes up when it answers.
        if !cluster.wait_up(Duration::from_secs(5)).await {
            tracing::warn!(
                "redis is not reachable: terminals are reachable only through the replica \
                 running them until it is"
            );
        }
        tokio::spawn(remote::host::serve(
            state.clone(),
            cluster.clone(),
            incoming,
        ));
        tokio::spawn(remote::host::refresh(state.clone(), cluster));
    }
    // Read before binding, so a bad certificate stops the start with nothing listening.
    let tls = match web::tls::configured(
        state.config.tls_cert.as_deref(),
        state.config.tls_key.as_deref(),
    )? {
        Some((cert, key)) => Some(web::tls::server_config(cert, key)?),
        None => None,
    };
    let listener = TcpListener::bind(state.config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", state.config.bind))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, ready_ms = started.elapsed().as_millis() as u64, "listening on {scheme}://{addr}");

    let app = web::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: closing terminals");
        signal.cancel();
    });
    match tls {
        Some(config) => {
            // `tap_io` only so axum's `ConnectInfo<SocketAddr>` applies to this listener too.
            let listener =
                web::tls::TlsListener::new(listener, config, shutdown.clone())?.tap_io(|_| {});
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.clone().cancelled_owned())
                .await?
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.clone().cancelled_owned())
                .await?
        }
    }

    // Terminals were told to end when `shutdown` fired; give them a moment to say goodbye to
    // their browsers and close their SSH connections.
    let terminals = state.terminals.tracker();
    terminals.close();
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    if tokio::time::timeout(grace, terminals.wait()).await.is_err() {
        tracing::warn!(
            left = state.terminals.count(),
            "terminals did not close in time"
        );
        state.terminals.log_remaining();
    }
    // The monitor stops with `shutdown` and releases its lease, so another replica takes over
    // at its next attempt rather than after the lease expires.
    if tokio::time::timeout(Duration::from_secs(10), monitor)
        .await
        .is_err()
    {
        tracing::warn!("the monitor did not stop in time; its lease will expire");
    }
    state.db.clone().close().await.ok();
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
