//! Gatehouse: browser SSH terminals and file management through one HTTPS endpoint.
//!
//! The tree reads like the feature list: `auth/` (who is calling), `users/`, `servers/` (the
//! registry), `ssh/` (outbound connections and host-key trust), `terminal/` (browser terminals),
//! `monitor/` (reachability probes), `audit/`, `crypto/`, `db/` (storage), `web/` (the HTTP
//! edge), `config.rs` and `serve.rs`.

mod audit;
mod auth;
mod cli;
mod cluster;
mod config;
mod crypto;
mod db;
mod demo;
mod error;
mod files;
mod metrics;
mod monitor;
mod openapi;
mod recordings;
mod serve;
mod servers;
mod snippets;
mod ssh;
mod state;
mod terminal;
mod users;
mod web;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use config::{Config, FlagOverrides, LogFormat};

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Browser SSH terminals and file management through one HTTPS endpoint"
)]
struct Cli {
    /// Configuration file (default: ./gatehouse.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Address to listen on (GATEHOUSE_BIND).
    #[arg(long, global = true)]
    bind: Option<SocketAddr>,
    /// Data directory for SQLite and the generated secret key (GATEHOUSE_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL, e.g. postgres://… (GATEHOUSE_DATABASE_URL).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Log format: pretty or json (GATEHOUSE_LOG_FORMAT).
    #[arg(long, global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Work with the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Manage local users (works on the database; the gateway may be running).
    User {
        #[command(subcommand)]
        command: cli::users::UserCommand,
    },
    /// Apply the database migrations this build knows (serve does it at start too).
    Migrate,
    /// Check the configuration, database, secret key, directories, LDAP and Redis; exit 1 on a
    /// problem. Changes nothing.
    Doctor,
    /// Write users and servers (credentials, TOTP secrets, host-key pins, jump chains, API keys,
    /// snippets) to a file encrypted under a passphrase, read from standard input or
    /// --passphrase-file. The file does not need this gateway's secret key to be imported.
    Export(cli::backup::ExportArgs),
    /// Read a file written by `gatehouse export` (passphrase from standard input or
    /// --passphrase-file) and add its users and servers in one transaction, all or nothing.
    /// Users and servers that already exist by name stop the import unless --skip-existing or
    /// --replace says otherwise.
    Import(cli::backup::ImportArgs),
    /// Re-seal every stored secret and re-key the audit chain under a new master secret. Run it
    /// with the new secret as GATEHOUSE_SECRET_KEY and the old one as
    /// GATEHOUSE_SECRET_KEY_PREVIOUS; everything is checked under the old key first, and nothing
    /// changes unless all of it moves (see docs/operations.md, "Key rotation").
    RotateKey,
    /// Ask the running gateway whether it is ready (`GET /readyz` on the configured bind
    /// address, root path and scheme); exit 0 when it is, 1 otherwise. For container health
    /// checks.
    Healthcheck {
        /// Check this URL instead of the one the configuration names.
        #[arg(long)]
        url: Option<String>,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit log's hash chain; exits 1 at the first row that was edited, deleted or
    /// inserted, naming it.
    Verify,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

/// Every argon2id hash works in a 19 MiB buffer, on whichever blocking thread runs it. With
/// glibc's default dynamic mmap threshold such buffers end up in per-thread arenas that are never
/// given back, so each sign-in could leave ~19 MiB resident for good. A fixed threshold keeps large
/// buffers in their own mappings, returned to the OS as soon as they are freed.
fn return_large_allocations_to_the_os() {
    // SAFETY: mallopt only changes allocator tuning; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> std::process::ExitCode {
    return_large_allocations_to_the_os();
    let cli = Cli::parse();
    let log_format = match cli.log_format.as_deref() {
        None => None,
        Some("json") => Some(LogFormat::Json),
        Some("pretty") => Some(LogFormat::Pretty),
        Some(other) => {
            eprintln!("gatehouse: --log-format must be 'pretty' or 'json', not '{other}'");
            return std::process::ExitCode::from(2);
        }
    };
    let flags = FlagOverrides {
        bind: cli.bind,
        data_dir: cli.data_dir,
        database_url: cli.database_url,
        log_format,
    };
    let config = match Config::load(cli.config.as_deref(), flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gatehouse: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve::run(config).await.map(|()| true),
            Command::Audit {
                command: AuditCommand::Verify,
            } => audit::cli::verify(&config).await,
            Command::User { command } => cli::users::run(&config, command).await,
            Command::Migrate => cli::migrate::run(&config).await,
            Command::Doctor => cli::doctor::run(&config).await,
            Command::Export(args) => cli::backup::run_export(&config, args).await,
            Command::Import(args) => cli::backup::run_import(&config, args).await,
            Command::RotateKey => cli::rotate_key::run(&config).await,
            Command::Healthcheck { url, timeout } => {
                cli::healthcheck::run(&config, url, timeout).await
            }
        }
    });
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("gatehouse: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
