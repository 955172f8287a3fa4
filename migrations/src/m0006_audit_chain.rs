//! A tamper-evident audit log: each row carries a SHA-256 over its content and the previous
//! row's hash. Rows written before this migration have neither and stay outside the chain
//! (`gatehouse audit verify` counts them); the chain starts at the first row written after it.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_audit_chain"
    }
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    PrevHash,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [AuditLog::PrevHash, AuditLog::Hash] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .add_column(ColumnDef::new(column).string_len(64).null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [AuditLog::Hash, AuditLog::PrevHash] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
