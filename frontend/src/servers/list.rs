//! The sidebar: servers grouped by group, a filter box, and (for admins) add / edit buttons.

use std::collections::HashMap;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::monitor::{ServerState, ServerStatus};
use wire::servers::ServerView;

use super::import::ImportSshConfigDialog;
use super::known_hosts::ImportKnownHosts;
use super::{use_servers, FormMode};
use crate::api;
use crate::app::use_session;
use crate::files::icons::folder_icon;
use crate::files::use_files;
use crate::shell::{use_view, View};
use crate::terminal::use_tabs;

/// One line of the sidebar: a group heading or a server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Row {
    Group(String),
    Server(Box<ServerView>),
}

impl Row {
    fn key(&self) -> String {
        match self {
            Row::Group(name) => format!("g:{name}"),
            // `updated_at` in the key re-renders a server after an edit.
            Row::Server(s) => format!("s:{}:{}", s.id, s.updated_at),
        }
    }
}

fn matches(server: &ServerView, filter: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    let filter = filter.to_lowercase();
    [
        &server.name,
        &server.hostname,
        &server.username,
        &server.description,
    ]
    .into_iter()
    .chain(server.group.as_ref())
    .chain(server.tags.iter())
    .any(|field| field.to_lowercase().contains(&filter))
}

/// How often the list asks for the monitor's view of the servers.
const STATUS_POLL: Duration = Duration::from_secs(15);

/// The monitor's status per server id, refreshed every [`STATUS_POLL`] and whenever the server
/// list changes, for as long as the calling component is mounted.
fn poll_statuses() -> RwSignal<HashMap<i32, ServerStatus>> {
    let store = use_servers();
    let statuses = RwSignal::new(HashMap::new());
    let load = move || {
        spawn_local(async move {
            // A failed poll keeps the last known badges; the next one tries again.
            if let Ok(list) = api::server_statuses().await {
                let _ = statuses.try_set(list.into_iter().map(|s| (s.server_id, s)).collect());
            }
        })
    };
    Effect::new(move |_| {
        store.list.track();
        load();
    });
    let timer = set_interval_with_handle(load, STATUS_POLL).ok();
    on_cleanup(move || {
        if let Some(timer) = timer {
            timer.clear();
        }
    });
    statuses
}

#[component]
pub fn ServerList() -> impl IntoView {
    let session = use_session();
    let store = use_servers();
    let filter = RwSignal::new(String::new());
    let import_open = RwSignal::new(false);
    let statuses = poll_statuses();
    let is_admin = move || session.is_admin();

    let rows = Memo::new(move |_| {
        let filter = filter.get();
        let mut servers: Vec<ServerView> = store
            .list
            .get()
            .into_iter()
            .filter(|s| matches(s, filter.trim()))
            .collect();
        // Named groups first, alphabetically; ungrouped servers last.
        servers.sort_by_cached_key(|s| (s.group.is_none(), s.group.clone(), s.name.to_lowercase()));
        let grouped = servers.iter().any(|s| s.group.is_some());
        let mut rows = Vec::new();
        let mut current: Option<Option<String>> = None;
        for server in servers {
            if grouped && current.as_ref() != Some(&server.group) {
                current = Some(server.group.clone());
                rows.push(Row::Group(
                    server
                        .group
                        .clone()
                        .unwrap_or_else(|| "Ungrouped".to_owned()),
                ));
            }
            rows.push(Row::Server(Box::new(server)));
        }
        rows
    });

    view! {
        <div class="sidebar-head">
            <h2>"Servers"</h2>
            <Show when=is_admin>
                <div class="row">
                    <ImportKnownHosts/>
                    <button
                        class="button small"
                        id="import-ssh-config"
                        data-testid="import-ssh-config"
                        title="Import SSH config"
                        on:click=move |_| import_open.set(true)
                    >
                        "Import"
                    </button>
                    <button
                        class="button small"
                        data-testid="add-server"
                        title="Register a server"
                        on:click=move |_| store.form.set(Some(FormMode::New))
                    >
                        "+ Add"
                    </button>
                </div>
            </Show>
        </div>
        <ImportSshConfigDialog open=import_open/>
        <input
            class="filter"
            type="search"
            placeholder="Filter by name, host, tag…"
            aria-label="Filter servers"
            data-testid="server-filter"
            prop:value=move || filter.get()
            on:input=move |ev| filter.set(event_target_value(&ev))
        />
        <Show when=move || store.loading.get()>
            <p class="muted small pad">"Loading…"</p>
        </Show>
        <Show when=move || !store.loading.get() && rows.with(|r| r.is_empty())>
            <p class="muted small pad" data-testid="no-servers">
                {move || {
                    if !filter.get().is_empty() {
                        "No server matches the filter."
                    } else if is_admin() {
                        "No servers yet. Add one with “+ Add”."
                    } else {
                        "No servers are shared with you yet."
                    }
                }}
            </p>
        </Show>
        <ul class="server-list">
            <For each=move || rows.get() key=Row::key let:row>
                {match row {
                    Row::Group(name) => view! { <li class="server-group">{name}</li> }.into_any(),
                    Row::Server(server) => {
                        view! { <ServerItem server=*server statuses/> }.into_any()
                    }
                }}
            </For>
        </ul>
    }
}

/// The badge's `data-status`, text and tooltip. A changed host key is the one failure named
/// in the badge itself: it needs an admin, not patience.
fn badge(status: Option<&ServerStatus>) -> (&'static str, &'static str, String) {
    let Some(status) = status else {
        return ("unknown", "", "Not checked yet".to_owned());
    };
    match status.state {
        ServerState::Unknown => ("unknown", "", "Not checked yet".to_owned()),
        ServerState::Online => {
            let latency = status
                .latency_ms
                .map(|ms| format!(" ({ms} ms)"))
                .unwrap_or_default();
            ("online", "", format!("Online{latency}"))
        }
        ServerState::Offline => {
            let error = status.error.clone().unwrap_or_default();
            if status.error_code.as_deref() == Some("host_key_mismatch") {
                ("offline", "key changed", error)
            } else {
                ("offline", "offline", format!("Offline: {error}"))
            }
        }
    }
}

#[component]
fn StatusBadge(server_id: i32, statuses: RwSignal<HashMap<i32, ServerStatus>>) -> impl IntoView {
    let badge = Memo::new(move |_| statuses.with(|all| badge(all.get(&server_id))));
    let code = move || {
        statuses.with(|all| {
            all.get(&server_id)
                .and_then(|s| s.error_code.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <span
            class="server-status"
            data-testid="server-status"
            data-status=move || badge.get().0
            data-error-code=code
            title=move || badge.get().2
            aria-label=move || badge.get().2
        >
            {move || badge.get().1}
        </span>
    }
}

#[component]
fn ServerItem(server: ServerView, statuses: RwSignal<HashMap<i32, ServerStatus>>) -> impl IntoView {
    let session = use_session();
    let store = use_servers();
    let tabs = use_tabs();
    let files = use_files();
    let view_sel = use_view();
    let port = if server.port == 22 {
        String::new()
    } else {
        format!(":{}", server.port)
    };
    let address = format!("{}@{}{}", server.username, server.hostname, port);
    let tags = server.tags.clone();
    let description = server.description.clone();
    let disabled = !server.ssh_enabled;
    let for_open = server.clone();
    let for_edit = server.clone();
    let for_files = server.clone();
    let sftp = server.sftp_enabled;

    view! {
        <li class="server-item" data-testid="server-item" data-server-id=server.id>
            <button
                class="server-open"
                data-testid="open-terminal"
                title=if disabled { "SSH is disabled for this server" } else { "Open a terminal" }
                disabled=disabled
                on:click=move |_| {
                    tabs.open(&for_open);
                    view_sel.set(View::Terminals);
                }
            >
                <span class="server-title">
                    <span class="server-name">{server.name.clone()}</span>
                    <StatusBadge server_id=server.id statuses/>
                </span>
                <span class="server-meta">{address}</span>
                <Show when={
                    let show = !description.is_empty();
                    move || show
                }>
                    <span class="server-description">{description.clone()}</span>
                </Show>
                <span class="tags">
                    {tags.into_iter().map(|t| view! { <span class="tag">{t}</span> }).collect_view()}
                </span>
            </button>
            <Show when=move || sftp>
                <button
                    class="icon-button server-files"
                    data-testid="open-files"
                    title="Browse files"
                    aria-label="Browse files"
                    on:click={
                        let server = for_files.clone();
                        move |_| {
                            files.open_server(&server);
                            view_sel.set(View::Files);
                        }
                    }
                >
                    {folder_icon()}
                </button>
            </Show>
            <Show when=move || session.is_admin()>
                <button
                    class="icon-button server-edit"
                    data-testid="edit-server"
                    title="Edit server"
                    aria-label="Edit server"
                    on:click={
                        let server = for_edit.clone();
                        move |_| store.form.set(Some(FormMode::Edit(Box::new(server.clone()))))
                    }
                >
                    "✎"
                </button>
            </Show>
        </li>
    }
}
