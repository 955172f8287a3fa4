//! The add / edit server dialog (admins). Secrets are never shown or prefilled: on edit, a blank
//! password, key or passphrase keeps the stored one (`ServerRequest` leaves them out).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::servers::{AuthMethod, ServerRequest, ServerView};

use super::host_key::HostKeyPanel;
use super::{use_servers, FormMode};
use crate::api;
use crate::app::{close_on_escape, use_session};

/// Renders the dialog while `ServerStore::form` is set.
#[component]
pub fn ServerFormDialog() -> impl IntoView {
    let store = use_servers();
    move || {
        store.form.get().map(|mode| {
            let existing = match mode {
                FormMode::New => None,
                FormMode::Edit(server) => Some(*server),
            };
            view! { <ServerForm existing/> }
        })
    }
}

fn non_empty(s: String) -> Option<String> {
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

#[component]
fn ServerForm(existing: Option<ServerView>) -> impl IntoView {
    let session = use_session();
    let store = use_servers();
    let editing = existing.clone();
    let is_edit = existing.is_some();
    let ex = existing.as_ref();

    let name = RwSignal::new(ex.map(|s| s.name.clone()).unwrap_or_default());
    let hostname = RwSignal::new(ex.map(|s| s.hostname.clone()).unwrap_or_default());
    let port = RwSignal::new(ex.map(|s| s.port).unwrap_or(22).to_string());
    let username = RwSignal::new(ex.map(|s| s.username.clone()).unwrap_or_default());
    let auth_method = RwSignal::new(ex.map(|s| s.auth_method).unwrap_or_default());
    let password = RwSignal::new(String::new());
    let private_key = RwSignal::new(String::new());
    let passphrase = RwSignal::new(String::new());
    let group = RwSignal::new(ex.and_then(|s| s.group.clone()).unwrap_or_default());
    let tags = RwSignal::new(ex.map(|s| s.tags.join(", ")).unwrap_or_default());
    let description = RwSignal::new(ex.map(|s| s.description.clone()).unwrap_or_default());
    let ssh_enabled = RwSignal::new(ex.map(|s| s.ssh_enabled).unwrap_or(true));
    let jump_via = RwSignal::new(ex.and_then(|s| s.jump_via_id));
    // `None`: the gateway's default decides.
    let recording = RwSignal::new(ex.and_then(|s| s.record_sessions));
    // The last "Test connection" answer: one line per hop.
    let test_report = RwSignal::new(None::<Vec<String>>);
    let testing = RwSignal::new(false);
    let own_id = ex.map(|s| s.id);
    let has_password = ex.is_some_and(|s| s.has_password);
    let has_key = ex.is_some_and(|s| s.has_private_key);
    // Bumped after a connection test, which may have pinned a key or held one for approval.
    let key_version = RwSignal::new(0u32);
    let busy = RwSignal::new(false);
    let confirm_delete = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let close = move || store.form.set(None);
    close_on_escape(close);

    let submit = {
        let editing = editing.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            if busy.get_untracked() {
                return;
            }
            let Ok(port_number) = port.get_untracked().trim().parse::<u16>() else {
                error.set(Some(
                    "The port must be a number from 1 to 65535.".to_owned(),
                ));
                return;
            };
            let method = auth_method.get_untracked();
            let body = ServerRequest {
                name: name.get_untracked().trim().to_owned(),
                hostname: hostname.get_untracked().trim().to_owned(),
                port: port_number,
                username: username.get_untracked().trim().to_owned(),
                auth_method: method,
                // Passwords are taken as typed (spaces may be part of them).
                password: Some(password.get_untracked())
                    .filter(|p| method == AuthMethod::Password && !p.is_empty()),
                private_key: non_empty(private_key.get_untracked())
                    .filter(|_| method == AuthMethod::Key),
                passphrase: Some(passphrase.get_untracked())
                    .filter(|p| method == AuthMethod::Key && !p.is_empty()),
                group: non_empty(group.get_untracked()),
                tags: tags
                    .get_untracked()
                    .split(',')
                    .filter_map(|t| non_empty(t.to_owned()))
                    .collect(),
                description: description.get_untracked().trim().to_owned(),
                ssh_enabled: Some(ssh_enabled.get_untracked()),
                // Settings this form does not edit are sent back as they are, so saving never
                // resets them.
                jump_via_id: jump_via.get_untracked(),
                sftp_enabled: editing.as_ref().map(|s| s.sftp_enabled),
                sftp_read_only: editing.as_ref().map(|s| s.sftp_read_only),
                sftp_allowed_paths: editing.as_ref().map(|s| s.sftp_allowed_paths.clone()),
                record_sessions: recording.get_untracked(),
            };
            let id = editing.as_ref().map(|s| s.id);
            busy.set(true);
            error.set(None);
            spawn_local(async move {
                let result = match id {
                    Some(id) => api::update_server(id, &body).await,
                    None => api::create_server(&body).await,
                };
                match result {
                    Ok(server) => {
                        session.toasts.success(format!("Saved {}", server.name));
                        store.upsert(server);
                        store.form.set(None);
                    }
                    Err(err) => {
                        session.fail("Server not saved", &err);
                        let _ = error.try_set(Some(err.message));
                        let _ = busy.try_set(false);
                    }
                }
            });
        }
    };

    let server_id = existing.as_ref().map(|s| s.id).unwrap_or_default();
    let server_name = existing
        .as_ref()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let delete = {
        let server_name = server_name.clone();
        move |_| {
            if !confirm_delete.get_untracked() {
                confirm_delete.set(true);
                return;
            }
            busy.set(true);
            let server_name = server_name.clone();
            spawn_local(async move {
                match api::delete_server(server_id).await {
                    Ok(()) => {
                        session.toasts.success(format!("Deleted {server_name}"));
                        store.remove(server_id);
                        store.form.set(None);
                    }
                    Err(err) => {
                        session.fail("Server not deleted", &err);
                        let _ = busy.try_set(false);
                    }
                }
            });
        }
    };
    let run_test = move |_| {
        testing.set(true);
        test_report.set(None);
        spawn_local(async move {
            let lines = match api::test_server(server_id).await {
                Ok(report) => report
                    .hops
                    .iter()
                    .map(|h| match (&h.ms, &h.error) {
                        (Some(ms), _) => format!("✓ {} ({}:{}) {ms} ms", h.name, h.host, h.port),
                        (None, Some(err)) => format!("✗ {}: {err}", h.name),
                        (None, None) => format!("· {}: not tried", h.name),
                    })
                    .collect(),
                Err(err) => vec![format!("✗ {}", err.message)],
            };
            let _ = test_report.try_set(Some(lines));
            let _ = testing.try_set(false);
            key_version.update(|v| *v += 1);
        });
    };

    let secret_hint = move |stored: bool| {
        if stored {
            "Leave blank to keep the stored one"
        } else {
            ""
        }
    };

    view! {
        <div class="modal-backdrop" on:click=move |_| close()>
            <div
                class="card modal modal-wide"
                role="dialog"
                aria-modal="true"
                aria-labelledby="server-form-title"
                data-testid="server-form"
                on:click=|ev| ev.stop_propagation()
            >
                <div class="modal-head">
                    <h2 id="server-form-title">
                        {if is_edit { format!("Edit {server_name}") } else { "Add a server".to_owned() }}
                    </h2>
                    <button class="icon-button" title="Close" on:click=move |_| close()>"×"</button>
                </div>
                <form class="form-grid" on:submit=submit autocomplete="off">
                    <label for="server-name">"Name"</label>
                    <input id="server-name" required
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))/>

                    <label for="server-hostname">"Host"</label>
                    <div class="row">
                        <input id="server-hostname" required class="grow" placeholder="host.example.com"
                            prop:value=move || hostname.get()
                            on:input=move |ev| hostname.set(event_target_value(&ev))/>
                        <label for="server-port" class="inline-label">"Port"</label>
                        <input id="server-port" class="port" inputmode="numeric" required
                            prop:value=move || port.get()
                            on:input=move |ev| port.set(event_target_value(&ev))/>
                    </div>

                    <label for="server-username">"SSH user"</label>
                    <input id="server-username" required
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))/>

                    <label for="server-auth-method">"Sign in with"</label>
                    <select id="server-auth-method"
                        prop:value=move || auth_method.get().as_str()
                        on:change=move |ev| auth_method.set(
                            if event_target_value(&ev) == "key" { AuthMethod::Key } else { AuthMethod::Password }
                        )>
                        <option value="password">"Password"</option>
                        <option value="key">"Private key"</option>
                    </select>

                    <Show when=move || auth_method.get() == AuthMethod::Password>
                        <label for="server-password">"Password"</label>
                        <input id="server-password" type="password" autocomplete="new-password"
                            placeholder=secret_hint(has_password)
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))/>
                    </Show>
                    <Show when=move || auth_method.get() == AuthMethod::Key>
                        <label for="server-private-key">"Private key"</label>
                        <textarea id="server-private-key" rows="5" spellcheck="false" class="mono"
                            placeholder=if has_key { "Leave blank to keep the stored key" } else { "-----BEGIN OPENSSH PRIVATE KEY-----" }
                            prop:value=move || private_key.get()
                            on:input=move |ev| private_key.set(event_target_value(&ev))></textarea>
                        <label for="server-passphrase">"Key passphrase"</label>
                        <input id="server-passphrase" type="password" autocomplete="new-password"
                            placeholder=if has_key { "Leave blank to keep the stored one" } else { "Only if the key is encrypted" }
                            prop:value=move || passphrase.get()
                            on:input=move |ev| passphrase.set(event_target_value(&ev))/>
                    </Show>

                    <label for="server-jump">"Jump host"</label>
                    <select id="server-jump" data-testid="server-jump"
                        on:change=move |ev| jump_via.set(event_target_value(&ev).parse::<i32>().ok())>
                        <option value="" selected=move || jump_via.get().is_none()>
                            "None: connect directly"
                        </option>
                        {move || store.list.get().into_iter()
                            .filter(|s| Some(s.id) != own_id)
                            .map(|s| {
                                let id = s.id;
                                view! {
                                    <option value=id.to_string() selected=move || jump_via.get() == Some(id)>
                                        {format!("via {} ({}:{})", s.name, s.hostname, s.port)}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>

                    <label for="server-recording">"Recording"</label>
                    <select id="server-recording" data-testid="server-recording"
                        on:change=move |ev| recording.set(match event_target_value(&ev).as_str() {
                            "on" => Some(true),
                            "off" => Some(false),
                            _ => None,
                        })>
                        <option value="" selected=move || recording.get().is_none()>
                            "Gateway default"
                        </option>
                        <option value="on" selected=move || recording.get() == Some(true)>
                            "Record sessions"
                        </option>
                        <option value="off" selected=move || recording.get() == Some(false)>
                            "Do not record"
                        </option>
                    </select>

                    <label for="server-group">"Group"</label>
                    <input id="server-group" placeholder="Who may see it (users' allowed groups)"
                        prop:value=move || group.get()
                        on:input=move |ev| group.set(event_target_value(&ev))/>

                    <label for="server-tags">"Tags"</label>
                    <input id="server-tags" placeholder="Comma separated, for search"
                        prop:value=move || tags.get()
                        on:input=move |ev| tags.set(event_target_value(&ev))/>

                    <label for="server-description">"Description"</label>
                    <input id="server-description"
                        prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))/>

                    <span></span>
                    <label class="check">
                        <input id="server-ssh-enabled" type="checkbox"
                            prop:checked=move || ssh_enabled.get()
                            on:change=move |ev| ssh_enabled.set(event_target_checked(&ev))/>
                        " Terminal access (SSH) enabled"
                    </label>

                    <Show when=move || is_edit>
                        <span class="field-label">"Host key"</span>
                        {move || own_id.map(|id| view! { <HostKeyPanel server_id=id version=key_version/> })}
                    </Show>

                    <Show when=move || is_edit>
                        <span class="field-label">"Connection"</span>
                        <div data-testid="test-connection-result">
                            <button type="button" class="button" data-testid="test-connection"
                                disabled=move || testing.get()
                                on:click=run_test>
                                {move || if testing.get() { "Testing…" } else { "Test connection" }}
                            </button>
                            {move || test_report.get().map(|lines| view! {
                                <ul class="test-report mono small">
                                    {lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
                                </ul>
                            })}
                        </div>
                    </Show>

                    <Show when=move || error.get().is_some()>
                        <p class="form-error span-2" role="alert">{move || error.get().unwrap_or_default()}</p>
                    </Show>

                    <div class="modal-actions span-2">
                        <Show when=move || is_edit>
                            <button type="button" class="button danger" data-testid="delete-server"
                                disabled=move || busy.get()
                                on:click=delete.clone()>
                                {move || if confirm_delete.get() { "Click again to delete" } else { "Delete" }}
                            </button>
                        </Show>
                        <span class="grow"></span>
                        <button type="button" class="button" on:click=move |_| close()>"Cancel"</button>
                        <button type="submit" class="button primary" disabled=move || busy.get()>
                            {move || if busy.get() { "Saving…" } else { "Save" }}
                        </button>
                    </div>
                </form>
            </div>
        </div>
    }
}
