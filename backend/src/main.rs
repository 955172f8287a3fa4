//! Gatehouse: browser SSH terminals and file management through one HTTPS endpoint.
//!
//! The tree reads like the feature list: `auth/` (who is calling), `users/`, `servers/` (the
//! registry), `ssh/` (outbound connections and host-key trust), `terminal/` (browser terminals),
//! `monitor/` (reachability probes), `audit/`, `crypto/`, `db/` (storage), `web/` (the HTTP
//! edge), `config.rs` and `serve.rs`.

mod audit;
mod auth;
mod cli;
mod config;
mod crypto;
mod db;
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
