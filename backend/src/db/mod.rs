//! Storage: the connection (SQLite in WAL mode by default, PostgreSQL by URL), migrations at start,
//! and one sea-orm entity per table. Services use the entities; handlers never do.

pub mod api_key;
pub mod audit_anchor;
pub mod audit_entry;
pub mod identity;
pub mod lease;
pub mod recording;
pub mod recovery_code;
pub mod server;
pub mod server_status;
pub mod session;
pub mod snippet;
pub mod user;
pub mod webhook;
pub mod webhook_delivery;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("cannot open the database: {0}")]
    Connect(DbErr),
    #[error("database migration failed: {0}")]
    Migrate(DbErr),
}

/// Opens the configured database and brings its schema up to date.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbSetupError> {
    let db = open(config).await?;
    Migrator::up(&db, None)
        .await
        .map_err(DbSetupError::Migrate)?;
    Ok(db)
}

/// Opens the configured database as it is (no migration).
pub async fn open(config: &Config) -> Result<DatabaseConnection, DbSetupError> {
    let url = match &config.database_url {
        Some(url) => url.expose().clone(),
        None => {
            let path = config.sqlite_path();
            format!("sqlite://{}?mode=rwc", path.display())
        }
    };
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(16)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        // Statements are logged at debug level only by us, never by sqlx (they may carry
        // credential ciphertexts and session digests).
        .sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .map_err(DbSetupError::Connect)?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // WAL lets readers run beside a writer; the busy timeout makes a writer wait for the lock
        // instead of failing with "database is locked".
        for pragma in [
            "PRAGMA journal_mode = WAL",
            "PRAGMA busy_timeout = 5000",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
        ] {
            db.execute_unprepared(pragma)
                .await
                .map_err(DbSetupError::Connect)?;
        }
    }
    Ok(db)
}

/// Creates the data directory (mode 0700) if it does not exist.
pub fn ensure_data_dir(config: &Config) -> Result<(), DbSetupError> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = &config.data_dir;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| DbSetupError::DataDir(dir.display().to_string(), e))
}
