//! `GET /metrics`: the Prometheus scrape endpoint, for admins (a session or an admin API key) or,
//! when `metrics_token` is set, for a scraper presenting it as `Authorization: Bearer <token>`
//! (compared in constant time; it grants nothing else).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use subtle::ConstantTimeEq;

use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// Whether the request carries the configured scrape token.
fn scrape_token(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(expected) = &state.config.metrics_token else {
        return false;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let expected = expected.expose().as_bytes();
    !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected))
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    operation_id = "metrics",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Prometheus text format; for admins, admin-scoped API keys or the configured `metrics_token`", body = String, content_type = "text/plain"),
    )
)]
async fn scrape(
    State(state): State<AppState>,
    headers: HeaderMap,
    admin: Result<AdminUser, ApiError>,
) -> Response {
    if !scrape_token(&state, &headers) {
        if let Err(refused) = admin {
            return refused.into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        super::encode::render(&state),
    )
        .into_response()
}
