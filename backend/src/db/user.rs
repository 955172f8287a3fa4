use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub username: String,
    /// argon2id PHC string; `None` for accounts that only sign in through an external provider.
    pub password_hash: Option<String>,
    pub role: String,
    /// JSON array of server group names.
    pub allowed_groups: String,
    pub disabled: bool,
    pub must_change_password: bool,
    /// The TOTP secret, sealed by the vault; kept from setup on, used once `totp_enabled`.
    pub totp_secret_enc: Option<String>,
    pub totp_enabled: bool,
    /// The last TOTP time step accepted: a code of that step or earlier never works again.
    pub totp_last_step: Option<i64>,
    /// `local`, `ldap` or `oidc`: where the account signs in.
    pub auth_source: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
