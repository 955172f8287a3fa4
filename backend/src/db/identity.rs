use sea_orm::entity::prelude::*;

/// An external account (LDAP or OIDC) linked to a user by its stable id, never by its name:
/// (`provider`, `issuer`, `subject`) is unique. For LDAP the issuer is the directory URL and the
/// subject its entryUUID / objectGUID (or the DN where neither exists); for OIDC the `iss` and
/// `sub` claims.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    /// `ldap` or `oidc`.
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub created_at: DateTimeUtc,
    pub last_login_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
