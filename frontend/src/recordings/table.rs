//! The list of recordings: one row each, with Play, Download and (admins) Delete.

use leptos::prelude::*;
use wire::recordings::{RecordingState, RecordingView};

use super::{format, Recordings};
use crate::api;
use crate::app::use_session;
use crate::files::paths::human_size;

#[component]
pub(super) fn RecordingsTable(state: Recordings) -> impl IntoView {
    let empty = move || !state.loading.get() && state.list.with(Vec::is_empty);
    let filtered = move || {
        state.filter.with(|f| {
            f.server_id.is_some()
                || !f.user.is_empty()
                || !f.since.is_empty()
                || !f.until.is_empty()
        })
    };
    view! {
        <Show when=move || state.loading.get() && state.list.with(Vec::is_empty)>
            <p class="muted">"Loading…"</p>
        </Show>
        <Show when=move || state.refused.get()>
            <div class="empty-state recordings-empty" data-testid="recordings-refused">
                <p>"Session recordings are not shown to users on this gateway."</p>
                <p class="small">"Ask an administrator or an auditor."</p>
            </div>
        </Show>
        <Show when=move || empty() && !state.refused.get()>
            <div class="empty-state recordings-empty" data-testid="recordings-empty">
                <div class="empty-icon">"▶"</div>
                {move || if filtered() {
                    view! { <p>"No recording matches the filter."</p> }.into_any()
                } else {
                    view! {
                        <p>"No recordings yet."</p>
                        <p class="small">"Terminal sessions appear here once they are recorded."</p>
                    }
                        .into_any()
                }}
            </div>
        </Show>
        <table class="table recordings-table" data-testid="recordings-table"
            class:is-hidden=empty>
            <thead>
                <tr>
                    <th>"Server"</th>
                    <th>"User"</th>
                    <th>"Started"</th>
                    <th>"Duration"</th>
                    <th>"Size"</th>
                    <th>"State"</th>
                    <th title="People who joined by link or watched">"With"</th>
                    <th title="Keystrokes recorded">"Input"</th>
                    <th class="actions-col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                <For
                    each=move || state.list.get()
                    // Everything that changes while a session records re-renders its row.
                    key=|r| (r.id.clone(), r.state, r.duration_ms, r.size_bytes, r.truncated, r.participants.len())
                    let:rec
                >
                    <RecordingRow rec state/>
                </For>
            </tbody>
        </table>
    }
}

/// The state badge's class, text and tooltip.
fn state_badge(state: RecordingState) -> (&'static str, &'static str, &'static str) {
    match state {
        RecordingState::Recording => (
            "badge badge-live",
            "recording",
            "The session is still running",
        ),
        RecordingState::Complete => ("badge badge-ok", "complete", "The session ended"),
        RecordingState::Interrupted => (
            "badge badge-warn",
            "interrupted",
            "The gateway stopped before the session ended; what had been written is kept",
        ),
    }
}

#[component]
fn RecordingRow(rec: RecordingView, state: Recordings) -> impl IntoView {
    let session = use_session();
    let live = rec.state == RecordingState::Recording;
    let (badge_class, badge_text, badge_title) = state_badge(rec.state);
    let participants = rec
        .participants
        .iter()
        .map(|p| format!("{} ({})", p.username, p.mode))
        .collect::<Vec<_>>()
        .join(", ");
    let cast_url = api::recording_cast_url(&rec.id);
    let for_play = rec.clone();
    let for_delete = rec.clone();

    view! {
        <tr data-testid="recording-row" data-recording-id=rec.id.clone() data-state=rec.state.as_str()>
            <td class="rec-server">{rec.server_name.clone()}</td>
            <td>{rec.username.clone()}</td>
            <td class="nowrap" title=rec.started_at.clone()>{format::local_time(&rec.started_at)}</td>
            <td class="nowrap">{format::duration(rec.duration_ms)}</td>
            <td class="nowrap">{human_size(rec.size_bytes)}</td>
            <td class="nowrap">
                <span class=badge_class title=badge_title data-testid="recording-state">{badge_text}</span>
                {rec.truncated.then(|| view! {
                    <span class="badge badge-warn" data-testid="recording-truncated"
                        title="The size cap stopped the recording before the session ended">
                        "truncated"
                    </span>
                })}
            </td>
            <td>
                {if rec.participants.is_empty() {
                    view! { <span class="muted">"—"</span> }.into_any()
                } else {
                    view! {
                        <span class="badge" title=participants data-testid="recording-participants">
                            {rec.participants.len()}
                        </span>
                    }
                        .into_any()
                }}
            </td>
            <td>
                {rec.input_recorded.then(|| view! {
                    <span class="badge" title="Keystrokes were recorded too" data-testid="recording-input">"⌨"</span>
                })}
            </td>
            <td class="actions-col">
                <button class="button small primary" data-testid="recording-play"
                    disabled=live
                    title=if live { "Still recording: play it once the session ends" } else { "Replay in the browser" }
                    on:click=move |_| state.playing.set(Some(for_play.clone()))>
                    "▶ Play"
                </button>
                {if live {
                    view! {
                        <button class="button small" disabled=true data-testid="recording-download"
                            title="Still recording">"Download"</button>
                    }
                        .into_any()
                } else {
                    view! {
                        <a class="button small" href=cast_url download="" data-testid="recording-download"
                            title="Download the asciicast file">"Download"</a>
                    }
                        .into_any()
                }}
                <Show when=move || session.is_admin()>
                    <button class="button small danger-outline" data-testid="recording-delete"
                        disabled=live
                        title=if live { "Still recording" } else { "Delete the recording" }
                        on:click={
                            let rec = for_delete.clone();
                            move |_| state.deleting.set(Some(rec.clone()))
                        }>
                        "Delete"
                    </button>
                </Show>
            </td>
        </tr>
    }
}
