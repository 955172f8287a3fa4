//! `/api/webhooks`: admin-only management of the hooks, their delivery log, a test delivery
//! and a manual retry. Secrets are write-only: sealed by the vault before they are stored and
//! never answered, except a generated one, once, in the create response. Every change and test
//! is audited (`webhook.*`, never with the secret).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use wire::webhooks::{
    CreateWebhookRequest, DeliveryState, DeliveryView, UpdateWebhookRequest, WebhookCreated,
    WebhookView,
};

use super::store::{self, Hook, HookFields};
use super::{dispatcher, is_known_event, payload, sign, ALL_EVENTS, TEST_EVENT};
use crate::audit::{self, Actor, Event, Outcome};
use crate::auth::AdminUser;
use crate::error::extract::{Json, Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const MAX_NAME: usize = 128;
const MAX_URL: usize = 2048;
const MAX_SECRET: usize = 1024;
const DEFAULT_LOG_PAGE: u64 = 100;
const MAX_LOG_PAGE: u64 = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/webhooks", get(list).post(create))
        .route("/api/webhooks/{id}", get(show).put(update).delete(remove))
        .route("/api/webhooks/{id}/test", post(test))
        .route("/api/webhooks/{id}/deliveries", get(deliveries))
        .route(
            "/api/webhooks/{id}/deliveries/{delivery_id}/retry",
            post(retry),
        )
}

fn invalid_url(message: impl Into<String>) -> ApiError {
    ApiError::coded(StatusCode::BAD_REQUEST, "invalid_url", message)
}

/// An absolute `http://` or `https://` URL with a host. Loopback and private addresses are
/// allowed on purpose: hooks are configured by admins, and receivers often sit beside the
/// gateway (see docs/webhooks.md on SSRF).
fn check_url(url: &str) -> ApiResult<String> {
    let url = url.trim();
    if url.is_empty() || url.len() > MAX_URL {
        return Err(invalid_url(format!("url must be 1-{MAX_URL} characters")));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| invalid_url(format!("url is not a valid URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid_url("url must start with http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid_url("url must name a host"));
    }
    Ok(url.to_owned())
}

fn check_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::Validation(format!(
            "name must be 1-{MAX_NAME} printable characters"
        )));
    }
    Ok(name.to_owned())
}

/// Known names only, without repeats; `*` stands alone.
fn check_events(events: &[String]) -> ApiResult<Vec<String>> {
    if events.is_empty() {
        return Err(ApiError::Validation(
            "events must name at least one event, or \"*\" for all".into(),
        ));
    }
    if let Some(unknown) = events.iter().find(|e| !is_known_event(e)) {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            "unknown_event",
            format!(
                "unknown event \"{unknown}\"; known events: *, {}",
                super::EVENTS.join(", ")
            ),
        ));
    }
    if events.iter().any(|e| e == ALL_EVENTS) {
        return Ok(vec![ALL_EVENTS.to_owned()]);
    }
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

fn check_secret(secret: &str) -> ApiResult<()> {
    if secret.len() > MAX_SECRET || secret.chars().any(char::is_control) {
        return Err(ApiError::Validation(format!(
            "secret must be at most {MAX_SECRET} printable characters"
        )));
    }
    Ok(())
}

async fn find(state: &AppState, id: i32) -> ApiResult<Hook> {
    store::get(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound("webhook"))
}

#[utoipa::path(get, path = "/api/webhooks", tag = "webhooks", operation_id = "webhooks_list",
    responses((status = 200, description = "Every webhook (secrets never included)", body = Vec<wire::webhooks::WebhookView>)))]
async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<axum::Json<Vec<WebhookView>>> {
    let hooks = store::list(&state.db).await?;
    Ok(axum::Json(hooks.iter().map(store::view).collect()))
}

#[utoipa::path(get, path = "/api/webhooks/{id}", tag = "webhooks", operation_id = "webhooks_show",
    params(("id" = i32, Path, description = "The webhook")),
    responses((status = 200, description = "The webhook", body = wire::webhooks::WebhookView)))]
async fn show(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<i32>,
) -> ApiResult<axum::Json<WebhookView>> {
    Ok(axum::Json(store::view(&find(&state, id).await?)))
}

#[utoipa::path(post, path = "/api/webhooks", tag = "webhooks", operation_id = "webhooks_create",
    request_body = wire::webhooks::CreateWebhookRequest,
    responses((status = 201, description = "Created; a generated secret is shown here once", body = wire::webhooks::WebhookCreated)))]
async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(req): Json<CreateWebhookRequest>,
) -> ApiResult<(StatusCode, axum::Json<WebhookCreated>)> {
    let fields = HookFields {
        name: check_name(&req.name)?,
        url: check_url(&req.url)?,
        events: check_events(&req.events)?,
        enabled: req.enabled,
    };
    let given = req.secret.filter(|s| !s.is_empty());
    if let Some(secret) = &given {
        check_secret(secret)?;
    }
    let generated = given.is_none().then(sign::generate_secret);
    let secret = given
        .as_deref()
        .or(generated.as_deref())
        .unwrap_or_default();
    let hook = store::create(&state.db, fields, state.vault.seal(secret)).await?;
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("webhook.create")
            .target(&hook.name)
            .details(json!({
                "webhook_id": hook.id,
                "url": hook.url,
                "events": store::events_of(&hook),
                "enabled": hook.enabled,
                "secret_generated": generated.is_some(),
            })),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(WebhookCreated {
            webhook: store::view(&hook),
            secret: generated,
        }),
    ))
}

#[utoipa::path(put, path = "/api/webhooks/{id}", tag = "webhooks", operation_id = "webhooks_update",
    params(("id" = i32, Path, description = "The webhook")),
    request_body = wire::webhooks::UpdateWebhookRequest,
    responses((status = 200, description = "The webhook as changed", body = wire::webhooks::WebhookView)))]
async fn update(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i32>,
    Json(req): Json<UpdateWebhookRequest>,
) -> ApiResult<axum::Json<WebhookView>> {
    let old = find(&state, id).await?;
    let fields = HookFields {
        name: check_name(req.name.as_deref().unwrap_or(&old.name))?,
        url: match &req.url {
            Some(url) => check_url(url)?,
            None => old.url.clone(),
        },
        events: match &req.events {
            Some(events) => check_events(events)?,
            None => store::events_of(&old),
        },
        enabled: req.enabled.unwrap_or(old.enabled),
    };
    // An empty secret (a form left blank) keeps the current one.
    let secret = req.secret.filter(|s| !s.is_empty());
    if let Some(secret) = &secret {
        check_secret(secret)?;
    }
    let secret_changed = secret.is_some();
    let hook = store::update(&state.db, id, fields, secret.map(|s| state.vault.seal(&s))).await?;
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("webhook.update")
            .target(&hook.name)
            .details(json!({
                "webhook_id": hook.id,
                "url": hook.url,
                "events": store::events_of(&hook),
                "enabled": hook.enabled,
                "secret_changed": secret_changed,
            })),
    )
    .await;
    Ok(axum::Json(store::view(&hook)))
}

#[utoipa::path(delete, path = "/api/webhooks/{id}", tag = "webhooks", operation_id = "webhooks_delete",
    params(("id" = i32, Path, description = "The webhook")),
    responses((status = 204, description = "Deleted, with its delivery log")))]
async fn remove(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i32>,
) -> ApiResult<StatusCode> {
    let hook = find(&state, id).await?;
    store::delete(&state.db, id).await?;
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("webhook.delete")
            .target(&hook.name)
            .details(json!({"webhook_id": hook.id, "url": hook.url})),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a `test` event to this hook only, now, once (no retries), and answers how it went.
/// The delivery is in the hook's log like any other.
#[utoipa::path(post, path = "/api/webhooks/{id}/test", tag = "webhooks", operation_id = "webhooks_test",
    params(("id" = i32, Path, description = "The webhook")),
    responses((status = 200, description = "Sent once to this hook only; what the receiver answered", body = wire::webhooks::DeliveryView)))]
async fn test(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i32>,
) -> ApiResult<axum::Json<DeliveryView>> {
    let hook = find(&state, id).await?;
    let event_id = uuid::Uuid::new_v4().to_string();
    let body = payload(
        &event_id,
        TEST_EVENT,
        json!({
            "message": "A test delivery from Gatehouse.",
            "webhook_id": hook.id,
            "webhook_name": hook.name,
            "actor": admin.user.username,
        }),
    );
    let row = store::enqueue_claimed(&state.db, hook.id, &event_id, TEST_EVENT, &body).await?;
    let row = dispatcher::deliver(&state, &row).await?;
    let delivered = row.state == DeliveryState::Delivered.as_str();
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("webhook.test")
            .target(&hook.name)
            .outcome(if delivered {
                Outcome::Success
            } else {
                Outcome::Failure
            })
            .details(json!({
                "webhook_id": hook.id,
                "delivery_id": row.id,
                "status_code": row.status_code,
                "error": row.error,
            })),
    )
    .await;
    Ok(axum::Json(store::delivery_view(&row)))
}

#[derive(Debug, Deserialize)]
struct LogQuery {
    limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "webhooks_deliveries",
    params(("id" = i32, Path, description = "The webhook"),
        ("limit" = Option<u64>, Query, description = "How many, newest first")),
    responses((status = 200, description = "The delivery log", body = Vec<wire::webhooks::DeliveryView>)))]
async fn deliveries(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<i32>,
    Query(q): Query<LogQuery>,
) -> ApiResult<axum::Json<Vec<DeliveryView>>> {
    find(&state, id).await?;
    let limit = q.limit.unwrap_or(DEFAULT_LOG_PAGE).clamp(1, MAX_LOG_PAGE);
    let rows = store::deliveries(&state.db, id, limit).await?;
    Ok(axum::Json(rows.iter().map(store::delivery_view).collect()))
}

/// Puts a failed (or waiting) delivery back in the queue, due now. A delivered one is not sent
/// twice.
#[utoipa::path(post, path = "/api/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    operation_id = "webhooks_retry",
    params(("id" = i32, Path, description = "The webhook"),
        ("delivery_id" = i32, Path, description = "The delivery")),
    responses((status = 202, description = "Queued again, due now", body = wire::webhooks::DeliveryView),
        (status = 409, description = "Already delivered (`already_delivered`)", body = wire::ErrorBody)))]
async fn retry(
    State(state): State<AppState>,
    admin: AdminUser,
    Path((id, delivery_id)): Path<(i32, i32)>,
) -> ApiResult<(StatusCode, axum::Json<DeliveryView>)> {
    let hook = find(&state, id).await?;
    let row = store::delivery(&state.db, id, delivery_id)
        .await?
        .ok_or(ApiError::NotFound("delivery"))?;
    if row.state == DeliveryState::Delivered.as_str() {
        return Err(ApiError::coded(
            StatusCode::CONFLICT,
            "already_delivered",
            "this delivery already reached the receiver",
        ));
    }
    let row = store::requeue(&state.db, &row).await?;
    super::wake();
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("webhook.retry")
            .target(&hook.name)
            .details(json!({"webhook_id": hook.id, "delivery_id": row.id, "event": row.event})),
    )
    .await;
    Ok((StatusCode::ACCEPTED, axum::Json(store::delivery_view(&row))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        assert!(check_url("https://hooks.example.com/x?y=1").is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        for bad in [
            "",
            "ftp://example.com/",
            "example.com/hook",
            "file:///etc/passwd",
            "http://",
        ] {
            let err = check_url(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_url", "{bad}");
        }
    }

    #[test]
    fn events_are_checked_and_normalised() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_events(&names(&["login", "login"])).unwrap(),
            names(&["login"])
        );
        assert_eq!(
            check_events(&names(&["login", "*"])).unwrap(),
            names(&["*"])
        );
        assert_eq!(
            check_events(&names(&["nope"])).unwrap_err().code(),
            "unknown_event"
        );
        assert_eq!(check_events(&[]).unwrap_err().code(), "validation_failed");
        assert_eq!(
            check_events(&names(&["test"])).unwrap_err().code(),
            "unknown_event"
        );
    }
}
