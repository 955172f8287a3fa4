//! Operator commands that work on the database directly (no running gateway needed):
//! `gatehouse user …`, `gatehouse migrate`, `gatehouse doctor`, `gatehouse export|import`,
//! `gatehouse rotate-key`. Each opens the configured database with the gateway's own secret key,
//! and audits what it changes as the actor `cli:<login>`, so the log shows that the change came
//! from a shell on the host.

pub mod backup;
pub mod doctor;
pub mod healthcheck;
pub mod migrate;
pub mod rotate_key;
pub mod users;

use anyhow::Context as _;
use sea_orm::DatabaseConnection;

use crate::audit::Actor;
use crate::config::Config;
use crate::crypto::master_key;
use crate::crypto::vault::Vault;
use crate::crypto::Secret;
use crate::{audit, db};

/// The gateway's master secret, never a new one: a command that generated a fresh key would
/// write audit rows the gateway's chain cannot verify and could not open stored credentials.
pub fn existing_master(config: &Config) -> anyhow::Result<Secret<String>> {
    let key_file = config.data_dir.join(master_key::KEY_FILE);
    if config.secret_key.is_none() && !key_file.exists() {
        anyhow::bail!(
            "no secret key: set GATEHOUSE_SECRET_KEY or point --data-dir at the gateway's data \
             directory ({} is missing)",
            key_file.display()
        );
    }
    let (master, _) = master_key::load_or_generate(config.secret_key.as_ref(), &config.data_dir)?;
    Ok(master)
}

/// What a command that changes state needs: the database (migrated, as `serve` would leave it),
/// the vault, and an audit chain keyed like the gateway's.
pub struct Context {
    pub db: DatabaseConnection,
    pub vault: Vault,
    pub actor: Actor,
}

impl Context {
    pub async fn open(config: &Config) -> anyhow::Result<Context> {
        let master = existing_master(config)?;
        // Mid-rotation the commands read what the previous secret sealed, like the gateway.
        let previous = master_key::load_previous(config.secret_key_previous.as_ref())?;
        audit::chain::init(&master);
        audit::chain::init_previous(previous.as_ref());
        db::ensure_data_dir(config)?;
        let db = db::connect(config).await.context("opening the database")?;
        Ok(Context {
            db,
            vault: Vault::with_previous(&master, previous.as_ref()),
            actor: cli_actor(),
        })
    }

    pub async fn close(self) {
        self.db.close().await.ok();
    }
}

/// `cli:<login>`: the host account that ran the command.
fn cli_actor() -> Actor {
    let login = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    Actor {
        user_id: None,
        username: Some(format!("cli:{login}")),
        client_ip: None,
    }
}
