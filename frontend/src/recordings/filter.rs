//! The filter row: server, user, from / to dates; Apply shows the first page that matches.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use super::format::day_bound;
use super::Recordings;
use crate::api::RecordingFilter;

#[component]
pub(super) fn FilterBar(state: Recordings) -> impl IntoView {
    // What the inputs hold; the list changes only on Apply (or Clear).
    let server = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());

    let apply = move |ev: SubmitEvent| {
        ev.prevent_default();
        state.show(RecordingFilter {
            server_id: server.get_untracked().parse().ok(),
            user: user.get_untracked().trim().to_owned(),
            since: day_bound(&from.get_untracked(), false),
            until: day_bound(&to.get_untracked(), true),
            limit: state.filter.with_untracked(|f| f.limit),
            offset: 0,
        });
    };
    let clear = move |_| {
        for field in [server, user, from, to] {
            field.set(String::new());
        }
        state.show(RecordingFilter {
            limit: state.filter.with_untracked(|f| f.limit),
            ..Default::default()
        });
    };

    view! {
        <form class="card filter-row" data-testid="recordings-filter" on:submit=apply autocomplete="off">
            <label>
                <span class="field-label">"Server"</span>
                <select data-testid="recordings-filter-server"
                    prop:value=move || server.get()
                    on:change=move |ev| server.set(event_target_value(&ev))>
                    <option value="">"All servers"</option>
                    // Keyed, so options already there (and the selection) survive a reload.
                    <For each=move || state.servers.get() key=|entry| entry.clone() let:entry>
                        <option value=entry.0.to_string() selected=move || server.get() == entry.0.to_string()>
                            {entry.1}
                        </option>
                    </For>
                </select>
            </label>
            <label>
                <span class="field-label">"User"</span>
                <input type="search" placeholder="Username" data-testid="recordings-filter-user"
                    prop:value=move || user.get()
                    on:input=move |ev| user.set(event_target_value(&ev))/>
            </label>
            <DayField label="From" test_id="recordings-filter-from" value=from/>
            <DayField label="To" test_id="recordings-filter-to" value=to/>
            <div class="filter-actions">
                <button type="submit" class="button primary small" data-testid="recordings-apply">"Apply"</button>
                <button type="button" class="button small" data-testid="recordings-clear" on:click=clear>"Clear"</button>
            </div>
        </form>
    }
}

/// A labelled date input (`YYYY-MM-DD`, empty when unset).
#[component]
fn DayField(label: &'static str, test_id: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label>
            <span class="field-label">{label}</span>
            <input type="date" data-testid=test_id
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))/>
        </label>
    }
}
