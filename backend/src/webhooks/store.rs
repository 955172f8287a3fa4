//! Webhook rows and delivery rows. Hooks are few and read whole; deliveries are the queue (due
//! pending rows, claimed with a conditional update so two replicas never send the same row at
//! once) and the log (per hook, newest first).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use wire::webhooks::{DeliveryState, DeliveryView, WebhookView};

use crate::db::{webhook, webhook_delivery};

pub use webhook::Model as Hook;
pub use webhook_delivery::Model as Delivery;

/// How long a claim lasts: longer than one attempt (10 s timeout) with room to record it. A
/// dispatcher that dies mid-attempt leaves the row to be picked up again after this.
const CLAIM: Duration = Duration::seconds(60);

/// A hook's settings as validated by the API.
pub struct HookFields {
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
}

pub fn events_of(hook: &Hook) -> Vec<String> {
    serde_json::from_str(&hook.events).unwrap_or_default()
}

fn events_json(events: &[String]) -> String {
    serde_json::to_string(events).unwrap_or_else(|_| "[]".into())
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<Hook>, DbErr> {
    webhook::Entity::find()
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await
}

pub async fn get(db: &DatabaseConnection, id: i32) -> Result<Option<Hook>, DbErr> {
    webhook::Entity::find_by_id(id).one(db).await
}

pub async fn create(
    db: &DatabaseConnection,
    fields: HookFields,
    sealed_secret: String,
) -> Result<Hook, DbErr> {
    let now = Utc::now();
    webhook::ActiveModel {
        name: Set(fields.name),
        url: Set(fields.url),
        events: Set(events_json(&fields.events)),
        secret: Set(sealed_secret),
        enabled: Set(fields.enabled),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn update(
    db: &DatabaseConnection,
    id: i32,
    fields: HookFields,
    sealed_secret: Option<String>,
) -> Result<Hook, DbErr> {
    let mut row = webhook::ActiveModel {
        id: Set(id),
        name: Set(fields.name),
        url: Set(fields.url),
        events: Set(events_json(&fields.events)),
        enabled: Set(fields.enabled),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(secret) = sealed_secret {
        row.secret = Set(secret);
    }
    row.update(db).await
}

/// Removes the hook; its deliveries go with it (foreign key cascade).
pub async fn delete(db: &DatabaseConnection, id: i32) -> Result<(), DbErr> {
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .exec(db)
        .await?;
    webhook::Entity::delete_by_id(id).exec(db).await.map(|_| ())
}

/// Enabled hooks subscribed to `event` or to every event.
pub async fn subscribed(db: &DatabaseConnection, event: &str) -> Result<Vec<Hook>, DbErr> {
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::Enabled.eq(true))
        .all(db)
        .await?;
    Ok(hooks
        .into_iter()
        .filter(|h| {
            events_of(h)
                .iter()
                .any(|e| e == event || e == super::ALL_EVENTS)
        })
        .collect())
}

/// One pending delivery per hook in `hooks`, due now, all with the same body.
pub async fn enqueue(
    db: &DatabaseConnection,
    hooks: &[i32],
    event_id: &str,
    event: &str,
    body: &str,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let rows = hooks
        .iter()
        .map(|&webhook_id| webhook_delivery::ActiveModel {
            webhook_id: Set(webhook_id),
            event_id: Set(event_id.to_owned()),
            event: Set(event.to_owned()),
            payload: Set(body.to_owned()),
            state: Set(DeliveryState::Pending.as_str().to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(Some(now)),
            created_at: Set(now),
            ..Default::default()
        });
    webhook_delivery::Entity::insert_many(rows)
        .exec(db)
        .await
        .map(|_| ())
}

/// Queues one delivery already claimed by the caller, who sends it at once (the test button):
/// no dispatcher takes it meanwhile.
pub async fn enqueue_claimed(
    db: &DatabaseConnection,
    webhook_id: i32,
    event_id: &str,
    event: &str,
    body: &str,
) -> Result<Delivery, DbErr> {
    let now = Utc::now();
    webhook_delivery::ActiveModel {
        webhook_id: Set(webhook_id),
        event_id: Set(event_id.to_owned()),
        event: Set(event.to_owned()),
        payload: Set(body.to_owned()),
        state: Set(DeliveryState::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        locked_until: Set(Some(now + CLAIM)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

fn unclaimed(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(webhook_delivery::Column::LockedUntil.is_null())
        .add(webhook_delivery::Column::LockedUntil.lt(now))
}

/// Up to `limit` pending rows due now that nobody holds, oldest first.
pub async fn due(db: &DatabaseConnection, limit: u64) -> Result<Vec<Delivery>, DbErr> {
    let now = Utc::now();
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .filter(unclaimed(now))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .order_by_asc(webhook_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// When the next pending row nobody holds falls due, if any. (A held row is being sent; if its
/// claim lapses instead, the regular poll finds it.)
pub async fn next_due(db: &DatabaseConnection) -> Result<Option<DateTime<Utc>>, DbErr> {
    let row = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        .filter(webhook_delivery::Column::NextAttemptAt.is_not_null())
        .filter(unclaimed(Utc::now()))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .one(db)
        .await?;
    Ok(row.and_then(|r| r.next_attempt_at))
}

/// Takes the row for this dispatcher; false when another one got it first. One conditional
/// UPDATE, so it is safe across replicas on PostgreSQL as on SQLite.
pub async fn claim(db: &DatabaseConnection, id: i32) -> Result<bool, DbErr> {
    let now = Utc::now();
    let result = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::LockedUntil,
            Expr::value(Some(now + CLAIM)),
        )
        .filter(webhook_delivery::Column::Id.eq(id))
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending.as_str()))
        .filter(unclaimed(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// What one attempt ended with.
pub struct Attempt {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// `Pending` (retry at `next_attempt_at`), `Delivered` or `Failed`.
    pub state: DeliveryState,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Records an attempt and releases the claim.
pub async fn attempted(
    db: &DatabaseConnection,
    row: &Delivery,
    attempt: Attempt,
) -> Result<Delivery, DbErr> {
    let now = Utc::now();
    webhook_delivery::ActiveModel {
        id: Set(row.id),
        state: Set(attempt.state.as_str().to_owned()),
        attempts: Set(row.attempts.saturating_add(1)),
        next_attempt_at: Set(attempt.next_attempt_at),
        locked_until: Set(None),
        status_code: Set(attempt.status_code.map(i32::from)),
        error: Set(attempt.error),
        last_attempt_at: Set(Some(now)),
        delivered_at: Set((attempt.state == DeliveryState::Delivered).then_some(now)),
        ..Default::default()
    }
    .update(db)
    .await
}

/// Puts a finished (failed) delivery back in the queue, due now: an admin's retry.
pub async fn requeue(db: &DatabaseConnection, row: &Delivery) -> Result<Delivery, DbErr> {
    webhook_delivery::ActiveModel {
        id: Set(row.id),
        state: Set(DeliveryState::Pending.as_str().to_owned()),
        next_attempt_at: Set(Some(Utc::now())),
        locked_until: Set(None),
        ..Default::default()
    }
    .update(db)
    .await
}

pub async fn delivery(
    db: &DatabaseConnection,
    webhook_id: i32,
    id: i32,
) -> Result<Option<Delivery>, DbErr> {
    webhook_delivery::Entity::find_by_id(id)
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .one(db)
        .await
}

/// A hook's delivery log, newest first.
pub async fn deliveries(
    db: &DatabaseConnection,
    webhook_id: i32,
    limit: u64,
) -> Result<Vec<Delivery>, DbErr> {
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Removes finished (delivered or failed) rows created before `before`.
pub async fn prune(db: &DatabaseConnection, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let result = webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::State.ne(DeliveryState::Pending.as_str()))
        .filter(webhook_delivery::Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

pub fn view(hook: &Hook) -> WebhookView {
    WebhookView {
        id: hook.id,
        name: hook.name.clone(),
        url: hook.url.clone(),
        events: events_of(hook),
        enabled: hook.enabled,
        has_secret: !hook.secret.is_empty(),
        created_at: hook.created_at.to_rfc3339(),
        updated_at: hook.updated_at.to_rfc3339(),
    }
}

pub fn delivery_view(row: &Delivery) -> DeliveryView {
    let state = DeliveryState::parse(&row.state);
    DeliveryView {
        id: row.id,
        webhook_id: row.webhook_id,
        event_id: row.event_id.clone(),
        event: row.event.clone(),
        state,
        attempts: row.attempts,
        status_code: row.status_code,
        error: row.error.clone(),
        created_at: row.created_at.to_rfc3339(),
        last_attempt_at: row.last_attempt_at.map(|t| t.to_rfc3339()),
        next_attempt_at: match state {
            DeliveryState::Pending => row.next_attempt_at.map(|t| t.to_rfc3339()),
            _ => None,
        },
        delivered_at: row.delivered_at.map(|t| t.to_rfc3339()),
    }
}
