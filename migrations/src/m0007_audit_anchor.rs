//! Where the audit chain starts after retention removed its oldest rows: the last removed row's
//! id and hash, sealed with the chain's key so it cannot be moved by someone without the secret.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_audit_anchor"
    }
}

#[derive(DeriveIden)]
enum AuditAnchor {
    Table,
    Id,
    LastId,
    LastHash,
    Seal,
    PrunedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditAnchor::Table)
                    .col(
                        ColumnDef::new(AuditAnchor::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditAnchor::LastId).integer().not_null())
                    .col(
                        ColumnDef::new(AuditAnchor::LastHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditAnchor::Seal).string_len(64).not_null())
                    .col(
                        ColumnDef::new(AuditAnchor::PrunedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditAnchor::Table).to_owned())
            .await
    }
}
