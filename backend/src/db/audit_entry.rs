use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub at: DateTimeUtc,
    pub user_id: Option<i32>,
    pub username: Option<String>,
    pub action: String,
    pub server_id: Option<i32>,
    pub client_ip: Option<String>,
    /// What was acted on: a path, a session, a user, a recording.
    pub target: Option<String>,
    /// `success`, `failure` or `denied` (`None` on rows written before the column existed).
    pub outcome: Option<String>,
    /// JSON object with action-specific details (never a secret).
    pub details: String,
    /// The previous chained row's `hash` (`None` for the first one, and for rows written before
    /// the chain existed).
    pub prev_hash: Option<String>,
    /// SHA-256 (hex) over this row's content and `prev_hash` (see `audit::chain`).
    pub hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
