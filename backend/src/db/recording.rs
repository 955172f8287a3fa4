use sea_orm::entity::prelude::*;

/// A recorded terminal session; its cast is `<data_dir>/recordings/<id>.cast`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recordings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub session_id: String,
    /// Null once the server is deleted.
    pub server_id: Option<i32>,
    pub server_name: String,
    pub user_id: i32,
    pub username: String,
    pub started_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
    pub duration_ms: i64,
    pub size_bytes: i64,
    pub cols: i32,
    pub rows: i32,
    /// `recording`, `complete` or `interrupted`.
    pub state: String,
    pub input_recorded: bool,
    pub truncated: bool,
    /// JSON array of `wire::recordings::RecordingParticipant`.
    pub participants: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
