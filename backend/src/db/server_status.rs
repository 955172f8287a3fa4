use sea_orm::entity::prelude::*;

/// The connectivity monitor's view of one server. Kept out of `servers`: a probe must never
/// touch a server's `updated_at`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "server_status")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub server_id: i32,
    /// `unknown`, `online` or `offline`.
    pub state: String,
    /// When `state` last changed.
    pub since: DateTimeUtc,
    pub checked_at: DateTimeUtc,
    pub consecutive_failures: i32,
    pub latency_ms: Option<i32>,
    pub error_code: Option<String>,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
