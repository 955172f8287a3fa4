//! Explicit `target` (the path, session, user or recording acted on) and `outcome` (`success`,
//! `failure`, `denied`) on audit rows. Rows written before keep both empty and keep their
//! version-1 hash (see `audit::chain`); new rows hash both.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_audit_outcome"
    }
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Target,
    Outcome,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuditLog::Table)
                    .add_column(ColumnDef::new(AuditLog::Target).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditLog::Table)
                    .add_column(ColumnDef::new(AuditLog::Outcome).string_len(16).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_outcome")
                    .table(AuditLog::Table)
                    .col(AuditLog::Outcome)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_audit_log_outcome")
                    .table(AuditLog::Table)
                    .to_owned(),
            )
            .await?;
        for column in [AuditLog::Outcome, AuditLog::Target] {
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
