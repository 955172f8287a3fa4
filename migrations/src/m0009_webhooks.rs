//! Webhooks: the admin-configured receivers (their secrets sealed like server credentials), and
//! the persisted delivery queue that doubles as the delivery log. A delivery row is written when
//! an event is published and updated by each attempt, so retries survive restarts and several
//! replicas can share the queue (`locked_until` is the claim).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_webhooks"
    }
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    Name,
    Url,
    Events,
    Secret,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    EventId,
    Event,
    Payload,
    State,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    StatusCode,
    Error,
    CreatedAt,
    LastAttemptAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(
                        ColumnDef::new(Webhooks::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Webhooks::Name).string().not_null())
                    .col(ColumnDef::new(Webhooks::Url).text().not_null())
                    // JSON array of event names (or `["*"]`).
                    .col(ColumnDef::new(Webhooks::Events).text().not_null())
                    // A vault envelope (`gh1:<key id>:<token>`), never the secret itself.
                    .col(ColumnDef::new(Webhooks::Secret).text().not_null())
                    .col(
                        ColumnDef::new(Webhooks::Enabled)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Webhooks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Webhooks::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(
                        ColumnDef::new(WebhookDeliveries::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::WebhookId)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::EventId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::Event)
                            .string_len(64)
                            .not_null(),
                    )
                    // The body exactly as sent: frozen at publish time so every retry sends the
                    // same bytes.
                    .col(ColumnDef::new(WebhookDeliveries::Payload).text().not_null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::State)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::NextAttemptAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::LockedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::StatusCode)
                            .integer()
                            .null(),
                    )
                    .col(ColumnDef::new(WebhookDeliveries::Error).text().null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::LastAttemptAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::DeliveredAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The dispatcher looks for due pending rows; the log is read per hook, newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::State)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_webhook_id")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await
    }
}
