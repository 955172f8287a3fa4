//! The command palette: opened by Ctrl+K / Cmd+K in a terminal, it filters the snippets as the
//! person types (arrow keys move, Enter picks, Shift+Enter types without running, Escape
//! closes), prompts for the chosen snippet's `{param}`s, shows the rendered command for a
//! snippet that asks for confirmation, and types the result into the tab it was opened from.
//! Ctrl+K pressed again in the palette closes it and sends Ctrl+K to the shell (readline's
//! kill-line), so the shortcut takes nothing away from the terminal.

use std::collections::BTreeMap;

use leptos::ev::{MouseEvent, SubmitEvent};
use leptos::html::Input;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::KeyboardEvent;
use wire::snippets::{self as template, SnippetView};

use super::{fuzzy, is_palette_key, keystrokes, use_snippets};
use crate::api;
use crate::app::{close_on_escape, use_session};
use crate::terminal::{self, use_tabs, TabState};

#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Pick,
    Params {
        snippet: SnippetView,
        params: Vec<String>,
        run: bool,
    },
    Confirm {
        snippet: SnippetView,
        rendered: String,
        run: bool,
    },
}

/// Mounted once by the shell; shows the palette while one is open.
#[component]
pub fn SnippetPalette() -> impl IntoView {
    let snippets = use_snippets();
    move || {
        snippets
            .palette
            .get()
            .map(|tab_id| view! { <Palette tab_id/> })
    }
}

/// Gives `el` the keyboard as soon as it exists (the old focus went with the stage it was in),
/// and again after the next frame in case it was not in the page yet.
fn take_focus<E>(node: NodeRef<E>)
where
    E: leptos::html::ElementType,
    E::Output: wasm_bindgen::JsCast + Clone + 'static,
    NodeRef<E>: Copy,
{
    node.on_load(|el| {
        let el: web_sys::HtmlElement = wasm_bindgen::JsCast::unchecked_into(el);
        let _ = el.focus();
        request_animation_frame(move || {
            let _ = el.focus();
        });
    });
}

/// The first line of a command, for the list (the whole command is its tooltip).
fn first_line(command: &str) -> String {
    let mut lines = command.lines();
    let first = lines.next().unwrap_or_default().to_owned();
    if lines.next().is_some() {
        first + " …"
    } else {
        first
    }
}

#[component]
fn Palette(tab_id: u32) -> impl IntoView {
    let snippets = use_snippets();
    let session = use_session();
    let tabs = use_tabs();
    let all = RwSignal::new(None::<Vec<SnippetView>>);
    let query = snippets.query;
    let selected = RwSignal::new(0usize);
    let stage = RwSignal::new(Stage::Pick);
    let input = NodeRef::<Input>::new();

    spawn_local(async move {
        let list = match api::snippets().await {
            Ok(list) => list,
            Err(err) => {
                session.fail("Cannot load the snippets", &err);
                Vec::new()
            }
        };
        let _ = all.try_set(Some(list));
    });
    let shown = Memo::new(move |_| {
        let q = query.get();
        all.with(|list| {
            list.as_deref()
                .map(|l| fuzzy::filter(&q, l))
                .unwrap_or_default()
        })
    });
    // A new search starts at the best match.
    Effect::new(move |_| {
        query.track();
        selected.set(0);
    });
    // Keep the highlighted row in view while the arrow keys move it.
    Effect::new(move |_| {
        selected.track();
        request_animation_frame(|| {
            if let Ok(Some(el)) = document().query_selector(".palette-item.active") {
                let options = web_sys::ScrollIntoViewOptions::new();
                options.set_block(web_sys::ScrollLogicalPosition::Nearest);
                el.scroll_into_view_with_scroll_into_view_options(&options);
            }
        });
    });

    // The terminal takes the keyboard back at once, so that nothing typed right after Escape
    // is lost, and again after the palette is gone.
    let close = move || {
        terminal::focus(tab_id);
        snippets.palette.set(None);
        request_animation_frame(move || terminal::focus(tab_id));
    };
    close_on_escape(close);

    // Types the command into the tab, if that tab can take input.
    let finish = move |rendered: String, run: bool| {
        let refusal = tabs
            .list
            .with_untracked(|list| match list.iter().find(|t| t.id == tab_id) {
                None => Some("The terminal tab was closed."),
                Some(t) if t.joined.as_ref().is_some_and(|(_, mode)| mode == "ro") => {
                    Some("This session is shared with you read-only.")
                }
                Some(t) if t.state != TabState::Connected => Some("The terminal is not connected."),
                Some(_) => None,
            });
        match refusal {
            Some(why) => session.toasts.error("Snippet not sent", why),
            None => terminal::send_input(tab_id, &keystrokes(&rendered, run)),
        }
        close();
    };
    let proceed = move |snippet: SnippetView, rendered: String, run: bool| {
        if snippet.confirm {
            stage.set(Stage::Confirm {
                snippet,
                rendered,
                run,
            });
        } else {
            finish(rendered, run);
        }
    };
    let choose = move |snippet: SnippetView, run: bool| match template::params(&snippet.command) {
        Err(e) => session.toasts.error("Snippet not usable", e.to_string()),
        Ok(params) if params.is_empty() => {
            let rendered = template::render(&snippet.command, &BTreeMap::new()).unwrap_or_default();
            proceed(snippet, rendered, run);
        }
        Ok(params) => {
            stage.set(Stage::Params {
                snippet,
                params,
                run,
            });
        }
    };

    let on_key = move |ev: KeyboardEvent| {
        if is_palette_key(&ev) {
            ev.prevent_default();
            terminal::send_input(tab_id, b"\x0b");
            close();
            return;
        }
        let count = shown.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" | "ArrowUp" if count > 0 => {
                ev.prevent_default();
                let step = if ev.key() == "ArrowDown" {
                    1
                } else {
                    count - 1
                };
                selected.update(|i| *i = (*i + step) % count);
            }
            "Enter" => {
                ev.prevent_default();
                let pick = shown.with_untracked(|l| l.get(selected.get_untracked()).cloned());
                if let Some(snippet) = pick {
                    choose(snippet, !ev.shift_key());
                }
            }
            _ => {}
        }
    };
    take_focus(input);

    let pick_view = move || {
        view! {
            <input
                node_ref=input
                class="palette-input"
                type="text"
                placeholder="Run a snippet…"
                aria-label="Search snippets"
                autocomplete="off"
                spellcheck="false"
                data-testid="snippet-search"
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev))
                on:keydown=on_key
            />
            <ul class="palette-list" role="listbox" data-testid="snippet-list">
                {move || {
                    let list = shown.get();
                    if all.with(Option::is_none) {
                        view! { <li class="palette-empty muted">"Loading…"</li> }.into_any()
                    } else if list.is_empty() {
                        let text = if all.with(|a| a.as_ref().is_some_and(Vec::is_empty)) {
                            "No snippets yet: add some under Snippets in your account menu."
                        } else {
                            "No snippet matches."
                        };
                        view! { <li class="palette-empty muted" data-testid="snippet-none">{text}</li> }
                            .into_any()
                    } else {
                        list.into_iter()
                            .enumerate()
                            .map(|(i, s)| palette_item(i, s, selected, choose))
                            .collect_view()
                            .into_any()
                    }
                }}
            </ul>
            <div class="palette-foot muted small">
                <span>"↑↓ Enter run · Shift+Enter type only · Esc close · Ctrl+K again: to the shell"</span>
                <span class="grow"></span>
                <button
                    class="button link small"
                    data-testid="snippet-manage"
                    on:click=move |_| {
                        snippets.palette.set(None);
                        snippets.manage.set(true);
                    }
                >
                    "Manage snippets"
                </button>
            </div>
        }
    };

    view! {
        <div class="palette-backdrop" on:click=move |_| close()>
            <div
                class="card palette"
                role="dialog"
                aria-modal="true"
                aria-label="Run a snippet"
                data-testid="snippet-palette"
                on:click=|ev| ev.stop_propagation()
            >
                {move || match stage.get() {
                    Stage::Pick => pick_view().into_any(),
                    Stage::Params { snippet, params, run } => {
                        params_form(snippet, params, run, proceed, close).into_any()
                    }
                    Stage::Confirm { snippet, rendered, run } => {
                        confirm_view(snippet, rendered, run, finish, close).into_any()
                    }
                }}
            </div>
        </div>
    }
}

fn palette_item(
    index: usize,
    snippet: SnippetView,
    selected: RwSignal<usize>,
    choose: impl Fn(SnippetView, bool) + Copy + 'static,
) -> impl IntoView {
    let is_selected = move || selected.get() == index;
    let name = snippet.name.clone();
    let data_name = name.clone();
    let preview = first_line(&snippet.command);
    let title = snippet.command.clone();
    let description = snippet.description.clone();
    let (shared, confirm) = (snippet.shared, snippet.confirm);
    view! {
        <li
            class="palette-item"
            class=("active", is_selected)
            role="option"
            aria-selected=move || is_selected().to_string()
            data-testid="snippet-item"
            data-name=data_name
            title=title
            on:mousemove=move |_| {
                if selected.get_untracked() != index {
                    selected.set(index);
                }
            }
            on:click=move |ev: MouseEvent| choose(snippet.clone(), !ev.shift_key())
        >
            <div class="palette-name">
                <span>{name}</span>
                {shared.then(|| view! { <span class="badge">"shared"</span> })}
                {confirm.then(|| view! { <span class="badge badge-warn">"confirm"</span> })}
                <span class="grow"></span>
                <span class="muted small palette-description">{description}</span>
            </div>
            <code class="palette-command">{preview}</code>
        </li>
    }
}

/// Prompts for each parameter, with the rendered command shown as it will be typed.
fn params_form(
    snippet: SnippetView,
    params: Vec<String>,
    run: bool,
    proceed: impl Fn(SnippetView, String, bool) + Copy + 'static,
    close: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let values = RwSignal::new(
        params
            .iter()
            .map(|p| (p.clone(), String::new()))
            .collect::<BTreeMap<String, String>>(),
    );
    let command = snippet.command.clone();
    let rendered = move || values.with(|v| template::render(&command, v).unwrap_or_default());
    let preview = rendered.clone();
    let name = snippet.name.clone();
    let first = NodeRef::<Input>::new();
    take_focus(first);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        proceed(snippet.clone(), rendered(), run);
    };
    view! {
        <form class="palette-form" data-testid="snippet-params" on:submit=submit autocomplete="off">
            <div class="palette-title">{name}</div>
            <div class="form-grid">
                {params
                    .into_iter()
                    .enumerate()
                    .map(|(i, param)| {
                        let node = if i == 0 { first } else { NodeRef::new() };
                        let id = format!("snippet-param-{param}");
                        let (read, write) = (param.clone(), param.clone());
                        view! {
                            <label for=id.clone()><code>"{" {param.clone()} "}"</code></label>
                            <input
                                node_ref=node
                                id=id.clone()
                                type="text"
                                spellcheck="false"
                                data-testid=id
                                data-param=param
                                prop:value=move || values.with(|v| v.get(&read).cloned().unwrap_or_default())
                                on:input=move |ev| {
                                    let value = event_target_value(&ev);
                                    values.update(|v| {
                                        v.insert(write.clone(), value);
                                    });
                                }
                            />
                        }
                    })
                    .collect_view()}
            </div>
            <pre class="palette-preview" data-testid="snippet-preview">{preview}</pre>
            <div class="modal-actions">
                <span class="grow"></span>
                <button type="button" class="button" on:click=move |_| close()>"Cancel"</button>
                <button type="submit" class="button primary" data-testid="snippet-params-ok">
                    {if run { "Run" } else { "Type" }}
                </button>
            </div>
        </form>
    }
}

/// The rendered command and an explicit Run: what a snippet marked `confirm` asks for.
fn confirm_view(
    snippet: SnippetView,
    rendered: String,
    run: bool,
    finish: impl Fn(String, bool) + Copy + 'static,
    close: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let shown = rendered.clone();
    let run_button = NodeRef::<leptos::html::Button>::new();
    take_focus(run_button);
    view! {
        <div class="palette-form" data-testid="snippet-confirm">
            <div class="palette-title">
                {if run { "Run " } else { "Type " }} <strong>{snippet.name}</strong> " in this terminal?"
            </div>
            <pre class="palette-preview" data-testid="snippet-confirm-command">{shown}</pre>
            <div class="modal-actions">
                <span class="grow"></span>
                <button type="button" class="button" data-testid="snippet-confirm-cancel" on:click=move |_| close()>
                    "Cancel"
                </button>
                <button
                    type="button"
                    class="button primary"
                    data-testid="snippet-confirm-run"
                    node_ref=run_button
                    // A held Enter (the one that picked the snippet, repeating) is not a yes.
                    on:keydown=|ev: KeyboardEvent| {
                        if ev.repeat() {
                            ev.prevent_default();
                        }
                    }
                    on:click=move |_| finish(rendered.clone(), run)
                >
                    {if run { "Run" } else { "Type" }}
                </button>
            </div>
        </div>
    }
}
