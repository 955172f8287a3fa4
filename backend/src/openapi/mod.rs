//! The OpenAPI 3.1 document of the REST API, generated from the `#[utoipa::path]` annotation on
//! every handler and the `ToSchema` derives of the `wire` crate (its `openapi` feature), served at
//! `GET /api/openapi.json`; a browsable copy (Swagger UI, embedded, no CDN) is at `/api/docs`.
//!
//! Error responses are not repeated on every handler: [`CommonErrors`] adds the `ErrorBody`
//! answers every route can give (400, and 401/403 for signed-in routes, 404 for routes with an
//! id in the path) to each operation that does not document them itself.
//!
//! The document is public, like the routes it lists: it describes the API and opens nothing.
//! The e2e test `openapi::every_rest_route_is_in_the_document` fails when a mounted route is
//! missing from it.

mod docs;

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(document))
        .route("/api/docs", get(docs::page))
        .route("/api/docs/{file}", get(docs::asset))
}

/// The document, serialised once.
static JSON: LazyLock<String> = LazyLock::new(|| {
    serde_json::to_string(&openapi()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialise the OpenAPI document");
        "{}".to_owned()
    })
});

/// The OpenAPI document of this gateway's REST API.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    operation_id = "openapi_document",
    security(()),
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
async fn document(State(state): State<AppState>) -> impl IntoResponse {
    let json = match state.config.root_path.as_str() {
        "" => JSON.as_str(),
        root => UNDER_ROOT_PATH
            .get_or_init(|| under_root_path(root))
            .as_str(),
    };
    ([(header::CONTENT_TYPE, "application/json")], json)
}

/// The document served under a root path (one per process, as the root path is).
static UNDER_ROOT_PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The document naming `root_path` as its server, so clients (the docs' "Try it out" among
/// them) put the paths below the prefix.
fn under_root_path(root_path: &str) -> String {
    let mut doc = openapi();
    doc.servers = Some(vec![utoipa::openapi::server::Server::new(root_path)]);
    serde_json::to_string(&doc).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialise the OpenAPI document");
        "{}".to_owned()
    })
}

pub fn openapi() -> Document {
    let mut doc = ApiDoc::openapi();
    // The files handlers sit in private modules: `files` lists them itself.
    doc.merge(crate::files::FilesApi::openapi());
    CommonErrors.modify(&mut doc);
    doc
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse",
        description = "The REST API of a Gatehouse gateway: SSH servers, users, files (SFTP), \
            live terminal sessions, recordings, the audit log, webhooks and snippets.\n\n\
            Authenticate with the session cookie a browser gets from `POST /api/auth/login`, or \
            with `Authorization: Bearer <token>` where the token is the `token` of the login \
            answer or an API key (`/api/auth/api-keys`). State-changing requests with a cookie \
            must come from the gateway's own origin.\n\n\
            Errors are `{\"error\": \"<message>\", \"code\": \"<snake_case_code>\"}` \
            (`ErrorBody`) with the status that fits.\n\n\
            Not listed here: the terminal WebSockets (`GET /api/ws/terminal/{server_id}`, \
            `/api/ws/terminal/attach/{session_id}`, `/api/ws/terminal/join/{share_token}`, \
            `/api/ws/terminal/watch/{session_id}`), which OpenAPI cannot describe; their frames \
            are `ServerFrame` and `ClientFrame` (see docs/api.md), and the web UI's own pages \
            and assets."
    ),
    paths(
        document,
        crate::web::health::health,
        crate::web::health::healthz,
        crate::web::health::ready,
        crate::metrics::handlers::scrape,
        crate::auth::login::login,
        crate::auth::handlers::logout,
        crate::auth::handlers::me,
        crate::auth::handlers::change_password,
        crate::auth::oidc::handlers::providers,
        crate::auth::oidc::handlers::login,
        crate::auth::oidc::handlers::callback,
        crate::auth::oidc::handlers::status,
        crate::auth::oidc::handlers::test,
        crate::auth::ldap::handlers::status,
        crate::auth::ldap::handlers::test,
        crate::auth::totp_api::status,
        crate::auth::totp_api::setup,
        crate::auth::totp_api::enable,
        crate::auth::totp_api::disable,
        crate::auth::totp_api::renew_codes,
        crate::auth::totp_api::reset,
        crate::auth::api_keys_api::list,
        crate::auth::api_keys_api::create,
        crate::auth::api_keys_api::revoke,
        crate::users::handlers::list,
        crate::users::handlers::create,
        crate::users::handlers::show,
        crate::users::handlers::update,
        crate::users::handlers::remove,
        crate::servers::handlers::list,
        crate::servers::handlers::create,
        crate::servers::handlers::show,
        crate::servers::handlers::update,
        crate::servers::handlers::remove,
        crate::servers::handlers::clear_host_key,
        crate::servers::handlers::test_connection,
        crate::servers::host_keys::show,
        crate::servers::host_keys::approve,
        crate::servers::import::import,
        crate::servers::known_hosts_import::import,
        crate::monitor::handlers::list,
        crate::terminal::api::limits,
        crate::terminal::api::list,
        crate::terminal::api::close,
        crate::terminal::share_api::create,
        crate::terminal::share_api::list,
        crate::terminal::share_api::revoke,
        crate::terminal::share_api::kick,
        crate::recordings::handlers::list,
        crate::recordings::handlers::one,
        crate::recordings::handlers::cast,
        crate::recordings::handlers::remove,
        crate::audit::api::list,
        crate::audit::api::export,
        crate::webhooks::api::list,
        crate::webhooks::api::create,
        crate::webhooks::api::show,
        crate::webhooks::api::update,
        crate::webhooks::api::remove,
        crate::webhooks::api::test,
        crate::webhooks::api::deliveries,
        crate::webhooks::api::retry,
        crate::snippets::handlers::list,
        crate::snippets::handlers::create,
        crate::snippets::handlers::show,
        crate::snippets::handlers::update,
        crate::snippets::handlers::remove,
    ),
    components(schemas(wire::ErrorBody, wire::terminal::ServerFrame, wire::terminal::ClientFrame)),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("cookie" = [])),
    tags(
        (name = "auth", description = "Sign-in, the session, one's password"),
        (name = "totp", description = "One's second factor (TOTP) and recovery codes"),
        (name = "api-keys", description = "One's API keys (`Authorization: Bearer`)"),
        (name = "directory", description = "LDAP and OpenID Connect settings checks (admins)"),
        (name = "users", description = "Accounts (admins)"),
        (name = "servers", description = "The server registry, host keys, imports"),
        (name = "terminal", description = "Live terminal sessions and share links"),
        (name = "files", description = "SFTP file manager, under /api/files/{server_id}/"),
        (name = "recordings", description = "Session recordings (asciicast v2)"),
        (name = "audit", description = "The audit log (admins and auditors)"),
        (name = "webhooks", description = "Signed event deliveries to HTTP receivers (admins)"),
        (name = "snippets", description = "Command snippets: one's own and the shared ones"),
        (name = "meta", description = "Health, readiness, metrics, this document"),
    )
)]
struct ApiDoc;

/// `bearer`: a login token or an API key; `cookie`: the browser's session cookie.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The `token` of a login answer, or an API key (`ghk_…`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// Adds the `ErrorBody` answers every route can give to each operation that does not list them.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut Document) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                // `security(())`: one requirement that names no scheme.
                let public = op.security.as_ref().is_some_and(|reqs| {
                    reqs.iter()
                        .all(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
                });
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response(description).into());
                };
                add(
                    "400",
                    "Invalid request: body, path or query (`invalid_request`, …)",
                );
                if !public {
                    add("401", "Not signed in (`unauthenticated`)");
                    add(
                        "403",
                        "Not allowed (`forbidden`), or a password change is due",
                    );
                }
                if has_id {
                    add(
                        "404",
                        "No such thing, or not one the caller may see (`not_found`)",
                    );
                }
            }
        }
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(wire::ErrorBody::name())))
                .build(),
        )
        .build()
}

/// `POST /api/files/{server_id}/upload`: a multipart form, one `files` part per file. A part's
/// file name may carry a relative path (`dir/sub/name`) for folder uploads.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    #[schema(value_type = Vec<String>, format = Binary)]
    files: Vec<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_serialises_and_names_every_error_schema_it_refers_to() {
        let doc: serde_json::Value = serde_json::from_str(&JSON).expect("JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        assert!(doc["paths"]["/api/auth/login"]["post"].is_object());
        let ids: Vec<&str> = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|item| item.as_object().expect("path item").values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(ids.len(), unique.len(), "operation ids must be unique");
    }
}
