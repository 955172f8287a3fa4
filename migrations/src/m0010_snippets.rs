//! Command snippets: a user's own, or shared by an admin with everyone. A snippet goes with the
//! account that created it (cascade), shared ones included: an admin's deletion is the end of
//! what they curated, and nothing is left pointing at a user who no longer exists.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_snippets"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Snippets {
    Table,
    Id,
    Name,
    Command,
    Description,
    Shared,
    OwnerId,
    Confirm,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Snippets::Table)
                    .col(
                        ColumnDef::new(Snippets::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Snippets::Name).string_len(400).not_null())
                    .col(ColumnDef::new(Snippets::Command).text().not_null())
                    .col(ColumnDef::new(Snippets::Description).text().not_null())
                    .col(
                        ColumnDef::new(Snippets::Shared)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(Snippets::OwnerId).integer().not_null())
                    .col(
                        ColumnDef::new(Snippets::Confirm)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Snippets::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Snippets::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Snippets::Table, Snippets::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The list query reads "mine or shared".
        for (name, column) in [
            ("idx_snippets_owner", Snippets::OwnerId),
            ("idx_snippets_shared", Snippets::Shared),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Snippets::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Snippets::Table).to_owned())
            .await
    }
}
