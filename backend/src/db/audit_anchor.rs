use sea_orm::entity::prelude::*;

/// The audit chain's starting point after retention (one row, id 1): the last removed row's id
/// and hash, and an HMAC over both with the chain's key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_anchor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub last_id: i32,
    pub last_hash: String,
    pub seal: String,
    pub pruned_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
