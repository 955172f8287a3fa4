//! `/api/auth/providers` and the two ends of the OIDC code flow: `/api/auth/oidc/login` sends the
//! browser to the provider, `/api/auth/oidc/callback` brings it back signed in. Failures go back
//! to the UI as `/#/login-error/<code>`; the reason is audited (`auth.oidc_failed`), never a token.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use wire::auth::{AuthProviders, OidcProvider};
use wire::ldap::LdapTestStep;
use wire::oidc::{OidcStatus, OidcTestResult};

use super::id_token::{self, KeyCheck};
use super::pending::{self, Pending};
use super::provider::{self, short, Provider};
use super::settings::OidcSettings;
use super::OidcError;
use crate::audit::{self, Actor, Event, Outcome};
use crate::auth::external::{self, ExternalAccount};
use crate::auth::login::start_session;
use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::state::AppState;

pub const LOGIN_PATH: &str = "/api/auth/oidc/login";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/providers", get(providers))
        .route(LOGIN_PATH, get(login))
        .route("/api/auth/oidc/callback", get(callback))
        .route("/api/admin/oidc", get(status))
        .route("/api/admin/oidc/test", post(test))
}

#[utoipa::path(
    get,
    path = "/api/auth/providers",
    tag = "auth",
    operation_id = "auth_providers",
    security(()),
    responses(
        (status = 200, description = "How one may sign in here", body = wire::auth::AuthProviders),
    )
)]
async fn providers(State(state): State<AppState>) -> Json<AuthProviders> {
    let oidc = match provider::configured(&state.config) {
        Ok(Some(p)) => Some(OidcProvider {
            label: p.settings.button_label.clone(),
            login_url: LOGIN_PATH.to_owned(),
        }),
        _ => None,
    };
    Json(AuthProviders {
        ldap: state.config.ldap_url.is_some(),
        oidc,
    })
}

#[utoipa::path(
    get,
    path = "/api/auth/oidc/login",
    tag = "auth",
    operation_id = "oidc_login",
    security(()),
    responses(
        (status = 303, description = "To the identity provider (or back to the UI with an error when single sign-on is off)"),
    )
)]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let peer = client(&state, peer, &headers);
    match start(&state).await {
        Ok((location, cookie)) => {
            let mut headers = HeaderMap::new();
            headers.insert(header::SET_COOKIE, cookie);
            redirect(&location, headers)
        }
        Err(e) => fail(&state, peer, e, HeaderMap::new()).await,
    }
}

/// The client's address (what a trusted proxy says it is), kept with the peer's port.
fn client(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
    SocketAddr::new(state.proxies.client_ip(peer.ip(), headers), peer.port())
}

/// The provider's authorization URL and the sealed state cookie for this attempt.
async fn start(state: &AppState) -> Result<(String, HeaderValue), OidcError> {
    let provider = provider::configured(&state.config)?.ok_or(OidcError::NotConfigured)?;
    let d = provider.discovery().await?;
    let s = &provider.settings;
    let pending = Pending::new();
    let mut url = reqwest::Url::parse(&d.authorization_endpoint)
        .map_err(|_| OidcError::Unavailable("bad authorization_endpoint".into()))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &s.client_id)
        .append_pair("redirect_uri", &s.redirect_url)
        .append_pair("scope", &s.scopes.join(" "))
        .append_pair("state", &pending.state)
        .append_pair("nonce", &pending.nonce)
        .append_pair("code_challenge", &pending.challenge())
        .append_pair("code_challenge_method", "S256");
    let cookie = state_cookie(state, &pending.seal(&state.vault)?, pending::MAX_AGE_SECS);
    Ok((url.into(), cookie))
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/auth/oidc/callback",
    tag = "auth",
    operation_id = "oidc_callback",
    params(
        ("code" = Option<String>, Query, description = "From the identity provider"),
        ("state" = Option<String>, Query, description = "From the identity provider"),
        ("error" = Option<String>, Query, description = "From the identity provider"),
    ),
    security(()),
    responses(
        (status = 303, description = "Back to the UI: signed in (a session cookie is set), or with an error"),
    )
)]
async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let peer = client(&state, peer, &headers);
    // The state cookie is single use: every answer clears it.
    let mut out = HeaderMap::new();
    out.append(header::SET_COOKIE, state_cookie(&state, "", 0));
    let cookie = read_cookie(&headers, pending::COOKIE);
    match finish(&state, peer, cookie.as_deref(), query).await {
        Ok(session_headers) => {
            for (name, value) in &session_headers {
                out.append(name, value.clone());
            }
            redirect(&state.config.root_url(), out)
        }
        Err(e) => fail(&state, peer, e, out).await,
    }
}

async fn finish(
    state: &AppState,
    peer: SocketAddr,
    cookie: Option<&str>,
    query: CallbackQuery,
) -> Result<HeaderMap, OidcError> {
    let provider = provider::configured(&state.config)?.ok_or(OidcError::NotConfigured)?;
    if let Some(error) = query.error {
        return Err(match error.as_str() {
            "access_denied" => OidcError::Denied(short(&error)),
            _ => OidcError::ProviderError(short(&error)),
        });
    }
    let (Some(code), Some(returned_state)) = (query.code, query.state) else {
        return Err(OidcError::BadState("no code or state"));
    };
    let pending = Pending::open(&state.vault, cookie, &returned_state)?;
    let d = provider.discovery().await?;
    let tokens = provider.exchange(&d, &code, &pending.verifier).await?;
    let token = id_token::parse(&tokens.id_token)?;
    let mut check = token.check_signature(&provider.keys(&d, false).await?)?;
    if matches!(check, KeyCheck::NoKey) {
        // A key we have not seen: the provider may have rotated its keys.
        check = token.check_signature(&provider.keys(&d, true).await?)?;
    }
    if !matches!(check, KeyCheck::Valid) {
        return Err(OidcError::InvalidToken("bad signature".into()));
    }
    let s = &provider.settings;
    let now = Utc::now().timestamp();
    let (subject, mut claims) = token.check_claims(&s.issuer, &s.client_id, &pending.nonce, now)?;
    if !claims.contains_key(&s.groups_claim) || !claims.contains_key(&s.username_claim) {
        if let Some(access_token) = &tokens.access_token {
            merge_userinfo(&provider, &d, access_token, &subject, &mut claims).await?;
        }
    }
    let account = account(&provider, subject, &claims);
    let client_ip = Some(peer.ip().to_string());
    let user = external::sign_in(&state.db, &account, client_ip.clone())
        .await
        .map_err(|e| match e {
            ApiError::InvalidCredentials => OidcError::AccountDisabled,
            other => OidcError::Internal(other.to_string()),
        })?;
    let (session_headers, _) = start_session(state, &user, client_ip, "oidc")
        .await
        .map_err(|e| OidcError::Internal(e.to_string()))?;
    Ok(session_headers)
}

/// Adds the username and groups claims from userinfo when the ID token lacks them. Userinfo must
/// be about the same subject (OIDC Core §5.3.2).
async fn merge_userinfo(
    provider: &Provider,
    d: &provider::Discovery,
    access_token: &str,
    subject: &str,
    claims: &mut Map<String, Value>,
) -> Result<(), OidcError> {
    let Some(info) = provider.userinfo(d, access_token).await? else {
        return Ok(());
    };
    if info.get("sub").and_then(Value::as_str) != Some(subject) {
        return Err(OidcError::InvalidToken(
            "userinfo is about another subject".into(),
        ));
    }
    let s = &provider.settings;
    for name in [&s.groups_claim, &s.username_claim, &"email".to_owned()] {
        if !claims.contains_key(name.as_str()) {
            if let Some(v) = info.get(name.as_str()) {
                claims.insert(name.clone(), v.clone());
            }
        }
    }
    Ok(())
}

/// The claims as an external account: name from the username claim (then `email`, then `sub`),
/// role and server groups from the groups claim.
fn account(provider: &Provider, subject: String, claims: &Map<String, Value>) -> ExternalAccount {
    let s = &provider.settings;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let username = text(&s.username_claim)
        .or_else(|| text("email"))
        .unwrap_or_else(|| subject.clone());
    let provider_groups: Vec<String> = match claims.get(&s.groups_claim) {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    ExternalAccount {
        provider: "oidc",
        issuer: s.issuer.clone(),
        subject,
        username,
        role: s.role_for(&provider_groups),
        groups: s.server_groups(&provider_groups),
    }
}

#[utoipa::path(
    get,
    path = "/api/admin/oidc",
    tag = "directory",
    operation_id = "oidc_status",
    responses(
        (status = 200, description = "Single sign-on settings (no secret)", body = wire::oidc::OidcStatus),
    )
)]
async fn status(State(state): State<AppState>, _admin: AdminUser) -> Json<OidcStatus> {
    let config = &state.config;
    let (settings, error) = match OidcSettings::from_config(config) {
        Ok(settings) => (settings, None),
        Err(e) => (None, Some(e)),
    };
    Json(match settings {
        Some(s) => OidcStatus {
            configured: true,
            issuer: Some(s.issuer),
            client_id: Some(s.client_id),
            redirect_url: Some(s.redirect_url),
            scopes: s.scopes,
            groups_claim: s.groups_claim,
            button_label: s.button_label,
            error,
        },
        // Off or refused: show what is set so the admin can see what is missing.
        None => OidcStatus {
            configured: false,
            issuer: config.oidc_issuer.clone(),
            client_id: config.oidc_client_id.clone(),
            redirect_url: config.oidc_redirect_url.clone(),
            scopes: config.oidc_scopes.clone(),
            groups_claim: config.oidc_groups_claim.clone(),
            button_label: config.oidc_button_label.clone(),
            error,
        },
    })
}

/// Fetches discovery and the signing keys now (refreshing the cache), timing each step.
#[utoipa::path(
    post,
    path = "/api/admin/oidc/test",
    tag = "directory",
    operation_id = "oidc_test",
    responses(
        (status = 200, description = "Discovery and key checks against the provider", body = wire::oidc::OidcTestResult),
    )
)]
async fn test(State(state): State<AppState>, admin: AdminUser) -> Json<OidcTestResult> {
    let actor = Actor::from(&*admin);
    audit::record(&state.db, &actor, Event::new("oidc.test")).await;
    let mut steps = Vec::new();
    let mut step = |name: &str, started: Instant, outcome: Result<String, String>| {
        let ok = outcome.is_ok();
        steps.push(LdapTestStep {
            name: name.to_owned(),
            ok,
            millis: started.elapsed().as_millis() as u64,
            detail: Some(outcome.unwrap_or_else(|e| e)),
        });
        ok
    };
    let started = Instant::now();
    let provider = match OidcSettings::from_config(&state.config) {
        Ok(None) => Err(
            "oidc_issuer, oidc_client_id and oidc_redirect_url are not set: \
                         single sign-on is off"
                .to_owned(),
        ),
        Err(e) => Err(e),
        Ok(Some(_)) => provider::configured(&state.config)
            .ok()
            .flatten()
            .ok_or_else(|| "the OIDC HTTP client could not be built".to_owned()),
    };
    let provider = match provider {
        Ok(p) => {
            step(
                "settings",
                started,
                Ok(format!("issuer {}", p.settings.issuer)),
            );
            p
        }
        Err(e) => {
            step("settings", started, Err(e));
            return Json(OidcTestResult { ok: false, steps });
        }
    };
    let started = Instant::now();
    let discovery = provider.fetch_discovery().await;
    let detail = match &discovery {
        Ok(d) => Ok(format!("authorization at {}", d.authorization_endpoint)),
        Err(e) => Err(e.to_string()),
    };
    let ok = step("discovery", started, detail);
    if let (true, Ok(d)) = (ok, discovery) {
        let started = Instant::now();
        let detail = match provider.keys(&d, true).await {
            Ok(keys) if keys.is_empty() => Err("the key set is empty".to_owned()),
            Ok(keys) => Ok(format!("{} signing key(s)", keys.len())),
            Err(e) => Err(e.to_string()),
        };
        step("jwks", started, detail);
    }
    let ok = steps.iter().all(|s| s.ok);
    Json(OidcTestResult { ok, steps })
}

/// Audits the failure and sends the browser to the login page with the reason's code.
async fn fail(
    state: &AppState,
    peer: SocketAddr,
    error: OidcError,
    headers: HeaderMap,
) -> Response {
    tracing::warn!(code = error.code(), reason = %error, "OIDC sign-in failed");
    let actor = Actor {
        user_id: None,
        username: None,
        client_ip: Some(peer.ip().to_string()),
    };
    let details = json!({"code": error.code(), "reason": error.to_string()});
    audit::record(
        &state.db,
        &actor,
        Event::new("auth.oidc_failed")
            .outcome(Outcome::Failure)
            .details(details),
    )
    .await;
    let root = state.config.root_url();
    redirect(&format!("{root}#/login-error/{}", error.code()), headers)
}

fn redirect(location: &str, mut headers: HeaderMap) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            headers.insert(header::LOCATION, v);
        }
        Err(_) => {
            headers.insert(header::LOCATION, HeaderValue::from_static("/"));
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (StatusCode::SEE_OTHER, headers).into_response()
}

/// The sealed state cookie. SameSite=Lax: the callback is a cross-site top-level navigation,
/// which a Strict cookie would not survive.
fn state_cookie(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.cookie_secure.unwrap_or(false) {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{}={value}; HttpOnly; SameSite=Lax; Path={}{}; Max-Age={max_age_secs}{secure}",
        pending::COOKIE,
        state.config.root_path,
        pending::COOKIE_PATH
    );
    // Sealed values are base64 and `:`, so the header value is always valid.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
