use sea_orm::entity::prelude::*;

/// An admin-configured receiver of event notifications.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub url: String,
    /// JSON array of event names, or `["*"]`.
    pub events: String,
    /// The signing secret, sealed by the vault (`gh1:<key id>:<token>`).
    pub secret: String,
    pub enabled: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
