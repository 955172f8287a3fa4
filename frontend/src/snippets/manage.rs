//! The Snippets dialog (user menu → Snippets): the caller's own snippets and the shared ones, a
//! form to add or change one — checked as it is typed with the same parser the gateway uses —
//! and deleting. Admins see a "Shared" box; auditors, who open no terminal, only read.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::snippets::{self as template, SnippetRequest, SnippetView};
use wire::users::Role;

use crate::api;
use crate::app::{use_session, Auth};
use crate::dialog::Dialog;

type List = RwSignal<Option<Vec<SnippetView>>>;

/// Puts `snippet` into the list in name order, replacing an older copy.
fn upsert(list: List, snippet: SnippetView) {
    list.update(|l| {
        let l = l.get_or_insert_with(Vec::new);
        l.retain(|s| s.id != snippet.id);
        l.push(snippet);
        l.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    });
}

#[component]
pub fn SnippetsDialog(open: RwSignal<bool>) -> impl IntoView {
    let session = use_session();
    let list: List = RwSignal::new(None);
    // The snippet being edited; `None`: the form adds a new one.
    let editing = RwSignal::new(None::<SnippetView>);
    let reader_only = session
        .auth
        .with_untracked(|a| matches!(a, Auth::SignedIn(u) if u.role == Role::Auditor));
    spawn_local(async move {
        match api::snippets().await {
            Ok(l) => {
                let _ = list.try_set(Some(l));
            }
            Err(err) => session.fail("Cannot load the snippets", &err),
        }
    });
    let close = Callback::new(move |()| open.set(false));

    view! {
        <Dialog name="snippets" title="Snippets" on_close=close wide=true>
            <p class="muted small">
                "Run a snippet in the current terminal with " <kbd>"Ctrl+K"</kbd>
                ". Placeholders such as " <code>"{host}"</code>
                " are asked for each time; write " <code>"{{"</code> " and " <code>"}}"</code>
                " for literal braces (" <code>"${{HOME}}"</code> ")."
            </p>
            <Show when=move || !reader_only>
                <SnippetForm list editing/>
            </Show>
            {move || match list.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(l) if l.is_empty() => {
                    view! { <p class="muted" data-testid="snippets-empty">"No snippets yet."</p> }
                        .into_any()
                }
                Some(_) => view! {
                    <table class="table snippets-table" data-testid="snippets-list">
                        <thead>
                            <tr>
                                <th>"Name"</th>
                                <th>"Command"</th>
                                <th class="actions-col"></th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || list.get().unwrap_or_default()
                                key=|s| (s.id, s.updated_at.clone())
                                let:snippet
                            >
                                <SnippetRow snippet list editing/>
                            </For>
                        </tbody>
                    </table>
                }
                .into_any(),
            }}
        </Dialog>
    }
}

#[component]
fn SnippetRow(
    snippet: SnippetView,
    list: List,
    editing: RwSignal<Option<SnippetView>>,
) -> impl IntoView {
    let session = use_session();
    let confirm = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let id = snippet.id;
    let name = snippet.name.clone();
    let remove = move |_| {
        if !confirm.get_untracked() {
            confirm.set(true);
            return;
        }
        busy.set(true);
        let name = name.clone();
        spawn_local(async move {
            match api::delete_snippet(id).await {
                Ok(()) => {
                    session.toasts.success(format!("Deleted {name}"));
                    if editing.get_untracked().is_some_and(|s| s.id == id) {
                        editing.set(None);
                    }
                    list.update(|l| {
                        if let Some(l) = l {
                            l.retain(|s| s.id != id);
                        }
                    });
                }
                Err(err) => {
                    session.fail("Snippet not deleted", &err);
                    let _ = busy.try_set(false);
                }
            }
        });
    };
    let to_edit = snippet.clone();
    let editable = snippet.editable;
    let owner = (snippet.shared).then(|| format!("by {}", snippet.owner));
    view! {
        <tr data-testid="snippet-row" data-name=snippet.name.clone()>
            <td>
                <div class="user-name">{snippet.name.clone()}</div>
                {snippet.shared.then(|| view! { <span class="badge">"shared"</span> " " })}
                {snippet.confirm.then(|| view! { <span class="badge badge-warn">"confirm"</span> " " })}
                <span class="muted small">{owner}</span>
                <div class="muted small">{snippet.description.clone()}</div>
            </td>
            <td><pre class="snippet-command">{snippet.command.clone()}</pre></td>
            <td class="actions-col">
                <Show when=move || editable>
                    <button class="button small" data-testid="snippet-edit"
                        on:click={
                            let to_edit = to_edit.clone();
                            move |_| {
                                confirm.set(false);
                                editing.set(Some(to_edit.clone()));
                            }
                        }>
                        "Edit"
                    </button>
                    <button class="button small danger-outline" data-testid="snippet-delete"
                        disabled=move || busy.get()
                        on:click=remove.clone()>
                        {move || if confirm.get() { "Really delete?" } else { "Delete" }}
                    </button>
                </Show>
            </td>
        </tr>
    }
}

#[component]
fn SnippetForm(list: List, editing: RwSignal<Option<SnippetView>>) -> impl IntoView {
    let session = use_session();
    let is_admin = session.is_admin();
    let name = RwSignal::new(String::new());
    let command = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let confirm = RwSignal::new(false);
    let shared = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    // Picking "Edit" on a row (or finishing) loads its fields.
    Effect::new(move |_| {
        let s = editing.get();
        name.set(s.as_ref().map(|s| s.name.clone()).unwrap_or_default());
        command.set(s.as_ref().map(|s| s.command.clone()).unwrap_or_default());
        description.set(
            s.as_ref()
                .map(|s| s.description.clone())
                .unwrap_or_default(),
        );
        confirm.set(s.as_ref().is_some_and(|s| s.confirm));
        shared.set(s.as_ref().is_some_and(|s| s.shared));
        error.set(None);
    });
    // What the command asks for, or why it cannot be saved, as it is typed.
    let check = move || {
        command.with(|c| match template::params(c) {
            Ok(p) if p.is_empty() => Ok(String::new()),
            Ok(p) => Ok(format!(
                "Asks for {}",
                p.iter()
                    .map(|n| format!("{{{n}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Err(e) => Err(e.to_string()),
        })
    };

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        if let Err(e) = check() {
            error.set(Some(format!("Command: {e}")));
            return;
        }
        let body = SnippetRequest {
            name: name.get_untracked().trim().to_owned(),
            command: command.get_untracked(),
            description: description.get_untracked().trim().to_owned(),
            shared: shared.get_untracked(),
            confirm: confirm.get_untracked(),
        };
        let target = editing.get_untracked().map(|s| s.id);
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let answer = match target {
                Some(id) => api::update_snippet(id, &body).await,
                None => api::create_snippet(&body).await,
            };
            let _ = busy.try_set(false);
            match answer {
                Ok(saved) => {
                    session.toasts.success(format!("Saved {}", saved.name));
                    upsert(list, saved);
                    editing.set(None);
                    // A new snippet leaves an empty form; the Effect does not rerun for None → None.
                    name.set(String::new());
                    command.set(String::new());
                    description.set(String::new());
                    confirm.set(false);
                    shared.set(false);
                }
                Err(err) => {
                    session.fail("Snippet not saved", &err);
                    let _ = error.try_set(Some(err.message));
                }
            }
        });
    };

    view! {
        <form class="card inline-form" on:submit=submit data-testid="snippet-form" autocomplete="off">
            <div class="form-grid">
                <label for="snippet-name">"Name"</label>
                <input id="snippet-name" required maxlength="100" placeholder="e.g. Follow a log"
                    data-testid="snippet-name"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="snippet-command">"Command"</label>
                <textarea id="snippet-command" required rows="3" spellcheck="false" class="mono"
                    placeholder="tail -n {lines} -f /var/log/{file}"
                    data-testid="snippet-command"
                    prop:value=move || command.get()
                    on:input=move |ev| command.set(event_target_value(&ev))></textarea>
                <span></span>
                {move || match check() {
                    Ok(text) => view! { <span class="muted small" data-testid="snippet-params-found">{text}</span> }.into_any(),
                    Err(e) => view! { <span class="form-error" data-testid="snippet-command-error">{e}</span> }.into_any(),
                }}
                <label for="snippet-description">"Description"</label>
                <input id="snippet-description" maxlength="1000" placeholder="Optional"
                    data-testid="snippet-description"
                    prop:value=move || description.get()
                    on:input=move |ev| description.set(event_target_value(&ev))/>
                <span></span>
                <label class="check">
                    <input type="checkbox" data-testid="snippet-confirm-box"
                        prop:checked=move || confirm.get()
                        on:change=move |ev| confirm.set(event_target_checked(&ev))/>
                    " Show the command and ask before running it"
                </label>
                <Show when=move || is_admin>
                    <span></span>
                    <label class="check">
                        <input type="checkbox" data-testid="snippet-shared"
                            prop:checked=move || shared.get()
                            on:change=move |ev| shared.set(event_target_checked(&ev))/>
                        " Shared with every user"
                    </label>
                </Show>
                <Show when=move || error.get().is_some()>
                    <p class="form-error span-2" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <div class="modal-actions span-2">
                    <span class="grow"></span>
                    <Show when=move || editing.get().is_some()>
                        <button type="button" class="button" data-testid="snippet-cancel-edit"
                            on:click=move |_| editing.set(None)>
                            "Cancel"
                        </button>
                    </Show>
                    <button type="submit" class="button primary" data-testid="snippet-save"
                        disabled=move || busy.get()>
                        {move || if editing.get().is_some() { "Save changes" } else { "Add snippet" }}
                    </button>
                </div>
            </div>
        </form>
    }
}
