//! The typed client for the gateway's REST API. Components call these functions and get `wire`
//! types back; no JSON is built or picked apart anywhere else.
//!
//! Authentication is the HttpOnly session cookie the server sets at sign-in: requests go
//! same-origin with credentials, and the UI never sees or stores a token. Every URL is resolved
//! against the document's `<base href>`, so the UI works under a URL prefix.

use std::fmt;

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::{de::DeserializeOwned, Serialize};
use web_sys::RequestCredentials;
use wire::auth::{ChangePasswordRequest, LoginRequest, LoginResponse};
use wire::servers::{ServerRequest, ServerView};
use wire::users::{CreateUserRequest, UpdateUserRequest, UserView};
use wire::ErrorBody;

/// A failed call: the server's `{"error","code"}` body, or a synthetic one for network trouble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status; 0 when the request never got an answer.
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    fn network(err: impl fmt::Display) -> Self {
        ApiError {
            status: 0,
            code: "network".to_owned(),
            message: format!("Cannot reach the gateway ({err})."),
        }
    }

    /// The session is gone (expired, revoked, signed out elsewhere).
    pub fn is_unauthenticated(&self) -> bool {
        self.status == 401 && self.code == "unauthenticated"
    }

    /// The account must pick a new password before anything else works.
    pub fn is_password_change_required(&self) -> bool {
        self.status == 403 && self.code == "password_change_required"
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The document's base URL (`<base href>`), which every API and WebSocket URL hangs off.
fn base_url() -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_else(|| "/".to_owned())
}

/// Absolute URL of `path` (relative, e.g. `api/servers`).
pub fn url(path: &str) -> String {
    web_sys::Url::new_with_base(path, &base_url())
        .map(|u| u.href())
        .unwrap_or_else(|_| format!("/{path}"))
}

/// `ws:`/`wss:` URL of `path`, matching the page's scheme.
pub fn ws_url(path: &str) -> String {
    match web_sys::Url::new_with_base(path, &base_url()) {
        Ok(u) => {
            let scheme = if u.protocol() == "https:" {
                "wss:"
            } else {
                "ws:"
            };
            u.set_protocol(scheme);
            u.href()
        }
        Err(_) => format!("/{path}"),
    }
}

enum Method {
    Get,
    Post,
    Put,
    Delete,
}

async fn call(method: Method, path: &str, body: Option<String>) -> ApiResult<Response> {
    let url = url(path);
    let builder: RequestBuilder = match method {
        Method::Get => Request::get(&url),
        Method::Post => Request::post(&url),
        Method::Put => Request::put(&url),
        Method::Delete => Request::delete(&url),
    }
    .credentials(RequestCredentials::SameOrigin)
    .header("Accept", "application/json");
    let request = match body {
        Some(json) => builder
            .header("Content-Type", "application/json")
            .body(json),
        None => builder.build(),
    }
    .map_err(ApiError::network)?;
    let response = request.send().await.map_err(ApiError::network)?;
    if response.ok() {
        Ok(response)
    } else {
        Err(error_of(response).await)
    }
}

async fn error_of(response: Response) -> ApiError {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => ApiError {
            status,
            code: body.code,
            message: body.error,
        },
        Err(_) => ApiError {
            status,
            code: format!("http_{status}"),
            message: format!("The gateway answered {status} {}.", response.status_text()),
        },
    }
}

fn encode<B: Serialize>(body: &B) -> ApiResult<String> {
    serde_json::to_string(body).map_err(|e| ApiError {
        status: 0,
        code: "encode".to_owned(),
        message: e.to_string(),
    })
}

async fn decode<T: DeserializeOwned>(response: Response) -> ApiResult<T> {
    response.json::<T>().await.map_err(|e| ApiError {
        status: response.status(),
        code: "bad_response".to_owned(),
        message: format!("Unexpected answer from the gateway ({e})."),
    })
}

async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    decode(call(Method::Get, path, None).await?).await
}

async fn send<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: &B,
) -> ApiResult<T> {
    decode(call(method, path, Some(encode(body)?)).await?).await
}

async fn send_no_content<B: Serialize>(method: Method, path: &str, body: &B) -> ApiResult<()> {
    call(method, path, Some(encode(body)?)).await.map(drop)
}

async fn delete(path: &str) -> ApiResult<()> {
    call(Method::Delete, path, None).await.map(drop)
}

// --- Session -------------------------------------------------------------------------------

pub async fn login(username: String, password: String) -> ApiResult<LoginResponse> {
    let body = LoginRequest {
        username,
        password,
        totp_code: None,
    };
    send(Method::Post, "api/auth/login", &body).await
}

pub async fn me() -> ApiResult<UserView> {
    get("api/auth/me").await
}

pub async fn logout() -> ApiResult<()> {
    call(Method::Post, "api/auth/logout", None).await.map(drop)
}

pub async fn change_password(current_password: String, new_password: String) -> ApiResult<()> {
    let body = ChangePasswordRequest {
        current_password,
        new_password,
    };
    send_no_content(Method::Post, "api/auth/change-password", &body).await
}

// --- Servers -------------------------------------------------------------------------------

pub async fn servers() -> ApiResult<Vec<ServerView>> {
    get("api/servers").await
}

pub async fn server(id: i32) -> ApiResult<ServerView> {
    get(&format!("api/servers/{id}")).await
}

pub async fn create_server(body: &ServerRequest) -> ApiResult<ServerView> {
    send(Method::Post, "api/servers", body).await
}

pub async fn update_server(id: i32, body: &ServerRequest) -> ApiResult<ServerView> {
    send(Method::Put, &format!("api/servers/{id}"), body).await
}

pub async fn delete_server(id: i32) -> ApiResult<()> {
    delete(&format!("api/servers/{id}")).await
}

/// Forgets the pinned host key; the next connection pins whatever key the host presents.
pub async fn clear_host_key(id: i32) -> ApiResult<()> {
    delete(&format!("api/servers/{id}/host-key")).await
}

/// Terminal WebSocket URL for a server, opened at the given grid size.
pub fn terminal_ws_url(server_id: i32, cols: u16, rows: u16) -> String {
    ws_url(&format!(
        "api/ws/terminal/{server_id}?cols={cols}&rows={rows}"
    ))
}

// --- Users ---------------------------------------------------------------------------------

pub async fn users() -> ApiResult<Vec<UserView>> {
    get("api/users").await
}

pub async fn create_user(body: &CreateUserRequest) -> ApiResult<UserView> {
    send(Method::Post, "api/users", body).await
}

pub async fn update_user(id: i32, body: &UpdateUserRequest) -> ApiResult<UserView> {
    send(Method::Put, &format!("api/users/{id}"), body).await
}

pub async fn delete_user(id: i32) -> ApiResult<()> {
    delete(&format!("api/users/{id}")).await
}
