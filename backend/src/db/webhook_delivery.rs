use sea_orm::entity::prelude::*;

/// One event to send to one webhook: the persisted queue and the delivery log in one row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub webhook_id: i32,
    /// The payload's `id`, shared by every hook's delivery of the same event.
    pub event_id: String,
    pub event: String,
    /// The exact body sent at every attempt.
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i32,
    /// When a pending row is due; none once it is delivered or failed.
    pub next_attempt_at: Option<DateTimeUtc>,
    /// A dispatcher's claim: nobody else sends the row before this.
    pub locked_until: Option<DateTimeUtc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
