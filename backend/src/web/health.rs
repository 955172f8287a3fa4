//! `GET /api/health` (liveness with identity), `GET /healthz` (the process answers) and
//! `GET /readyz` (the database answers and every migration this build knows is applied).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use migrations::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use wire::Health;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready))
}

#[utoipa::path(
    get,
    path = "/api/health",
    tag = "meta",
    operation_id = "health",
    security(()),
    responses(
        (status = 200, description = "The gateway is up", body = wire::Health),
    )
)]
async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        instance_id: state.instance_id.to_string(),
        // Whether this replica holds the monitor lease (and so probes the servers).
        monitor_role: state.monitor.role().into(),
        demo: state.config.demo_mode,
        demo_login: state.config.demo_mode.then(|| wire::DemoLogin {
            username: state.config.demo_username.clone(),
            password: state.config.demo_password.clone(),
        }),
    })
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    operation_id = "healthz",
    security(()),
    responses(
        (status = 200, description = "Alive: `ok`", body = String, content_type = "text/plain"),
    )
)]
async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    operation_id = "readyz",
    security(()),
    responses(
        (status = 200, description = "`ready`: the database answers and every migration is applied", body = String, content_type = "text/plain"),
        (status = 503, description = "Not ready, and why", body = String, content_type = "text/plain"),
    )
)]
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let backend = state.db.get_database_backend();
    let ping = state
        .db
        .execute(sea_orm::Statement::from_string(backend, "SELECT 1"))
        .await;
    if ping.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
    }
    // A replica of an older build may share the database with one that migrated it further:
    // only pending migrations (this build's, not yet applied) make it unready.
    match Migrator::get_pending_migrations(&state.db).await {
        Ok(pending) if pending.is_empty() => (StatusCode::OK, "ready"),
        Ok(_) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending"),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "migration state unreadable",
        ),
    }
}
