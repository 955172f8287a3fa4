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
use wire::auth::{
    ApiKeyCreated, ApiKeyView, ChangePasswordRequest, CreateApiKey, LoginRequest, LoginResponse,
    RecoveryCodes, TotpCode, TotpSetup, TotpStatus,
};
use wire::files::{
    ChmodRequest, DeleteResponse, Entry, Listing, MkdirRequest, Mode, RenameRequest, TextFile,
    WriteRequest,
};
use wire::ldap::{LdapStatus, LdapTestRequest, LdapTestResult};
use wire::oidc::{OidcStatus, OidcTestResult};
use wire::recordings::{RecordingList, RecordingView};
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
    pub(crate) fn network(err: impl fmt::Display) -> Self {
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

    /// The policy requires a second factor the account has not set up yet.
    pub fn is_totp_enrollment_required(&self) -> bool {
        self.status == 403 && self.code == "totp_enrollment_required"
    }

    /// The error of an answer: its `{"error","code"}` body, or a generic one naming the status.
    /// (Also for answers read other than through `call`: an upload's XMLHttpRequest, a streamed
    /// fetch.)
    pub fn from_body(status: u16, status_text: &str, body: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(body) => ApiError {
                status,
                code: body.code,
                message: body.error,
            },
            Err(_) => ApiError {
                status,
                code: format!("http_{status}"),
                message: format!("The gateway answered {status} {status_text}")
                    .trim_end()
                    .to_owned()
                    + ".",
            },
        }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code == code
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
    let body = response.text().await.unwrap_or_default();
    ApiError::from_body(response.status(), &response.status_text(), &body)
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

pub(crate) async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
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

/// A query-string value, percent-encoded.
pub fn query_value(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}

// --- Session -------------------------------------------------------------------------------

/// Signs in; `totp_code` is the second factor (or a recovery code), sent again with the
/// password after a 401 `totp_required`.
pub async fn login(
    username: String,
    password: String,
    totp_code: Option<String>,
) -> ApiResult<LoginResponse> {
    let body = LoginRequest {
        username,
        password,
        totp_code,
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

/// How one may sign in here (no sign-in needed): LDAP, and the SSO button when configured.
pub async fn auth_providers() -> ApiResult<wire::auth::AuthProviders> {
    get("api/auth/providers").await
}

// --- Second factor and API keys -------------------------------------------------------------

pub async fn totp_status() -> ApiResult<TotpStatus> {
    get("api/auth/totp").await
}

/// A new secret for the authenticator; nothing changes until `totp_enable` confirms a code.
pub async fn totp_setup() -> ApiResult<TotpSetup> {
    send(Method::Post, "api/auth/totp/setup", &()).await
}

/// Turns the second factor on with a code from the new secret; answers the recovery codes.
pub async fn totp_enable(code: String) -> ApiResult<RecoveryCodes> {
    send(Method::Post, "api/auth/totp/enable", &TotpCode { code }).await
}

pub async fn totp_disable(code: String) -> ApiResult<()> {
    send_no_content(Method::Post, "api/auth/totp/disable", &TotpCode { code }).await
}

/// Replaces every recovery code with fresh ones.
pub async fn totp_recovery_codes(code: String) -> ApiResult<RecoveryCodes> {
    send(
        Method::Post,
        "api/auth/totp/recovery-codes",
        &TotpCode { code },
    )
    .await
}

/// Turns another user's second factor off (admins).
pub async fn reset_user_totp(id: i32) -> ApiResult<()> {
    delete(&format!("api/users/{id}/totp")).await
}

pub async fn api_keys() -> ApiResult<Vec<ApiKeyView>> {
    get("api/auth/api-keys").await
}

/// Creates a key; the answer holds the key itself, which is never shown again.
pub async fn create_api_key(body: &CreateApiKey) -> ApiResult<ApiKeyCreated> {
    send(Method::Post, "api/auth/api-keys", body).await
}

pub async fn revoke_api_key(id: i32) -> ApiResult<()> {
    delete(&format!("api/auth/api-keys/{id}")).await
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
/// Connects through every hop of the server's chain (no shell) and reports each one.
pub async fn test_server(id: i32) -> ApiResult<wire::servers::TestReport> {
    send(Method::Post, &format!("api/servers/{id}/test"), &()).await
}

pub async fn clear_host_key(id: i32) -> ApiResult<()> {
    delete(&format!("api/servers/{id}/host-key")).await
}

/// The pinned host key and any key awaiting approval (admins).
pub async fn host_key(id: i32) -> ApiResult<wire::servers::HostKeyView> {
    get(&format!("api/servers/{id}/host-key")).await
}

/// Approves the key awaiting approval, named by the fingerprint the admin saw.
pub async fn approve_host_key(
    id: i32,
    fingerprint: String,
) -> ApiResult<wire::servers::HostKeyView> {
    send(
        Method::Post,
        &format!("api/servers/{id}/host-key/approve"),
        &wire::servers::ApproveHostKey { fingerprint },
    )
    .await
}

/// The connectivity monitor's state of every server the user may see.
pub async fn server_statuses() -> ApiResult<Vec<wire::monitor::ServerStatus>> {
    get("api/servers/status").await
}

/// Creates servers from another tool's configuration (admins); a dry run only reports.
pub async fn import_servers(
    body: &wire::servers::ImportRequest,
) -> ApiResult<wire::servers::ImportResponse> {
    send(Method::Post, "api/servers/import", body).await
}

/// Pins host keys from an OpenSSH `known_hosts` file (admins; `dry_run` previews).
pub async fn import_known_hosts(
    body: &wire::servers::KnownHostsImportRequest,
) -> ApiResult<wire::servers::KnownHostsImportReport> {
    send(Method::Post, "api/servers/known-hosts", body).await
}

/// Terminal WebSocket URL for a server, opened at the given grid size.
pub fn terminal_ws_url(server_id: i32, cols: u16, rows: u16) -> String {
    ws_url(&format!(
        "api/ws/terminal/{server_id}?cols={cols}&rows={rows}"
    ))
}

/// Attach URL of a live terminal session: its output after stream position `offset` (all the
/// session still holds without one) is replayed first.
pub fn terminal_attach_url(session_id: &str, cols: u16, rows: u16, offset: Option<u64>) -> String {
    let offset = offset.map(|o| format!("&offset={o}")).unwrap_or_default();
    ws_url(&format!(
        "api/ws/terminal/attach/{}?cols={cols}&rows={rows}{offset}",
        query_value(session_id)
    ))
}

/// Join URL of a share link (the token travels in the path, as the contract says).
pub fn terminal_join_url(token: &str) -> String {
    ws_url(&format!("api/ws/terminal/join/{}", query_value(token)))
}

/// Creates a share link to one of the caller's sessions.
pub async fn create_share(
    session_id: &str,
    mode: &str,
    expires_in: u64,
) -> ApiResult<wire::terminal::ShareCreated> {
    let body = wire::terminal::ShareRequest {
        mode: mode.to_owned(),
        expires_in: Some(expires_in),
    };
    let path = format!("api/terminal/share/{}", query_value(session_id));
    send(Method::Post, &path, &body).await
}

/// The session's share links and participants.
pub async fn sharing(session_id: &str) -> ApiResult<wire::terminal::Sharing> {
    get(&format!("api/terminal/share/{}", query_value(session_id))).await
}

/// Revokes every share link of the session; everyone who joined through one is disconnected.
pub async fn revoke_shares(session_id: &str) -> ApiResult<()> {
    delete(&format!("api/terminal/share/{}", query_value(session_id))).await
}

/// Disconnects one participant.
pub async fn kick_participant(session_id: &str, participant_id: &str) -> ApiResult<()> {
    delete(&format!(
        "api/terminal/share/{}/participants/{}",
        query_value(session_id),
        query_value(participant_id)
    ))
    .await
}

/// The caller's live terminal sessions (attached or not), oldest first.
pub async fn terminal_sessions() -> ApiResult<Vec<wire::terminal::SessionView>> {
    get("api/terminal/sessions").await
}

/// The gateway's live-session settings (session cap, grace period, idle timeout).
pub async fn terminal_limits() -> ApiResult<wire::terminal::Limits> {
    get("api/terminal/limits").await
}

/// Ends a terminal session (closes its shell).
pub async fn close_terminal_session(session_id: &str) -> ApiResult<()> {
    delete(&format!(
        "api/terminal/sessions/{}",
        query_value(session_id)
    ))
    .await
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

// --- Sign-in providers (admins) ----------------------------------------------------------------

pub async fn ldap_status() -> ApiResult<LdapStatus> {
    get("api/admin/ldap").await
}

pub async fn ldap_test(body: &LdapTestRequest) -> ApiResult<LdapTestResult> {
    send(Method::Post, "api/admin/ldap/test", body).await
}

pub async fn oidc_status() -> ApiResult<OidcStatus> {
    get("api/admin/oidc").await
}

pub async fn oidc_test() -> ApiResult<OidcTestResult> {
    send(Method::Post, "api/admin/oidc/test", &serde_json::json!({})).await
}

// --- Webhooks (admins) ---------------------------------------------------------------------

pub async fn webhooks() -> ApiResult<Vec<wire::webhooks::WebhookView>> {
    get("api/webhooks").await
}

pub async fn create_webhook(
    body: &wire::webhooks::CreateWebhookRequest,
) -> ApiResult<wire::webhooks::WebhookCreated> {
    send(Method::Post, "api/webhooks", body).await
}

pub async fn update_webhook(
    id: i32,
    body: &wire::webhooks::UpdateWebhookRequest,
) -> ApiResult<wire::webhooks::WebhookView> {
    send(Method::Put, &format!("api/webhooks/{id}"), body).await
}

pub async fn delete_webhook(id: i32) -> ApiResult<()> {
    delete(&format!("api/webhooks/{id}")).await
}

/// Sends a `test` event to this hook only, now; answers how the attempt went.
pub async fn test_webhook(id: i32) -> ApiResult<wire::webhooks::DeliveryView> {
    send(
        Method::Post,
        &format!("api/webhooks/{id}/test"),
        &serde_json::json!({}),
    )
    .await
}

/// The hook's delivery log, newest first.
pub async fn webhook_deliveries(id: i32) -> ApiResult<Vec<wire::webhooks::DeliveryView>> {
    get(&format!("api/webhooks/{id}/deliveries")).await
}

pub async fn retry_webhook_delivery(
    id: i32,
    delivery_id: i32,
) -> ApiResult<wire::webhooks::DeliveryView> {
    send(
        Method::Post,
        &format!("api/webhooks/{id}/deliveries/{delivery_id}/retry"),
        &serde_json::json!({}),
    )
    .await
}

// --- Recordings ----------------------------------------------------------------------------

/// What `GET /api/recordings` is asked for; empty fields are left out of the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingFilter {
    pub server_id: Option<i32>,
    /// A username, matched exactly by the gateway.
    pub user: String,
    /// `YYYY-MM-DD` or RFC 3339.
    pub since: String,
    pub until: String,
    pub limit: u32,
    pub offset: u64,
}

impl RecordingFilter {
    fn query(&self) -> String {
        let mut query = vec![
            format!("limit={}", self.limit),
            format!("offset={}", self.offset),
        ];
        if let Some(id) = self.server_id {
            query.push(format!("server_id={id}"));
        }
        for (name, value) in [
            ("user", &self.user),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            let value = value.trim();
            if !value.is_empty() {
                query.push(format!("{name}={}", query_value(value)));
            }
        }
        query.join("&")
    }
}

/// One page of the recordings the caller may see, newest first, and how many match in all.
pub async fn recordings(filter: &RecordingFilter) -> ApiResult<RecordingList> {
    get(&format!("api/recordings?{}", filter.query())).await
}

pub async fn recording(id: &str) -> ApiResult<RecordingView> {
    get(&format!("api/recordings/{}", query_value(id))).await
}

/// Deletes a recording and its cast (admins).
pub async fn delete_recording(id: &str) -> ApiResult<()> {
    delete(&format!("api/recordings/{}", query_value(id))).await
}

/// The asciicast v2 file of a finished recording (409 `recording_in_progress` while it is
/// still being written). The session cookie authenticates it, so a plain link works.
pub fn recording_cast_url(id: &str) -> String {
    url(&format!("api/recordings/{}/cast", query_value(id)))
}

// --- Snippets ------------------------------------------------------------------------------

/// The caller's own snippets and the shared ones, by name.
pub async fn snippets() -> ApiResult<Vec<wire::snippets::SnippetView>> {
    get("api/snippets").await
}

pub async fn create_snippet(
    body: &wire::snippets::SnippetRequest,
) -> ApiResult<wire::snippets::SnippetView> {
    send(Method::Post, "api/snippets", body).await
}

pub async fn update_snippet(
    id: i32,
    body: &wire::snippets::SnippetRequest,
) -> ApiResult<wire::snippets::SnippetView> {
    send(Method::Put, &format!("api/snippets/{id}"), body).await
}

pub async fn delete_snippet(id: i32) -> ApiResult<()> {
    delete(&format!("api/snippets/{id}")).await
}

// --- Files (SFTP) --------------------------------------------------------------------------
// Downloads, uploads and server-to-server copies stream, so they are not fetched here: the UI
// gets their URLs (links, <img>, XMLHttpRequest, a streamed fetch in files/transfer.rs).

fn files_path(server_id: i32, op: &str) -> String {
    format!("api/files/{server_id}/{op}")
}

fn files_path_of(server_id: i32, op: &str, path: &str) -> String {
    format!("api/files/{server_id}/{op}?path={}", query_value(path))
}

/// Lists a directory; an empty `path` lists the login (home) directory.
pub async fn ls(server_id: i32, path: &str) -> ApiResult<Listing> {
    if path.is_empty() {
        get(&files_path(server_id, "ls")).await
    } else {
        get(&files_path_of(server_id, "ls", path)).await
    }
}

pub async fn stat(server_id: i32, path: &str) -> ApiResult<Entry> {
    get(&files_path_of(server_id, "stat", path)).await
}

/// A text file for the editor (413 `too_large`, 415 `binary` otherwise).
pub async fn read_text(server_id: i32, path: &str) -> ApiResult<TextFile> {
    get(&files_path_of(server_id, "read", path)).await
}

pub async fn write_text(server_id: i32, body: &WriteRequest) -> ApiResult<Entry> {
    send(Method::Put, &files_path(server_id, "write"), body).await
}

pub async fn mkdir(server_id: i32, path: String) -> ApiResult<Entry> {
    send(
        Method::Post,
        &files_path(server_id, "mkdir"),
        &MkdirRequest { path },
    )
    .await
}

pub async fn rename(
    server_id: i32,
    old_path: String,
    new_path: String,
    overwrite: bool,
) -> ApiResult<Entry> {
    let body = RenameRequest {
        old_path,
        new_path,
        overwrite,
    };
    send(Method::Post, &files_path(server_id, "rename"), &body).await
}

/// Deletes a file, or a directory with everything in it.
pub async fn delete_path(server_id: i32, path: &str) -> ApiResult<DeleteResponse> {
    decode(
        call(
            Method::Delete,
            &files_path_of(server_id, "delete", path),
            None,
        )
        .await?,
    )
    .await
}

pub async fn chmod(server_id: i32, path: String, mode: u32) -> ApiResult<Entry> {
    let body = ChmodRequest {
        path,
        mode: Mode::Bits(mode),
    };
    send(Method::Post, &files_path(server_id, "chmod"), &body).await
}

/// Streamed download of one file; `inline` asks for a preview (`Content-Disposition: inline`).
pub fn download_url(server_id: i32, path: &str, inline: bool) -> String {
    let mut rel = files_path_of(server_id, "download", path);
    if inline {
        rel.push_str("&inline=1");
    }
    url(&rel)
}

/// Streamed ZIP of files and folders.
pub fn zip_url(server_id: i32, paths: &[String]) -> String {
    let query: Vec<String> = paths
        .iter()
        .map(|p| format!("path={}", query_value(p)))
        .collect();
    url(&format!(
        "{}?{}",
        files_path(server_id, "download-zip"),
        query.join("&")
    ))
}

/// Where one multipart upload (field `files`) into `dir` goes.
pub fn upload_url(server_id: i32, dir: &str, overwrite: bool) -> String {
    url(&format!(
        "{}&overwrite={overwrite}",
        files_path_of(server_id, "upload", dir)
    ))
}

/// `POST copy-to`, answered with JSON Lines of `wire::files::CopyEvent`.
pub fn copy_to_url(server_id: i32) -> String {
    url(&files_path(server_id, "copy-to"))
}
