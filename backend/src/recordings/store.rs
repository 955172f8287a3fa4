//! Recording rows: created when a recorded session starts, completed when its cast is final,
//! listed with filters for the API. Writes made by a running recorder only log on failure:
//! a database hiccup must not end anyone's session.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use wire::recordings::{RecordingParticipant, RecordingState, RecordingView};

use crate::db::recording;

pub use recording::Model;

/// How a recording ended, for its row.
pub struct Finished<'a> {
    pub state: RecordingState,
    pub duration_ms: u64,
    pub size_bytes: u64,
    pub truncated: bool,
    pub participants: &'a [RecordingParticipant],
}

/// What `GET /api/recordings` may narrow the list to.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub server_id: Option<i32>,
    pub username: Option<String>,
    /// Only this user's recordings (a user who is neither admin nor auditor).
    pub owner_id: Option<i32>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

pub async fn insert(db: &DatabaseConnection, row: recording::ActiveModel) -> Result<(), DbErr> {
    recording::Entity::insert(row).exec(db).await.map(|_| ())
}

fn participants_json(participants: &[RecordingParticipant]) -> String {
    serde_json::to_string(participants).unwrap_or_else(|_| "[]".into())
}

pub async fn set_participants(db: &DatabaseConnection, id: &str, p: &[RecordingParticipant]) {
    let row = recording::ActiveModel {
        id: Set(id.to_owned()),
        participants: Set(participants_json(p)),
        ..Default::default()
    };
    if let Err(e) = row.update(db).await {
        tracing::warn!(recording = %id, error = %e, "cannot store the recording's participants");
    }
}

pub async fn finish(db: &DatabaseConnection, id: &str, done: Finished<'_>) {
    let row = recording::ActiveModel {
        id: Set(id.to_owned()),
        ended_at: Set(Some(Utc::now())),
        duration_ms: Set(i64::try_from(done.duration_ms).unwrap_or(i64::MAX)),
        size_bytes: Set(i64::try_from(done.size_bytes).unwrap_or(i64::MAX)),
        state: Set(done.state.as_str().to_owned()),
        truncated: Set(done.truncated),
        participants: Set(participants_json(done.participants)),
        ..Default::default()
    };
    if let Err(e) = row.update(db).await {
        tracing::error!(recording = %id, error = %e, "cannot complete the recording's row");
    }
}

/// Marks a recording found unfinished after a crash: what reached the disk was kept.
pub async fn interrupted(
    db: &DatabaseConnection,
    id: &str,
    ended_at: DateTime<Utc>,
    duration_ms: u64,
    size_bytes: u64,
) -> Result<(), DbErr> {
    let row = recording::ActiveModel {
        id: Set(id.to_owned()),
        ended_at: Set(Some(ended_at)),
        duration_ms: Set(i64::try_from(duration_ms).unwrap_or(i64::MAX)),
        size_bytes: Set(i64::try_from(size_bytes).unwrap_or(i64::MAX)),
        state: Set(RecordingState::Interrupted.as_str().to_owned()),
        ..Default::default()
    };
    row.update(db).await.map(|_| ())
}

pub async fn get(db: &DatabaseConnection, id: &str) -> Result<Option<Model>, DbErr> {
    recording::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn delete(db: &DatabaseConnection, id: &str) -> Result<(), DbErr> {
    recording::Entity::delete_by_id(id.to_owned())
        .exec(db)
        .await
        .map(|_| ())
}

/// Recordings still marked as being written.
pub async fn unfinished(db: &DatabaseConnection) -> Result<Vec<Model>, DbErr> {
    recording::Entity::find()
        .filter(recording::Column::State.eq(RecordingState::Recording.as_str()))
        .all(db)
        .await
}

/// Finished recordings, oldest first (the retention task's order).
pub async fn finished_oldest_first(db: &DatabaseConnection) -> Result<Vec<Model>, DbErr> {
    recording::Entity::find()
        .filter(recording::Column::State.ne(RecordingState::Recording.as_str()))
        .order_by_asc(recording::Column::StartedAt)
        .all(db)
        .await
}

/// One page of the recordings matching `filter`, newest first, and how many match in all.
pub async fn list(
    db: &DatabaseConnection,
    filter: &Filter,
    limit: u64,
    offset: u64,
) -> Result<(Vec<Model>, u64), DbErr> {
    let mut cond = Condition::all();
    if let Some(id) = filter.server_id {
        cond = cond.add(recording::Column::ServerId.eq(id));
    }
    if let Some(name) = &filter.username {
        cond = cond.add(recording::Column::Username.eq(name.clone()));
    }
    if let Some(id) = filter.owner_id {
        cond = cond.add(recording::Column::UserId.eq(id));
    }
    if let Some(since) = filter.since {
        cond = cond.add(recording::Column::StartedAt.gte(since));
    }
    if let Some(until) = filter.until {
        cond = cond.add(recording::Column::StartedAt.lt(until));
    }
    let query = recording::Entity::find().filter(cond);
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(recording::Column::StartedAt)
        .order_by_desc(recording::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok((rows, total))
}

pub fn view(m: &Model) -> RecordingView {
    let state = RecordingState::parse(&m.state);
    let duration_ms = match state {
        RecordingState::Recording => {
            u64::try_from((Utc::now() - m.started_at).num_milliseconds()).unwrap_or(0)
        }
        _ => u64::try_from(m.duration_ms).unwrap_or(0),
    };
    RecordingView {
        id: m.id.clone(),
        session_id: m.session_id.clone(),
        server_id: m.server_id,
        server_name: m.server_name.clone(),
        user_id: m.user_id,
        username: m.username.clone(),
        started_at: m.started_at.to_rfc3339(),
        ended_at: m.ended_at.map(|t| t.to_rfc3339()),
        duration_ms,
        size_bytes: u64::try_from(m.size_bytes).unwrap_or(0),
        cols: u16::try_from(m.cols).unwrap_or(80),
        rows: u16::try_from(m.rows).unwrap_or(24),
        state,
        input_recorded: m.input_recorded,
        truncated: m.truncated,
        participants: serde_json::from_str(&m.participants).unwrap_or_default(),
    }
}
