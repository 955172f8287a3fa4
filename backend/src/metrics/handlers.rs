//! `GET /metrics`: the Prometheus scrape endpoint, for admins (a session or an admin API key).
//! A dedicated scrape token would suit Prometheus better; it is a future configuration setting.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::auth::AdminUser;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(_admin: AdminUser, State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        super::encode::render(&state),
    )
}
