//! The log as a table, newest first: time, user and address, action, outcome, server, target;
//! a row unfolds to its details. Terminal events whose session was recorded offer Replay.

use leptos::prelude::*;
use wire::audit::AuditEntry;
use wire::servers::ServerView;

use super::{Audit, ReplayRequest};
use crate::recordings::format::local_time;
use crate::shell::{use_view, View};

#[component]
pub(super) fn AuditTable(state: Audit, servers: RwSignal<Vec<ServerView>>) -> impl IntoView {
    let empty = move || !state.loading.get() && state.entries.with(Vec::is_empty);
    view! {
        <Show when=move || state.loading.get() && state.entries.with(Vec::is_empty)>
            <p class="muted">"Loading…"</p>
        </Show>
        <Show when=empty>
            <div class="empty-state" data-testid="audit-empty">
                {move || if state.filter.with(|f| f.is_filtered()) {
                    "No event matches the filter."
                } else {
                    "Nothing has been audited yet."
                }}
            </div>
        </Show>
        <table class="table audit-table" data-testid="audit-table" class:is-hidden=empty>
            <thead>
                <tr>
                    <th>"Time"</th>
                    <th>"User"</th>
                    <th>"Action"</th>
                    <th>"Outcome"</th>
                    <th>"Server"</th>
                    <th>"Target"</th>
                    <th class="actions-col"></th>
                </tr>
            </thead>
            <tbody>
                <For each=move || state.entries.get() key=|e| e.id let:entry>
                    <AuditRow entry state servers/>
                </For>
            </tbody>
        </table>
    }
}

/// The outcome badge's class and text.
fn outcome_badge(outcome: Option<&str>) -> (&'static str, &'static str) {
    match outcome {
        Some("success") => ("badge badge-ok", "success"),
        Some("failure") => ("badge badge-fail", "failure"),
        Some("denied") => ("badge badge-warn", "denied"),
        _ => ("badge badge-muted", "—"),
    }
}

/// The server's name: from the caller's servers, else as the event's details recorded it (a
/// deleted server, or an auditor, who sees no servers), else its id.
fn server_name(entry: &AuditEntry, servers: &[ServerView]) -> String {
    let Some(id) = entry.server_id else {
        return String::new();
    };
    servers
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.name.clone())
        .or_else(|| {
            ["server", "name"]
                .iter()
                .find_map(|k| entry.details.get(k).and_then(|v| v.as_str()))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| format!("#{id}"))
}

#[component]
fn AuditRow(entry: AuditEntry, state: Audit, servers: RwSignal<Vec<ServerView>>) -> impl IntoView {
    let id = entry.id;
    let (badge_class, badge_text) = outcome_badge(entry.outcome.as_deref());
    let server = {
        let entry = entry.clone();
        move || servers.with(|list| server_name(&entry, list))
    };
    let details = serde_json::to_string_pretty(&entry.details).unwrap_or_default();
    let open = move || state.open.get() == Some(id);
    let toggle = move |_| {
        state
            .open
            .update(|o| *o = if *o == Some(id) { None } else { Some(id) })
    };
    let replay = entry.recording_id.clone().map(|recording| {
        let request = use_context::<ReplayRequest>();
        let view_sel = use_view();
        view! {
            <button class="button small" data-testid="audit-replay"
                title="Replay this session's recording"
                on:click=move |ev| {
                    ev.stop_propagation();
                    if let Some(ReplayRequest(wanted)) = request {
                        wanted.set(Some(recording.clone()));
                    }
                    view_sel.set(View::Recordings);
                }>
                "▶ Replay"
            </button>
        }
    });
    view! {
        <tr class="audit-row" data-testid="audit-row" data-action=entry.action.clone()
            data-outcome=entry.outcome.clone().unwrap_or_default()
            class:is-open=open on:click=toggle title="Show the details">
            <td class="nowrap" title=entry.at.clone()>{local_time(&entry.at)}</td>
            <td>
                {entry.username.clone().unwrap_or_else(|| "gateway".into())}
                {entry.client_ip.clone().map(|ip| view! { <div class="muted small">{ip}</div> })}
            </td>
            <td><code>{entry.action.clone()}</code></td>
            <td><span class=badge_class data-testid="audit-outcome">{badge_text}</span></td>
            <td>{server}</td>
            <td class="audit-target" data-testid="audit-target">{entry.target.clone().unwrap_or_default()}</td>
            <td class="actions-col">{replay}</td>
        </tr>
        <Show when=open>
            <tr class="audit-details" data-testid="audit-details">
                <td colspan="7"><pre>{details.clone()}</pre></td>
            </tr>
        </Show>
    }
}
