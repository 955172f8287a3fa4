//! Strict host-key policy: the key a host presented before any admin approved one is held here
//! (fingerprint, OpenSSH line, when it was seen) until an admin approves it as the pin.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_host_key_approval"
    }
}

#[derive(DeriveIden)]
enum Servers {
    Table,
    PendingHostKeyFingerprint,
    PendingHostKeyOpenssh,
    PendingHostKeySeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new(Servers::PendingHostKeyFingerprint)
                .string()
                .null()
                .to_owned(),
            ColumnDef::new(Servers::PendingHostKeyOpenssh)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(Servers::PendingHostKeySeenAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Servers::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Servers::PendingHostKeyFingerprint,
            Servers::PendingHostKeyOpenssh,
            Servers::PendingHostKeySeenAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Servers::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
