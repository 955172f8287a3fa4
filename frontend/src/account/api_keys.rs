//! The API keys dialog: the caller's keys (never the keys themselves, only their prefixes), a
//! form to create one, the new key shown this once, and revoking.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::auth::{ApiKeyView, CreateApiKey};

use crate::api;
use crate::app::use_session;
use crate::auth::SecretBox;
use crate::dialog::Dialog;

/// What a key may be used for, in the order the form lists them; `admin` is for admins only.
const SCOPES: [(&str, &str); 4] = [
    ("read", "Read: list servers, recordings, the audit log"),
    ("terminal", "Terminal: open shells"),
    ("files", "Files: read and write over SFTP"),
    ("admin", "Admin: manage users and servers"),
];

#[component]
pub fn ApiKeysDialog(open: RwSignal<bool>) -> impl IntoView {
    let session = use_session();
    let keys = RwSignal::new(None::<Vec<ApiKeyView>>);
    // The key just created, shown until the dialog is closed or "Done" is pressed.
    let created = RwSignal::new(None::<String>);
    spawn_local(async move {
        match api::api_keys().await {
            Ok(list) => {
                let _ = keys.try_set(Some(list));
            }
            Err(err) => session.fail("Cannot load the API keys", &err),
        }
    });
    let close = Callback::new(move |()| open.set(false));

    view! {
        <Dialog name="api-keys" title="API keys" on_close=close wide=true>
            <p class="muted small">
                "A key lets a script call the gateway's API as you, within the scopes you give \
                 it: send it as " <code>"Authorization: Bearer <key>"</code> "."
            </p>
            {move || created.get().map(|key| view! {
                <div class="key-created" data-testid="api-key-created">
                    <p class="warn-text">
                        <strong>"Copy this key now."</strong>
                        " It will not be shown again."
                    </p>
                    <SecretBox secret=key test_id="api-key-value"/>
                    <div class="modal-actions">
                        <span class="grow"></span>
                        <button class="button small" data-testid="api-key-created-done"
                            on:click=move |_| created.set(None)>
                            "Done"
                        </button>
                    </div>
                </div>
            })}
            <Show when=move || created.get().is_none()>
                <CreateKeyForm keys created/>
            </Show>
            {move || match keys.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(list) if list.is_empty() => {
                    view! { <p class="muted" data-testid="api-keys-empty">"No API keys yet."</p> }.into_any()
                }
                Some(_) => view! {
                    <table class="table api-keys-table" data-testid="api-keys-list">
                        <thead>
                            <tr>
                                <th>"Name"</th>
                                <th>"Scopes"</th>
                                <th>"Created"</th>
                                <th>"Last used"</th>
                                <th>"Expires"</th>
                                <th class="actions-col"></th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || keys.get().unwrap_or_default()
                                key=|k| k.id
                                let:key
                            >
                                <KeyRow key keys/>
                            </For>
                        </tbody>
                    </table>
                }
                .into_any(),
            }}
        </Dialog>
    }
}

/// `YYYY-MM-DD HH:MM` of an RFC 3339 time (UTC as the gateway writes it).
fn when(time: &str) -> String {
    time.get(..16).unwrap_or(time).replace('T', " ")
}

#[component]
fn KeyRow(key: ApiKeyView, keys: RwSignal<Option<Vec<ApiKeyView>>>) -> impl IntoView {
    let session = use_session();
    let confirm = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let id = key.id;
    let name = key.name.clone();
    let revoke = move |_| {
        if !confirm.get_untracked() {
            confirm.set(true);
            return;
        }
        busy.set(true);
        let name = name.clone();
        spawn_local(async move {
            match api::revoke_api_key(id).await {
                Ok(()) => {
                    session.toasts.success(format!("Revoked {name}"));
                    keys.update(|list| {
                        if let Some(list) = list {
                            list.retain(|k| k.id != id);
                        }
                    });
                }
                Err(err) => {
                    session.fail("Key not revoked", &err);
                    let _ = busy.try_set(false);
                }
            }
        });
    };
    let created = key
        .created_at
        .get(..10)
        .unwrap_or(&key.created_at)
        .to_owned();
    let last_used = key
        .last_used_at
        .as_deref()
        .map(when)
        .unwrap_or_else(|| "never".to_owned());
    let expires = key
        .expires_at
        .as_deref()
        .map(when)
        .unwrap_or_else(|| "never".to_owned());
    view! {
        <tr data-testid="api-key-row" data-name=key.name.clone()>
            <td>
                <div class="user-name">{key.name.clone()}</div>
                <code class="muted">{key.prefix.clone()} "…"</code>
            </td>
            <td>
                {key.scopes.iter().map(|s| view! { <span class="badge">{s.clone()}</span> " " }).collect_view()}
            </td>
            <td class="muted">{created}</td>
            <td class="muted">{last_used}</td>
            <td class="muted">{expires}</td>
            <td class="actions-col">
                <button class="button small danger-outline" data-testid="api-key-revoke"
                    disabled=move || busy.get()
                    on:click=revoke>
                    {move || if confirm.get() { "Really revoke?" } else { "Revoke" }}
                </button>
            </td>
        </tr>
    }
}

#[component]
fn CreateKeyForm(
    keys: RwSignal<Option<Vec<ApiKeyView>>>,
    created: RwSignal<Option<String>>,
) -> impl IntoView {
    let session = use_session();
    let name = RwSignal::new(String::new());
    let scopes = RwSignal::new(vec!["read".to_owned()]);
    let days = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let is_admin = session.is_admin();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let chosen = scopes.get_untracked();
        if chosen.is_empty() {
            error.set(Some("Pick at least one scope.".to_owned()));
            return;
        }
        let days = days.get_untracked();
        let expires_in_days = match days.trim() {
            "" => None,
            d => match d.parse::<u32>() {
                Ok(n) if (1..=3650).contains(&n) => Some(n),
                _ => {
                    error.set(Some(
                        "Expiry is a number of days from 1 to 3650, or empty for none.".to_owned(),
                    ));
                    return;
                }
            },
        };
        let body = CreateApiKey {
            name: name.get_untracked().trim().to_owned(),
            scopes: chosen,
            expires_in_days,
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::create_api_key(&body).await {
                Ok(answer) => {
                    keys.update(|list| list.get_or_insert_with(Vec::new).insert(0, answer.api_key));
                    created.set(Some(answer.key));
                }
                Err(err) => {
                    session.fail("Key not created", &err);
                    let _ = error.try_set(Some(err.message));
                    let _ = busy.try_set(false);
                }
            }
        });
    };

    view! {
        <form class="card inline-form" on:submit=submit data-testid="api-key-form" autocomplete="off">
            <div class="form-grid">
                <label for="api-key-name">"Name"</label>
                <input id="api-key-name" required maxlength="100" placeholder="e.g. backup script"
                    data-testid="api-key-name"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))/>
                <span class="field-label">"Scopes"</span>
                <div class="scope-list">
                    {SCOPES
                        .into_iter()
                        .filter(|(scope, _)| is_admin || *scope != "admin")
                        .map(|(scope, label)| view! {
                            <label class="check">
                                <input type="checkbox"
                                    data-testid=format!("api-key-scope-{scope}")
                                    prop:checked=move || scopes.with(|s| s.iter().any(|x| x == scope))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        scopes.update(|s| {
                                            s.retain(|x| x != scope);
                                            if on {
                                                s.push(scope.to_owned());
                                            }
                                        });
                                    }/>
                                " " {label}
                            </label>
                        })
                        .collect_view()}
                </div>
                <label for="api-key-days">"Expires after"</label>
                <div class="row">
                    <input id="api-key-days" type="number" min="1" max="3650" class="port"
                        placeholder="never"
                        data-testid="api-key-expiry"
                        prop:value=move || days.get()
                        on:input=move |ev| days.set(event_target_value(&ev))/>
                    <span class="muted">"days (empty: until revoked)"</span>
                </div>
                <Show when=move || error.get().is_some()>
                    <p class="form-error span-2" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <div class="modal-actions span-2">
                    <span class="grow"></span>
                    <button type="submit" class="button primary" data-testid="api-key-create"
                        disabled=move || busy.get()>
                        "Create key"
                    </button>
                </div>
            </div>
        </form>
    }
}
