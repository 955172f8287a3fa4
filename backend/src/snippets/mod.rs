//! Command snippets: named command templates a person runs into a terminal tab from the command
//! palette, with `{param}` placeholders the browser prompts for (the grammar is
//! `wire::snippets`, shared with the UI) and an optional confirmation.
//!
//! Who sees and changes what, decided here and nowhere else:
//! - a snippet is personal (its owner's only) or shared (every signed-in user reads it);
//! - users and admins create personal snippets and change only their own;
//! - only admins share a snippet, and only admins change or delete a shared one (any admin: a
//!   shared snippet belongs to the team, not to whoever wrote it);
//! - someone else's personal snippet does not exist for the caller (404, admins included: a
//!   personal snippet may hold a person's private habits, and no admin task needs them);
//! - auditors open no server, so they have nothing to run snippets in: they may read the shared
//!   ones (harmless, and what the audit log refers to) but never write (403).
//!
//! API keys follow the gateway-wide mapping (`auth::api_keys::required_scope`): reading needs
//! `read`, any change `admin` — so only an admin's key with that scope writes snippets.

pub mod handlers;
pub mod store;

use axum::extract::FromRequestParts;
use axum::http::{request::Parts, StatusCode};
use wire::snippets::{
    SnippetRequest, Template, MAX_COMMAND_BYTES, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS,
};
use wire::users::Role;

use crate::auth::{Authenticated, CurrentUser};
use crate::db::snippet;
use crate::error::ApiError;
use crate::state::AppState;

/// Whether `caller` may see `row` at all.
pub fn visible(caller: &Authenticated, row: &snippet::Model) -> bool {
    row.shared || row.owner_id == caller.user.id
}

/// Whether `caller` may change or delete `row` (which they can see).
pub fn editable(caller: &Authenticated, row: &snippet::Model) -> bool {
    match caller.role() {
        Role::Auditor => false,
        Role::Admin => true,
        Role::User => !row.shared && row.owner_id == caller.user.id,
    }
}

/// A signed-in caller who may write snippets at all (not an auditor). Taken by every writing
/// route, so an auditor is refused before the body is even read.
#[derive(Debug, Clone)]
pub struct Writer(pub CurrentUser);

impl std::ops::Deref for Writer {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        match user.role() {
            Role::Auditor => Err(ApiError::coded(
                StatusCode::FORBIDDEN,
                "forbidden",
                "auditors cannot create or change snippets",
            )),
            Role::Admin | Role::User => Ok(Writer(user)),
        }
    }
}

/// Refuses `shared: true` from anyone but an admin.
pub fn may_share(caller: &Authenticated, req: &SnippetRequest) -> Result<(), ApiError> {
    if req.shared && caller.role() != Role::Admin {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only admins can share snippets",
        ));
    }
    Ok(())
}

/// A request whose fields were checked: the name trimmed, the command a valid template.
#[derive(Debug, Clone)]
pub struct Valid {
    pub name: String,
    pub command: String,
    pub description: String,
    pub shared: bool,
    pub confirm: bool,
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Checks a create or update body; every refusal is a 400 naming the field.
pub fn validate(req: SnippetRequest) -> Result<Valid, ApiError> {
    let name = req.name.trim().to_owned();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(ApiError::Validation(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if has_control(&name) {
        return Err(ApiError::Validation(
            "name must not contain control characters".into(),
        ));
    }
    // The command is kept byte for byte (leading spaces keep it out of shell history, say),
    // but one that is only whitespace would send nothing useful.
    if req.command.trim().is_empty() || req.command.len() > MAX_COMMAND_BYTES {
        return Err(ApiError::Validation(format!(
            "command must be 1 to {MAX_COMMAND_BYTES} bytes and not only whitespace"
        )));
    }
    if req.command.contains('\0') {
        return Err(ApiError::Validation(
            "command must not contain NUL bytes".into(),
        ));
    }
    Template::parse(&req.command).map_err(|e| {
        ApiError::coded(
            StatusCode::BAD_REQUEST,
            "invalid_placeholder",
            format!("command: {e}"),
        )
    })?;
    let description = req.description.trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::Validation(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    if description.contains('\0') {
        return Err(ApiError::Validation(
            "description must not contain NUL bytes".into(),
        ));
    }
    Ok(Valid {
        name,
        command: req.command,
        description,
        shared: req.shared,
        confirm: req.confirm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str, command: &str) -> SnippetRequest {
        SnippetRequest {
            name: name.into(),
            command: command.into(),
            description: String::new(),
            shared: false,
            confirm: false,
        }
    }

    fn code(r: Result<Valid, ApiError>) -> &'static str {
        r.err().map(|e| e.code()).unwrap_or("ok")
    }

    #[test]
    fn good_requests_pass_with_the_name_trimmed_and_the_command_kept() {
        let v = validate(req("  Tail log ", " tail -f {file}\n")).expect("valid");
        assert_eq!(v.name, "Tail log");
        assert_eq!(v.command, " tail -f {file}\n");
    }

    #[test]
    fn bad_fields_are_refused_with_their_codes() {
        assert_eq!(code(validate(req(" ", "ls"))), "validation_failed");
        assert_eq!(
            code(validate(req(&"n".repeat(101), "ls"))),
            "validation_failed"
        );
        assert_eq!(code(validate(req(&"é".repeat(100), "ls"))), "ok");
        assert_eq!(code(validate(req("a\tb", "ls"))), "validation_failed");
        assert_eq!(code(validate(req("n", "  \n"))), "validation_failed");
        assert_eq!(
            code(validate(req("n", &"x".repeat(10_001)))),
            "validation_failed"
        );
        assert_eq!(code(validate(req("n", &"x".repeat(10_000)))), "ok");
        assert_eq!(code(validate(req("n", "ls\0"))), "validation_failed");
        assert_eq!(code(validate(req("n", "echo {a"))), "invalid_placeholder");
        assert_eq!(code(validate(req("n", "echo {1}"))), "invalid_placeholder");
        assert_eq!(code(validate(req("n", "awk '{{print}}'"))), "ok");
    }
}
