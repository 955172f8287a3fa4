use sea_orm::entity::prelude::*;

/// A command snippet: the owner's own, or (`shared`) every signed-in user's.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "snippets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    /// The template: `{param}` placeholders, `{{` / `}}` for literal braces.
    pub command: String,
    pub description: String,
    pub shared: bool,
    pub owner_id: i32,
    pub confirm: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
