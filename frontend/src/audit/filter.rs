//! The filter row: text search, user, action area, outcome, server and days; Apply shows the
//! first page that matches.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use wire::servers::ServerView;

use super::{Audit, AuditFilter};
use crate::recordings::format::day_bound;

/// Action areas to pick from (prefixes; any exact action can be typed into the search).
const AREAS: [(&str, &str); 9] = [
    ("auth.", "Sign-in and account"),
    ("terminal.", "Terminals"),
    ("files.", "Files"),
    ("server.", "Servers"),
    ("user.", "Users"),
    ("recording.", "Recordings"),
    ("webhook.", "Webhooks"),
    ("snippet.", "Snippets"),
    ("audit.", "Audit log"),
];

#[component]
pub(super) fn AuditFilterBar(state: Audit, servers: RwSignal<Vec<ServerView>>) -> impl IntoView {
    // What the inputs hold; the list changes only on Apply (or Clear).
    let q = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let outcome = RwSignal::new(String::new());
    let server = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());

    let apply = move |ev: SubmitEvent| {
        ev.prevent_default();
        state.show(AuditFilter {
            q: q.get_untracked().trim().to_owned(),
            user: user.get_untracked().trim().to_owned(),
            action: action.get_untracked(),
            outcome: outcome.get_untracked(),
            server_id: server.get_untracked().parse().ok(),
            since: day_bound(&from.get_untracked(), false),
            until: day_bound(&to.get_untracked(), true),
            limit: state.filter.with_untracked(|f| f.limit),
            offset: 0,
        });
    };
    let clear = move |_| {
        for field in [q, user, action, outcome, server, from, to] {
            field.set(String::new());
        }
        state.show(AuditFilter {
            limit: state.filter.with_untracked(|f| f.limit),
            ..Default::default()
        });
    };
    let text = |value: RwSignal<String>| move |ev| value.set(event_target_value(&ev));

    view! {
        <form class="card filter-row" data-testid="audit-filter" on:submit=apply autocomplete="off">
            <label>
                <span class="field-label">"Search"</span>
                <input type="search" placeholder="Path, session, IP, text…" data-testid="audit-filter-q"
                    prop:value=move || q.get() on:input=text(q)/>
            </label>
            <label>
                <span class="field-label">"User"</span>
                <input type="search" placeholder="Username" data-testid="audit-filter-user"
                    prop:value=move || user.get() on:input=text(user)/>
            </label>
            <label>
                <span class="field-label">"Area"</span>
                <select data-testid="audit-filter-action" prop:value=move || action.get()
                    on:change=text(action)>
                    <option value="">"Everything"</option>
                    {AREAS
                        .iter()
                        .map(|(prefix, label)| view! { <option value=*prefix>{*label}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                <span class="field-label">"Outcome"</span>
                <select data-testid="audit-filter-outcome" prop:value=move || outcome.get()
                    on:change=text(outcome)>
                    <option value="">"Any"</option>
                    <option value="success">"Success"</option>
                    <option value="failure">"Failure"</option>
                    <option value="denied">"Denied"</option>
                </select>
            </label>
            <label>
                <span class="field-label">"Server"</span>
                <select data-testid="audit-filter-server" prop:value=move || server.get()
                    on:change=text(server)>
                    <option value="">"All servers"</option>
                    <For each=move || servers.get() key=|s| (s.id, s.name.clone()) let:s>
                        <option value=s.id.to_string() selected=move || server.get() == s.id.to_string()>
                            {s.name}
                        </option>
                    </For>
                </select>
            </label>
            <label>
                <span class="field-label">"From"</span>
                <input type="date" data-testid="audit-filter-from"
                    prop:value=move || from.get() on:input=text(from)/>
            </label>
            <label>
                <span class="field-label">"To"</span>
                <input type="date" data-testid="audit-filter-to"
                    prop:value=move || to.get() on:input=text(to)/>
            </label>
            <div class="filter-actions">
                <button type="submit" class="button primary small" data-testid="audit-apply">"Apply"</button>
                <button type="button" class="button small" data-testid="audit-clear" on:click=clear>"Clear"</button>
            </div>
        </form>
    }
}
