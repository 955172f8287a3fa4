//! `gatehouse doctor`: checks what a gateway needs before it can serve, with the configuration
//! `serve` would use, and says what is wrong in words: the configuration loads; the database
//! answers and its schema is current; the secret key is the one that sealed the stored
//! credentials; the data and recordings directories are writable; LDAP and Redis, when
//! configured, answer. Exit 1 when any check fails. It changes nothing.

use std::path::Path;
use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::config::Config;
use crate::crypto::vault::Vault;
use crate::db::{self, server, user};

/// One check's verdict: `Ok(detail)`, or `Err(what is wrong)`.
type Check = Result<String, String>;

pub async fn run(config: &Config) -> anyhow::Result<bool> {
    let mut failed = 0;
    let mut report = |name: &str, check: Check| match check {
        Ok(detail) => println!("ok    {name:<14} {detail}"),
        Err(problem) => {
            failed += 1;
            println!("FAIL  {name:<14} {problem}");
        }
    };
    report("configuration", Ok(describe(config)));
    report("data dir", writable(&config.data_dir));
    report(
        "recordings",
        if config.record_sessions {
            writable(&crate::recordings::dir(config))
        } else {
            Ok("recording is off".into())
        },
    );

    let db = match db::open(config).await {
        Ok(db) => {
            report("database", ping(&db).await);
            report("migrations", schema(&db).await);
            Some(db)
        }
        Err(e) => {
            report("database", Err(e.to_string()));
            None
        }
    };
    report("secret key", secret_key(config, db.as_ref()).await);
    if let Some(db) = db {
        db.close().await.ok();
    }
    if config.ldap_url.is_some() {
        report("ldap", ldap(config).await);
    }
    if let Some(url) = &config.redis_url {
        report("redis", redis(url.expose()).await);
    }
    if failed == 0 {
        println!("all checks passed");
    } else {
        println!("{failed} check(s) failed");
    }
    Ok(failed == 0)
}

fn describe(config: &Config) -> String {
    let database = match &config.database_url {
        Some(_) => "PostgreSQL (GATEHOUSE_DATABASE_URL)".to_owned(),
        None => format!("SQLite at {}", config.sqlite_path().display()),
    };
    format!("listening on {}, {database}", config.bind)
}

/// Creates (if needed) and removes a probe file in `dir`.
fn writable(dir: &Path) -> Check {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    std::fs::write(&probe, b"probe")
        .map_err(|e| format!("{} is not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(format!("{} is writable", dir.display()))
}

async fn ping(db: &DatabaseConnection) -> Check {
    let backend = db.get_database_backend();
    db.execute(sea_orm::Statement::from_string(backend, "SELECT 1"))
        .await
        .map(|_| format!("{backend:?} answers"))
        .map_err(|e| format!("does not answer: {e}"))
}

async fn schema(db: &DatabaseConnection) -> Check {
    let pending = Migrator::get_pending_migrations(db)
        .await
        .map_err(|e| format!("cannot read the migration table: {e}"))?;
    if pending.is_empty() {
        return Ok("up to date".into());
    }
    let names: Vec<&str> = pending.iter().map(|m| m.name()).collect();
    Err(format!(
        "{} pending ({}): run `gatehouse migrate`",
        names.len(),
        names.join(", ")
    ))
}

/// The key exists, and opens a stored credential (a server's or a TOTP secret), if any.
async fn secret_key(config: &Config, db: Option<&DatabaseConnection>) -> Check {
    let master = super::existing_master(config).map_err(|e| e.to_string())?;
    // Mid-rotation a credential may still be sealed under the previous key, which opens it.
    let previous = crate::crypto::master_key::load_previous(config.secret_key_previous.as_ref())
        .map_err(|e| e.to_string())?;
    let vault = Vault::with_previous(&master, previous.as_ref());
    let Some(db) = db else {
        return Ok("present (no database to check it against)".into());
    };
    let sealed = sealed_sample(db)
        .await
        .map_err(|e| format!("cannot read a stored credential: {e}"))?;
    match sealed {
        None => Ok("present (nothing stored with it yet)".into()),
        Some((what, envelope)) => vault
            .open(&envelope)
            .map(|_| format!("opens the stored credentials ({what})"))
            .map_err(|e| format!("does not open {what}: {e}; is this the gateway's key?")),
    }
}

async fn sealed_sample(
    db: &DatabaseConnection,
) -> Result<Option<(String, String)>, sea_orm::DbErr> {
    let servers = server::Entity::find()
        .filter(
            server::Column::PasswordEnc
                .is_not_null()
                .or(server::Column::PrivateKeyEnc.is_not_null()),
        )
        .one(db)
        .await?;
    if let Some(s) = servers {
        if let Some(envelope) = s.password_enc.or(s.private_key_enc) {
            return Ok(Some((format!("server {:?}", s.name), envelope)));
        }
    }
    let users = user::Entity::find()
        .filter(user::Column::TotpSecretEnc.is_not_null())
        .one(db)
        .await?;
    Ok(users.and_then(|u| {
        u.totp_secret_enc
            .map(|envelope| (format!("the 2FA secret of {:?}", u.username), envelope))
    }))
}

async fn ldap(config: &Config) -> Check {
    use crate::auth::ldap::directory::{self, Trace};
    use crate::auth::ldap::settings::Settings;
    let settings = Settings::from_config(config)
        .map_err(|e| format!("the LDAP settings are wrong: {e}"))?
        .ok_or("not configured")?;
    let mut trace = Trace { steps: Vec::new() };
    let mut ldap = directory::connect(&settings, &mut trace)
        .await
        .map_err(|e| format!("{}: {e}", settings.url))?;
    let _ = ldap.unbind().await;
    Ok(format!(
        "{} answers{}",
        settings.url,
        if settings.bind.is_some() {
            " and the service account binds"
        } else {
            ""
        }
    ))
}

async fn redis(url: &str) -> Check {
    let client = redis::Client::open(url).map_err(|e| format!("bad URL: {e}"))?;
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(Duration::from_secs(5), ping).await {
        Ok(Ok(_)) => Ok("answers PING".into()),
        Ok(Err(e)) => Err(format!("does not answer: {e}")),
        Err(_) => Err("no answer within 5 s".into()),
    }
}
