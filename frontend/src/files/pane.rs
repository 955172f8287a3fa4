//! One pane: server picker, breadcrumb, toolbar, the listing (which is also the drop zone for
//! uploads), a status line, and the keyboard:
//! Enter opens, Backspace goes up, Delete deletes, F2 renames, F5 copies and F6 moves the
//! selection to the other pane, arrows (with Shift) move (and extend), Ctrl+A selects all.

use std::collections::HashSet;

use leptos::ev::{DragEvent, KeyboardEvent, MouseEvent};
use leptos::html::Input;
use leptos::prelude::*;

use super::actions::{self, Action};
use super::icons::folder_icon;
use super::list::{move_cursor, FileList};
use super::paths::{crumbs, human_size, parent};
use super::{menu, upload, use_files, PaneState, Side};

#[component]
pub fn Pane(side: Side) -> impl IntoView {
    let files = use_files();
    let pane = files.pane(side);
    let session = files.session;
    let is_active = move || files.active.get() == side;
    let read_only = move || files.read_only(side);
    let drag_over = RwSignal::new(false);
    let has_dir = move || pane.server_id.get().is_some() && !pane.path.with(String::is_empty);

    let servers = move || {
        files.servers.list.with(|list| {
            let mut usable: Vec<_> = list
                .iter()
                .filter(|s| s.sftp_enabled)
                .map(|s| (s.id, s.name.clone(), s.sftp_read_only))
                .collect();
            usable.sort_by_key(|(_, name, _)| name.to_lowercase());
            usable
        })
    };

    let on_keydown = move |ev: KeyboardEvent| {
        let ctrl = ev.ctrl_key() || ev.meta_key();
        let key = ev.key();
        let action = match key.as_str() {
            "Delete" => Some(Action::Delete),
            "F2" => Some(Action::Rename),
            "F5" => Some(Action::CopyToOther),
            "F6" => Some(Action::MoveToOther),
            _ => None,
        };
        if let Some(action) = action {
            ev.prevent_default();
            actions::run(files, side, action);
            return;
        }
        let handled = match key.as_str() {
            "Enter" => {
                let cursor = pane.cursor.get_untracked();
                let entry = pane.rows.with_untracked(|rows| {
                    rows.iter()
                        .find(|e| Some(&e.path) == cursor.as_ref())
                        .cloned()
                });
                if let Some(entry) = entry {
                    actions::open(files, side, &entry);
                }
                true
            }
            "Backspace" => {
                go_up(pane, files.session);
                true
            }
            "ArrowDown" => {
                move_cursor(pane, 1, ev.shift_key());
                true
            }
            "ArrowUp" => {
                move_cursor(pane, -1, ev.shift_key());
                true
            }
            "Home" => {
                move_cursor(pane, isize::MIN / 2, ev.shift_key());
                true
            }
            "End" => {
                move_cursor(pane, isize::MAX / 2, ev.shift_key());
                true
            }
            "a" | "A" if ctrl => {
                let all: HashSet<String> = pane
                    .rows
                    .with_untracked(|rows| rows.iter().map(|e| e.path.clone()).collect());
                pane.selected.set(all);
                true
            }
            "Escape" => {
                pane.selected.set(HashSet::new());
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    };

    // Drops: only files from outside the page are accepted.
    let carries_files = |ev: &DragEvent| {
        ev.data_transfer().is_some_and(|dt| {
            let types = dt.types();
            types
                .iter()
                .any(|t| t.as_string().as_deref() == Some("Files"))
        })
    };
    let on_dragover = move |ev: DragEvent| {
        if carries_files(&ev) {
            ev.prevent_default();
            if let Some(dt) = ev.data_transfer() {
                dt.set_drop_effect(if read_only() { "none" } else { "copy" });
            }
            drag_over.set(true);
        }
    };
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        drag_over.set(false);
        files.active.set(side);
        if let Some(dt) = ev.data_transfer() {
            upload::from_drop(files, side, dt);
        }
    };
    let on_context = move |ev: MouseEvent| {
        ev.prevent_default();
        files.active.set(side);
        if pane.server_id.get_untracked().is_some() {
            files.menu.set(Some(menu::MenuAt {
                side,
                x: ev.client_x(),
                y: ev.client_y(),
                on_entry: false,
            }));
        }
    };

    let upload_input = NodeRef::<Input>::new();
    let folder_input = NodeRef::<Input>::new();
    // `webkitdirectory` is not a property leptos knows; set it once the input exists.
    folder_input.on_load(|el| {
        let _ = el.set_attribute("webkitdirectory", "");
    });

    view! {
        <section
            class="file-pane"
            class=("active", is_active)
            data-testid="file-pane"
            data-side=side.as_str()
            on:focusin=move |_| files.active.set(side)
        >
            <header class="pane-head">
                <select
                    class="pane-server"
                    data-testid="pane-server"
                    aria-label="Server"
                    prop:value=move || pane.server_id.get().map(|id| id.to_string()).unwrap_or_default()
                    on:change=move |ev| {
                        let id = event_target_value(&ev).parse::<i32>().ok();
                        pane.set_server(id, session);
                    }
                >
                    <option value="">"Pick a server…"</option>
                    {move || servers().into_iter().map(|(id, name, ro)| {
                        let label = if ro { format!("{name} (read-only)") } else { name };
                        view! {
                            <option value=id.to_string() prop:selected=move || pane.server_id.get() == Some(id)>
                                {label}
                            </option>
                        }
                    }).collect_view()}
                </select>
                <Breadcrumb pane/>
            </header>
            <div class="pane-toolbar">
                <button class="icon-button" title="Up (Backspace)" data-testid="pane-up"
                    disabled=move || !has_dir()
                    on:click=move |_| go_up(pane, session)>"↑"</button>
                <button class="icon-button" title="Refresh" data-testid="pane-refresh"
                    disabled=move || !has_dir()
                    on:click=move |_| pane.refresh(session)>"⟳"</button>
                <button class="button small" data-testid="new-folder"
                    disabled=move || !has_dir() || read_only()
                    on:click=move |_| actions::run(files, side, Action::NewFolder)>"+ Folder"</button>
                <button class="button small" data-testid="new-file"
                    disabled=move || !has_dir() || read_only()
                    on:click=move |_| actions::run(files, side, Action::NewFile)>"+ File"</button>
                <button class="button small" data-testid="upload-button"
                    disabled=move || !has_dir() || read_only()
                    on:click=move |_| actions::click_in_pane(side, "upload-input")>"Upload"</button>
                <button class="button small" data-testid="upload-folder-button" title="Upload a folder"
                    disabled=move || !has_dir() || read_only()
                    on:click=move |_| actions::click_in_pane(side, "upload-folder-input")>"Upload folder"</button>
                <input type="file" multiple hidden node_ref=upload_input data-testid="upload-input"
                    on:change=move |_| {
                        if let Some(input) = upload_input.get_untracked() {
                            upload::from_input(files, side, &input);
                        }
                    }/>
                <input type="file" multiple hidden node_ref=folder_input data-testid="upload-folder-input"
                    on:change=move |_| {
                        if let Some(input) = folder_input.get_untracked() {
                            upload::from_input(files, side, &input);
                        }
                    }/>
                <label class="check small" title="Show hidden files">
                    <input type="checkbox" data-testid="toggle-hidden"
                        prop:checked=move || pane.show_hidden.get()
                        on:change=move |ev| pane.show_hidden.set(event_target_checked(&ev))/>
                    "Hidden"
                </label>
                <input class="pane-filter" type="search" placeholder="Filter" aria-label="Filter files"
                    data-testid="pane-filter"
                    prop:value=move || pane.filter.get()
                    on:input=move |ev| pane.filter.set(event_target_value(&ev))/>
            </div>
            <div
                class="pane-body"
                class=("drag-over", move || drag_over.get())
                tabindex="0"
                data-testid="pane-drop"
                on:keydown=on_keydown
                on:dragenter=on_dragover
                on:dragover=on_dragover
                on:dragleave=move |_| drag_over.set(false)
                on:drop=on_drop
                on:contextmenu=on_context
                on:click=move |ev: MouseEvent| {
                    // A click on the empty part of the pane clears the selection.
                    if ev.target() == ev.current_target() {
                        pane.selected.set(HashSet::new());
                    }
                }
            >
                {move || {
                    if pane.server_id.get().is_none() {
                        view! {
                            <div class="empty-state" data-testid="pane-empty">
                                <div class="empty-icon">{folder_icon()}</div>
                                <p>"Pick a server to browse its files."</p>
                            </div>
                        }.into_any()
                    } else if let Some(err) = pane.error.get().filter(|_| pane.entries.with(Vec::is_empty)) {
                        view! {
                            <div class="empty-state" data-testid="pane-error">
                                <p>{err}</p>
                            </div>
                        }.into_any()
                    } else {
                        view! { <FileList pane/> }.into_any()
                    }
                }}
                <Show when=move || drag_over.get()>
                    <div class="drop-hint">{move || if read_only() { "Read-only server" } else { "Drop to upload here" }}</div>
                </Show>
            </div>
            <footer class="pane-status small muted" data-testid="pane-status">
                <Show when=move || pane.loading.get()>
                    <span class="spinner" aria-label="Loading"></span>
                </Show>
                <span>{move || status_line(pane)}</span>
                <span class="grow"></span>
                <Show when=read_only>
                    <span class="badge badge-warn" data-testid="read-only-badge">"read-only"</span>
                </Show>
            </footer>
        </section>
    }
}

fn go_up(pane: PaneState, session: crate::app::Session) {
    let path = pane.path.get_untracked();
    if !path.is_empty() && path != "/" {
        pane.load(parent(&path), session);
    }
}

fn status_line(pane: PaneState) -> String {
    let (count, hidden) = pane.entries.with(|e| {
        let hidden = e.iter().filter(|e| e.name.starts_with('.')).count();
        (e.len(), hidden)
    });
    let shown = pane.rows.with(Vec::len);
    let selected = pane.selected.with(HashSet::len);
    let mut line = format!("{shown} of {count} items");
    if !pane.show_hidden.get() && hidden > 0 {
        line.push_str(&format!(" ({hidden} hidden)"));
    }
    if selected > 0 {
        let bytes: u64 = pane.selected.with(|sel| {
            pane.rows.with(|rows| {
                rows.iter()
                    .filter(|e| sel.contains(&e.path))
                    .map(|e| e.size)
                    .sum()
            })
        });
        line.push_str(&format!(" · {selected} selected ({})", human_size(bytes)));
    }
    line
}

#[component]
fn Breadcrumb(pane: PaneState) -> impl IntoView {
    let files = use_files();
    let editing = RwSignal::new(false);
    let typed = RwSignal::new(String::new());
    let go = move |path: String| pane.load(path, files.session);
    let input = NodeRef::<Input>::new();
    input.on_load(|el| {
        request_animation_frame(move || {
            let _ = el.focus();
            el.select();
        })
    });
    view! {
        <nav class="breadcrumb" data-testid="breadcrumb" aria-label="Path">
            <Show
                when=move || editing.get()
                fallback=move || view! {
                    {move || crumbs(&pane.path.get()).into_iter().map(|(label, path)| {
                        let target = path.clone();
                        view! {
                            <button class="crumb" data-testid="crumb" data-path=path on:click=move |_| go(target.clone())>
                                {label}
                            </button>
                        }
                    }).collect_view()}
                    <button class="icon-button crumb-edit" title="Go to a path" data-testid="edit-path"
                        disabled=move || pane.server_id.get().is_none()
                        on:click=move |_| {
                            typed.set(pane.path.get_untracked());
                            editing.set(true);
                        }>"✎"</button>
                }
            >
                <input
                    node_ref=input
                    class="path-input mono"
                    data-testid="path-input"
                    aria-label="Path"
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                    on:blur=move |_| editing.set(false)
                    on:keydown=move |ev: KeyboardEvent| match ev.key().as_str() {
                        "Enter" => {
                            editing.set(false);
                            go(typed.get_untracked().trim().to_owned());
                        }
                        "Escape" => editing.set(false),
                        _ => {}
                    }
                />
            </Show>
        </nav>
    }
}
