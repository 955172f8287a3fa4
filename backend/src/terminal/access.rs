//! Live sessions re-checked after an admin changes an account or a server: access is checked
//! when a socket opens, and again here whenever what it was checked against changes, so a user
//! taken out of a group, disabled or deleted, or a server moved to another group or closed to
//! terminals, loses its live terminals and joins at once rather than when they next reconnect.
//!
//! An owner who may no longer use the server has the session closed (`access_revoked` in the
//! terminal); a joiner by link who may not is removed, as is a watcher no longer admin or auditor.

use std::collections::HashMap;

use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wire::terminal::codes;
use wire::users::Role;

use super::viewer::{CloseReason, Command};
use crate::audit::{self, Actor, Event};
use crate::db::{server, user};
use crate::servers::access::account_can_see;
use crate::state::AppState;

/// A re-check asked of every replica (`gatehouse:all`), so sessions other replicas run are
/// swept too.
#[derive(Serialize, Deserialize)]
struct SweepRequest {
    kind: String,
    /// The replica that asked (it has swept its own already).
    from: String,
    user_id: Option<i32>,
    username: Option<String>,
    client_ip: Option<String>,
}

/// Ends every live session and join the accounts and servers no longer allow, on every replica.
pub async fn sweep(state: &AppState, actor: &Actor) {
    sweep_here(state, actor).await;
    if let Some(cluster) = &state.cluster {
        let request = SweepRequest {
            kind: "sweep".into(),
            from: cluster.replica().to_owned(),
            user_id: actor.user_id,
            username: actor.username.clone(),
            client_ip: actor.client_ip.clone(),
        };
        if let Err(e) = cluster.broadcast(&request).await {
            tracing::warn!(error = %e, "other replicas' terminals are re-checked only at their next join or reattach");
        }
    }
}

/// Another replica's change: re-check the sessions that run here.
pub async fn on_broadcast(state: &AppState, body: serde_json::Value) {
    let Ok(request) = serde_json::from_value::<SweepRequest>(body) else {
        return;
    };
    let me = state.cluster.as_ref().map(|c| c.replica());
    if request.kind != "sweep" || Some(request.from.as_str()) == me {
        return;
    }
    let actor = Actor {
        user_id: request.user_id,
        username: request.username,
        client_ip: request.client_ip,
    };
    sweep_here(state, &actor).await;
}

async fn sweep_here(state: &AppState, actor: &Actor) {
    let sessions = state.terminals.all();
    if sessions.is_empty() {
        return;
    }
    let (servers, users) = match (
        server::Entity::find().all(&state.db).await,
        user::Entity::find().all(&state.db).await,
    ) {
        (Ok(s), Ok(u)) => (
            s.into_iter().map(|s| (s.id, s)).collect::<HashMap<_, _>>(),
            u.into_iter().map(|u| (u.id, u)).collect::<HashMap<_, _>>(),
        ),
        (Err(e), _) | (_, Err(e)) => {
            return tracing::error!(error = %e, "cannot re-check live sessions after a change");
        }
    };
    let may_use =
        |user_id: i32, server_id: i32| match (users.get(&user_id), servers.get(&server_id)) {
            (Some(u), Some(s)) => s.ssh_enabled && account_can_see(u, s),
            _ => false,
        };
    let may_watch = |user_id: i32| {
        users.get(&user_id).is_some_and(|u| {
            !u.disabled && matches!(Role::parse(&u.role), Some(Role::Admin | Role::Auditor))
        })
    };
    for (session_id, info, commands) in sessions {
        if !may_use(info.user_id, info.server_id) {
            let _ = commands
                .send(Command::Close(CloseReason::AccessRevoked))
                .await;
            audit::record(
                &state.db,
                actor,
                Event::new("terminal.access_revoked")
                    .target(&session_id)
                    .server(Some(info.server_id))
                    .details(json!({"session_id": session_id, "owner": info.owner})),
            )
            .await;
            continue;
        }
        for p in state.terminals.sharing().participants(&session_id) {
            let allowed = if p.via_share {
                may_use(p.user_id, info.server_id)
            } else {
                may_watch(p.user_id)
            };
            if !allowed {
                p.kick(codes::ACCESS_REVOKED);
                audit::record(
                    &state.db,
                    actor,
                    Event::new("terminal.access_revoked")
                        .target(&session_id)
                        .server(Some(info.server_id))
                        .details(json!({"session_id": session_id, "participant": p.username})),
                )
                .await;
            }
        }
    }
}
