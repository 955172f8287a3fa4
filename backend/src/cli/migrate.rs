//! `gatehouse migrate`: applies the migrations this build knows that the database lacks, and
//! lists them. `serve` does the same at start; this lets an operator do it first (and see it),
//! e.g. before rolling out replicas of a new build.

use anyhow::Context as _;
use migrations::{Migrator, MigratorTrait};

use crate::config::Config;
use crate::db;

pub async fn run(config: &Config) -> anyhow::Result<bool> {
    db::ensure_data_dir(config)?;
    let db = db::open(config).await.context("opening the database")?;
    let pending = Migrator::get_pending_migrations(&db).await?;
    if pending.is_empty() {
        println!("the database is up to date");
    } else {
        for migration in &pending {
            println!("applying {}", migration.name());
        }
        Migrator::up(&db, None).await.context("migrating")?;
        println!("applied {} migration(s)", pending.len());
    }
    let applied = Migrator::get_applied_migrations(&db).await?;
    if let Some(last) = applied.last() {
        println!("schema at {} ({} migrations)", last.name(), applied.len());
    }
    db.close().await.ok();
    Ok(true)
}
