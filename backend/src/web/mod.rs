//! The HTTP edge: the router that mounts every feature's routes, health, security headers and the
//! embedded UI assets.

pub mod assets;
pub mod client_ip;
pub mod dates;
pub mod health;
mod root;
pub mod security;
pub mod tls;

use axum::http::{header, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// Largest request body the JSON API accepts (server bodies with a private key fit easily).
const MAX_BODY: usize = 1 << 20;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(health::routes())
        .merge(crate::auth::handlers::routes())
        .merge(crate::auth::ldap::handlers::routes())
        .merge(crate::auth::oidc::handlers::routes())
        .merge(crate::auth::totp_api::routes())
        .merge(crate::auth::api_keys_api::routes())
        .merge(crate::users::handlers::routes())
        .merge(crate::servers::handlers::routes())
        .merge(crate::monitor::handlers::routes())
        .merge(crate::terminal::handler::routes())
        .merge(crate::terminal::api::routes())
        .merge(crate::terminal::share_api::routes())
        .merge(crate::terminal::share_ws::routes())
        .merge(crate::files::routes(state.clone()))
        .merge(crate::recordings::handlers::routes())
        .merge(crate::snippets::handlers::routes())
        .merge(crate::audit::api::routes())
        .merge(crate::openapi::routes())
        .merge(crate::webhooks::api::routes())
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .layer(axum::middleware::from_fn(crate::metrics::http::track))
        // API answers are per-user and may name servers: never let a shared cache keep them.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let https = state.config.cookie_secure == Some(true);
    let app = Router::new()
        .merge(api)
        .merge(crate::metrics::handlers::routes())
        .merge(assets::routes(&state.config.root_path))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY));
    // Demo mode: one gate in front of every route, so a route added later is read-only too.
    let app = if state.config.demo_mode {
        app.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::demo::read_only,
        ))
    } else {
        app
    };
    let root_path = state.config.root_path.clone();
    let app = security::headers(app, https).with_state(state);
    root::mount(app, root_path)
}

/// Unknown API paths answer in the API's error format, not with the UI's index page.
async fn api_not_found() -> ApiError {
    ApiError::NotFound("API endpoint")
}
