//! `/api/admin/ldap`: what the directory sign-in is set to (no secrets) and its last failure;
//! `/api/admin/ldap/test`: a dry run of every step with timings, which creates and changes
//! nothing. Admins only.

use std::time::Instant;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use wire::ldap::{
    LdapLastError, LdapStatus, LdapTestAccount, LdapTestRequest, LdapTestResult, LdapTestStep,
};

use super::directory::{self, Step, Trace};
use super::settings::Settings;
use super::{groups, last_error, record_error};
use crate::audit::{self, Actor, Event};
use crate::auth::AdminUser;
use crate::error::extract::Json;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/ldap", get(status))
        .route("/api/admin/ldap/test", post(test))
}

#[utoipa::path(
    get,
    path = "/api/admin/ldap",
    tag = "directory",
    operation_id = "ldap_status",
    responses(
        (status = 200, description = "Directory sign-in settings (no password)", body = wire::ldap::LdapStatus),
    )
)]
async fn status(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<axum::Json<LdapStatus>> {
    let config = &state.config;
    Ok(axum::Json(LdapStatus {
        configured: config
            .ldap_url
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty()),
        url: config.ldap_url.clone(),
        starttls: config.ldap_starttls,
        user_base: config.ldap_user_base.clone(),
        group_membership: config.ldap_group_membership.as_str().to_owned(),
        service_account: config
            .ldap_bind_dn
            .as_deref()
            .is_some_and(|d| !d.is_empty()),
        last_error: match Settings::from_config(config) {
            // Wrong settings show at once, before anyone tries to sign in.
            Err(e) => Some(LdapLastError {
                at: chrono::Utc::now().to_rfc3339(),
                code: e.code().to_owned(),
                message: e.to_string(),
            }),
            Ok(_) => last_error(&state).await?,
        },
    }))
}

#[utoipa::path(
    post,
    path = "/api/admin/ldap/test",
    tag = "directory",
    operation_id = "ldap_test",
    request_body = wire::ldap::LdapTestRequest,
    responses(
        (status = 200, description = "A dry run of a directory sign-in; nothing is created", body = wire::ldap::LdapTestResult),
    )
)]
async fn test(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(req): Json<LdapTestRequest>,
) -> ApiResult<axum::Json<LdapTestResult>> {
    let actor = Actor::from(&*admin);
    let username = req.username.as_deref().filter(|u| !u.is_empty());
    let details = json!({"username": username, "password_given": req.password.is_some()});
    audit::record(&state.db, &actor, Event::new("ldap.test").details(details)).await;

    let mut trace = Trace::default();
    let started = Instant::now();
    let settings = match Settings::from_config(&state.config) {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            let detail = "ldap_url is not set: LDAP sign-in is off".to_owned();
            return Ok(axum::Json(result(
                false,
                trace_with(trace, started, detail),
                None,
            )));
        }
        Err(e) => {
            record_error(&state, None, actor.client_ip.clone(), &e).await;
            return Ok(axum::Json(result(
                false,
                trace_with(trace, started, e.to_string()),
                None,
            )));
        }
    };

    let Some(username) = username else {
        let outcome = directory::connect(&settings, &mut trace).await;
        match outcome {
            Ok(mut ldap) => {
                let _ = tokio::time::timeout(settings.timeout, ldap.unbind()).await;
            }
            Err(e) => record_error(&state, None, actor.client_ip.clone(), &e).await,
        }
        let ok = trace.steps.iter().all(|s| s.ok);
        return Ok(axum::Json(result(ok, trace, None)));
    };
    let password = req.password.as_deref();
    let found = directory::authenticate(&settings, username, password, &mut trace).await;
    let found = match found {
        Ok(Ok(found)) => found,
        Ok(Err(rejected)) => {
            if trace.steps.iter().all(|s| s.ok) {
                // Refused before any directory traffic (name or password shape).
                trace.steps.push(Step {
                    name: "input",
                    ok: false,
                    millis: 0,
                    detail: Some(rejected.to_string()),
                });
            }
            return Ok(axum::Json(result(false, trace, None)));
        }
        Err(e) => {
            record_error(&state, None, actor.client_ip.clone(), &e).await;
            return Ok(axum::Json(result(false, trace, None)));
        }
    };
    let grant = groups::grant(&settings, &found.ldap_groups);
    trace.steps.push(Step {
        name: "mapping",
        ok: grant.allowed,
        millis: 0,
        detail: Some(format!(
            "role {}, server groups [{}]{}",
            grant.role.as_str(),
            grant.server_groups.join(", "),
            if grant.allowed {
                ""
            } else {
                "; refused: in none of ldap_allowed_groups"
            }
        )),
    });
    let account = LdapTestAccount {
        dn: found.dn,
        subject: found.subject,
        username: found.username,
        ldap_groups: found
            .ldap_groups
            .iter()
            .map(|g| g.cn.clone().unwrap_or_else(|| g.dn.clone()))
            .collect(),
        role: grant.role,
        server_groups: grant.server_groups,
        allowed: grant.allowed,
        password_checked: password.is_some(),
    };
    let ok = trace.steps.iter().all(|s| s.ok);
    Ok(axum::Json(result(ok, trace, Some(account))))
}

/// A trace whose only step is the failed `settings` check.
fn trace_with(mut trace: Trace, started: Instant, detail: String) -> Trace {
    trace.steps.push(Step {
        name: "settings",
        ok: false,
        millis: started.elapsed().as_millis() as u64,
        detail: Some(detail),
    });
    trace
}

fn result(ok: bool, trace: Trace, account: Option<LdapTestAccount>) -> LdapTestResult {
    LdapTestResult {
        ok,
        steps: trace
            .steps
            .into_iter()
            .map(|s| LdapTestStep {
                name: s.name.to_owned(),
                ok: s.ok,
                millis: s.millis,
                detail: s.detail,
            })
            .collect(),
        account,
    }
}
