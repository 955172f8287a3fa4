//! The "Import SSH config" dialog (admins): paste an OpenSSH client configuration, preview what it
//! would create (a dry run), then import it. Imported servers have no credential yet; one is added
//! per server in the server form.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::servers::{ImportRequest, ImportResponse, ImportedServer};

use super::use_servers;
use crate::api;
use crate::app::use_session;
use crate::dialog::Dialog;

/// Renders the dialog while `open` is set.
#[component]
pub fn ImportSshConfigDialog(open: RwSignal<bool>) -> impl IntoView {
    move || open.get().then(|| view! { <ImportSshConfig open/> })
}

fn non_empty(s: String) -> Option<String> {
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// `name  user@host:port  via bastion` for one created server.
fn describe(
    server: &ImportedServer,
    created: &[ImportedServer],
    known: &[(i32, String)],
) -> String {
    let port = if server.port == 22 {
        String::new()
    } else {
        format!(":{}", server.port)
    };
    let via = server.jump_via_id.map(|id| {
        let name = created
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
            .or_else(|| known.iter().find(|(k, _)| *k == id).map(|(_, n)| n.clone()))
            .unwrap_or_else(|| format!("#{id}"));
        format!(" via {name}")
    });
    format!(
        "{}: {}@{}{port}{}",
        server.name,
        server.username,
        server.hostname,
        via.unwrap_or_default()
    )
}

#[component]
fn ImportSshConfig(open: RwSignal<bool>) -> impl IntoView {
    let session = use_session();
    let store = use_servers();
    let config = RwSignal::new(String::new());
    let group = RwSignal::new(String::new());
    let default_username = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The last answer, and whether it was a preview.
    let result = RwSignal::new(None::<(bool, ImportResponse)>);
    let close = Callback::new(move |()| open.set(false));

    let run = move |dry_run: bool| {
        if busy.get_untracked() {
            return;
        }
        let body = ImportRequest {
            format: ImportRequest::OPENSSH_CONFIG.to_owned(),
            config: config.get_untracked(),
            group: non_empty(group.get_untracked()),
            default_username: non_empty(default_username.get_untracked()),
            dry_run,
        };
        busy.set(true);
        error.set(None);
        result.set(None);
        spawn_local(async move {
            match api::import_servers(&body).await {
                Ok(answer) => {
                    if !dry_run {
                        let count = answer.created.len();
                        session.toasts.success(format!(
                            "Imported {count} server{}",
                            if count == 1 { "" } else { "s" }
                        ));
                        store.reload(session);
                    }
                    let _ = result.try_set(Some((dry_run, answer)));
                }
                Err(err) => {
                    if !dry_run {
                        session.fail("Nothing imported", &err);
                    }
                    let _ = error.try_set(Some(err.message));
                }
            }
            let _ = busy.try_set(false);
        });
    };

    let report = move || {
        result.get().map(|(dry_run, answer)| {
            let known: Vec<(i32, String)> = store
                .list
                .get_untracked()
                .into_iter()
                .map(|s| (s.id, s.name))
                .collect();
            let count = answer.created.len();
            let headline = match (dry_run, count) {
                (true, 0) => "Nothing would be created.".to_owned(),
                (true, n) => format!("Would create {n} server(s), jump hosts first:"),
                (false, 0) => "Nothing was created.".to_owned(),
                (false, n) => {
                    format!("Created {n} server(s). Add their credentials in the server form.")
                }
            };
            let created: Vec<String> = answer
                .created
                .iter()
                .map(|s| describe(s, &answer.created, &known))
                .collect();
            let skipped: Vec<String> = answer
                .skipped
                .iter()
                .map(|s| format!("{}: {}", s.name, s.reason))
                .collect();
            let list = |lines: Vec<String>| {
                view! {
                    <ul class="test-report mono small">
                        {lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
                    </ul>
                }
            };
            view! {
                <div id="import-result" data-testid="import-result" class="span-2"
                    data-dry-run=dry_run.to_string()>
                    <p>{headline}</p>
                    {list(created)}
                    <Show when={let any = !skipped.is_empty(); move || any}>
                        <p class="field-label">"Skipped"</p>
                    </Show>
                    {list(skipped)}
                    <Show when={let any = !answer.warnings.is_empty(); move || any}>
                        <p class="field-label">"Warnings"</p>
                    </Show>
                    {list(answer.warnings.clone())}
                </div>
            }
        })
    };

    view! {
        <Dialog name="import" title="Import SSH config" on_close=close wide=true>
            <div class="form-grid">
                <label for="import-config" class="span-2">
                    "Paste an OpenSSH client config (~/.ssh/config). Each Host becomes a server; ProxyJump becomes its jump host. Credentials are added afterwards."
                </label>
                <textarea id="import-config" data-testid="import-config" class="mono span-2"
                    rows="12" spellcheck="false"
                    placeholder="Host web\n    HostName 10.0.0.5\n    User deploy\n    ProxyJump bastion"
                    prop:value=move || config.get()
                    on:input=move |ev| config.set(event_target_value(&ev))></textarea>

                <label for="import-group">"Group"</label>
                <input id="import-group" placeholder="Optional: the group every imported server gets"
                    prop:value=move || group.get()
                    on:input=move |ev| group.set(event_target_value(&ev))/>

                <label for="import-default-user">"Default user"</label>
                <input id="import-default-user" placeholder="Optional: for hosts without a User"
                    prop:value=move || default_username.get()
                    on:input=move |ev| default_username.set(event_target_value(&ev))/>

                <Show when=move || error.get().is_some()>
                    <p class="form-error span-2" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                {report}

                <div class="modal-actions span-2">
                    <span class="grow"></span>
                    <button type="button" class="button" on:click=move |_| close.run(())>"Close"</button>
                    <button type="button" class="button" id="import-preview" data-testid="import-preview"
                        disabled=move || busy.get() || config.with(|c| c.trim().is_empty())
                        on:click=move |_| run(true)>
                        "Preview"
                    </button>
                    <button type="button" class="button primary" id="import-submit" data-testid="import-submit"
                        disabled=move || busy.get() || config.with(|c| c.trim().is_empty())
                        on:click=move |_| run(false)>
                        {move || if busy.get() { "Working…" } else { "Import" }}
                    </button>
                </div>
            </div>
        </Dialog>
    }
}
