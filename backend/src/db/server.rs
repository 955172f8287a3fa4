use sea_orm::entity::prelude::*;

/// A registered server. `*_enc` columns hold vault envelopes, never plaintext.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "servers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    pub hostname: String,
    pub port: i32,
    pub username: String,
    pub auth_method: String,
    pub password_enc: Option<String>,
    pub private_key_enc: Option<String>,
    pub passphrase_enc: Option<String>,
    pub group_name: Option<String>,
    /// JSON array of strings.
    pub tags: String,
    pub description: String,
    pub jump_via_id: Option<i32>,
    pub ssh_enabled: bool,
    pub sftp_enabled: bool,
    pub sftp_read_only: bool,
    /// JSON array of path prefixes.
    pub sftp_allowed_paths: String,
    pub record_sessions: Option<bool>,
    pub host_key_fingerprint: Option<String>,
    pub host_key_openssh: Option<String>,
    pub host_key_pinned_at: Option<DateTimeUtc>,
    /// Strict policy: the key the host presented, awaiting an admin's approval.
    pub pending_host_key_fingerprint: Option<String>,
    pub pending_host_key_openssh: Option<String>,
    pub pending_host_key_seen_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
