//! Session recordings: one row per recorded terminal session, written when it starts and
//! completed when its cast is finalised. The cast itself is a file under `<data_dir>/recordings/`.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_recordings"
    }
}

#[derive(DeriveIden)]
enum Servers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Recordings {
    Table,
    Id,
    SessionId,
    ServerId,
    ServerName,
    UserId,
    Username,
    StartedAt,
    EndedAt,
    DurationMs,
    SizeBytes,
    Cols,
    Rows,
    State,
    InputRecorded,
    Truncated,
    Participants,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Recordings::Table)
                    .col(
                        ColumnDef::new(Recordings::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Recordings::SessionId)
                            .string_len(36)
                            .not_null(),
                    )
                    // Kept when the server is deleted (the recording is evidence); only the link goes.
                    .col(ColumnDef::new(Recordings::ServerId).integer().null())
                    .col(ColumnDef::new(Recordings::ServerName).string().not_null())
                    .col(ColumnDef::new(Recordings::UserId).integer().not_null())
                    .col(ColumnDef::new(Recordings::Username).string().not_null())
                    .col(
                        ColumnDef::new(Recordings::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Recordings::EndedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Recordings::DurationMs)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Recordings::SizeBytes)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Recordings::Cols).integer().not_null())
                    .col(ColumnDef::new(Recordings::Rows).integer().not_null())
                    .col(ColumnDef::new(Recordings::State).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Recordings::InputRecorded)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Recordings::Truncated)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(Recordings::Participants).text().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Recordings::Table, Recordings::ServerId)
                            .to(Servers::Table, Servers::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // The list is filtered by user, server and date and read newest first.
        for (name, column) in [
            ("idx_recordings_started_at", Recordings::StartedAt),
            ("idx_recordings_user_id", Recordings::UserId),
            ("idx_recordings_server_id", Recordings::ServerId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Recordings::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Recordings::Table).to_owned())
            .await
    }
}
