//! Gatehouse's schema history. Each migration freezes its own copy of the tables it touches (it
//! never imports the live entities), so old migrations keep meaning what they meant.

pub use sea_orm_migration::prelude::*;

mod m0001_foundation;
mod m0002_host_key_approval;
mod m0003_monitor;
mod m0004_recordings;
mod m0005_identity;
mod m0006_audit_chain;
mod m0007_audit_anchor;
mod m0008_audit_outcome;
mod m0009_webhooks;
mod m0010_snippets;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::Migration),
            Box::new(m0002_host_key_approval::Migration),
            Box::new(m0003_monitor::Migration),
            Box::new(m0004_recordings::Migration),
            Box::new(m0005_identity::Migration),
            Box::new(m0006_audit_chain::Migration),
            Box::new(m0007_audit_anchor::Migration),
            Box::new(m0008_audit_outcome::Migration),
            Box::new(m0009_webhooks::Migration),
            Box::new(m0010_snippets::Migration),
        ]
    }
}
