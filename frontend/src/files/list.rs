//! The directory table: sortable columns, hidden files, the filter, and multi-select (click,
//! Ctrl/Cmd-click, Shift-click, arrow keys). Directories always come first.

use std::cmp::Ordering;
use std::collections::HashSet;

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use wire::files::{Entry, EntryKind};

use super::icons::entry_icon;
use super::paths::{human_size, is_dir_like, local_time, mode_string};
use super::{actions, menu, use_files, PaneState, Side, SortKey};

/// The rows to show, in order.
pub fn visible_rows(
    entries: &[Entry],
    (key, ascending): (SortKey, bool),
    show_hidden: bool,
    filter: &str,
) -> Vec<Entry> {
    let filter = filter.trim().to_lowercase();
    let mut rows: Vec<Entry> = entries
        .iter()
        .filter(|e| show_hidden || !e.name.starts_with('.'))
        .filter(|e| filter.is_empty() || e.name.to_lowercase().contains(&filter))
        .cloned()
        .collect();
    rows.sort_by(|a, b| {
        let dirs_first = is_dir_like(b).cmp(&is_dir_like(a));
        let by_name = || natural_name(a).cmp(&natural_name(b));
        let by_key = match key {
            SortKey::Name => Ordering::Equal,
            SortKey::Size => a.size.cmp(&b.size),
            SortKey::Mtime => a.mtime.cmp(&b.mtime),
            SortKey::Mode => (a.mode & 0o7777).cmp(&(b.mode & 0o7777)),
            SortKey::Owner => owner_label(a).cmp(&owner_label(b)),
        }
        .then_with(by_name);
        dirs_first.then(if ascending { by_key } else { by_key.reverse() })
    });
    rows
}

fn natural_name(e: &Entry) -> String {
    e.name.to_lowercase()
}

fn owner_label(e: &Entry) -> String {
    match (&e.owner, e.uid) {
        (Some(name), _) => name.clone(),
        (None, Some(uid)) => uid.to_string(),
        (None, None) => String::new(),
    }
}

/// The paths between `from` and `to` (inclusive) in display order.
fn range(rows: &[Entry], from: &str, to: &str) -> Vec<String> {
    let a = rows.iter().position(|e| e.path == from);
    let b = rows.iter().position(|e| e.path == to);
    match (a, b) {
        (Some(a), Some(b)) => rows[a.min(b)..=a.max(b)]
            .iter()
            .map(|e| e.path.clone())
            .collect(),
        _ => vec![to.to_owned()],
    }
}

/// Applies a click (or an arrow key) on `path` to the pane's selection.
pub fn select(pane: PaneState, path: &str, toggle: bool, extend: bool) {
    let anchor = pane.anchor.get_untracked();
    match (extend, anchor) {
        (true, Some(anchor)) => {
            let span = pane.rows.with_untracked(|rows| range(rows, &anchor, path));
            pane.selected.update(|s| {
                if !toggle {
                    s.clear();
                }
                s.extend(span);
            });
        }
        _ if toggle => {
            pane.selected.update(|s| {
                if !s.remove(path) {
                    s.insert(path.to_owned());
                }
            });
            pane.anchor.set(Some(path.to_owned()));
        }
        _ => {
            pane.selected.set(HashSet::from([path.to_owned()]));
            pane.anchor.set(Some(path.to_owned()));
        }
    }
    pane.cursor.set(Some(path.to_owned()));
}

/// Moves the keyboard cursor `delta` rows (Shift extends the selection).
pub fn move_cursor(pane: PaneState, delta: isize, extend: bool) {
    let next = pane.rows.with_untracked(|rows| {
        if rows.is_empty() {
            return None;
        }
        let current = pane
            .cursor
            .get_untracked()
            .and_then(|c| rows.iter().position(|e| e.path == c));
        let index = match current {
            None if delta < 0 => rows.len() - 1,
            None => 0,
            Some(i) => i.saturating_add_signed(delta).min(rows.len() - 1),
        };
        Some(rows[index].path.clone())
    });
    if let Some(path) = next {
        select(pane, &path, false, extend);
        scroll_into_view(pane.side, &path);
    }
}

fn scroll_into_view(side: Side, path: &str) {
    let selector = format!(
        "[data-testid=file-pane][data-side={}] [data-testid=file-row][data-path=\"{}\"]",
        side.as_str(),
        path.replace('\\', "\\\\").replace('"', "\\\"")
    );
    if let Ok(Some(el)) = document().query_selector(&selector) {
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Nearest);
        el.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

fn kind_str(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Symlink => "symlink",
        EntryKind::Other => "other",
    }
}

#[component]
pub fn FileList(pane: PaneState) -> impl IntoView {
    let header = move |key: SortKey, label: &'static str, class: &'static str| {
        let arrow = move || match pane.sort.get() {
            (k, true) if k == key => " ▲",
            (k, false) if k == key => " ▼",
            _ => "",
        };
        view! {
            <th
                class=class
                data-testid="sort-column"
                data-sort=label.to_lowercase()
                aria-sort=move || match pane.sort.get() {
                    (k, true) if k == key => "ascending",
                    (k, false) if k == key => "descending",
                    _ => "none",
                }
                on:click=move |_| pane.sort.update(|(k, asc)| {
                    if *k == key {
                        *asc = !*asc;
                    } else {
                        *k = key;
                        *asc = true;
                    }
                })
            >
                {label}
                <span class="sort-arrow">{arrow}</span>
            </th>
        }
    };

    view! {
        <table class="file-table">
            <thead>
                <tr>
                    {header(SortKey::Name, "Name", "col-name")}
                    {header(SortKey::Size, "Size", "col-size")}
                    {header(SortKey::Mtime, "Modified", "col-mtime")}
                    {header(SortKey::Mode, "Mode", "col-mode")}
                    {header(SortKey::Owner, "Owner", "col-owner")}
                </tr>
            </thead>
            <tbody>
                <For
                    each=move || pane.rows.get()
                    key=|e| (e.path.clone(), e.mtime, e.size, e.mode, kind_str(e.kind), e.link_target.clone())
                    let:entry
                >
                    <FileRow pane entry/>
                </For>
            </tbody>
        </table>
    }
}

#[component]
fn FileRow(pane: PaneState, entry: Entry) -> impl IntoView {
    let files = use_files();
    let path = entry.path.clone();
    let is_selected = {
        let path = path.clone();
        Memo::new(move |_| pane.selected.with(|s| s.contains(&path)))
    };
    let is_cursor = {
        let path = path.clone();
        move || pane.cursor.with(|c| c.as_deref() == Some(path.as_str()))
    };
    let on_click = {
        let path = path.clone();
        move |ev: MouseEvent| {
            files.active.set(pane.side);
            select(pane, &path, ev.ctrl_key() || ev.meta_key(), ev.shift_key());
        }
    };
    let on_dblclick = {
        let entry = entry.clone();
        move |_| actions::open(files, pane.side, &entry)
    };
    let on_context = {
        let path = path.clone();
        move |ev: MouseEvent| {
            ev.prevent_default();
            ev.stop_propagation();
            files.active.set(pane.side);
            if !is_selected.get_untracked() {
                select(pane, &path, false, false);
            }
            files.menu.set(Some(menu::MenuAt {
                side: pane.side,
                x: ev.client_x(),
                y: ev.client_y(),
                on_entry: true,
            }));
        }
    };
    let owner = match (&entry.owner, &entry.group) {
        (Some(o), Some(g)) => format!("{o}:{g}"),
        (Some(o), None) => o.clone(),
        _ => entry
            .uid
            .map(|u| format!("{u}:{}", entry.gid.unwrap_or_default()))
            .unwrap_or_default(),
    };
    let size = if entry.kind == EntryKind::Dir {
        String::new()
    } else {
        human_size(entry.size)
    };
    let link = entry.link_target.clone();
    let title = match &link {
        Some(target) => format!("{} → {target}", entry.name),
        None => entry.name.clone(),
    };

    view! {
        <tr
            class="file-row"
            class=("selected", move || is_selected.get())
            class=("cursor", is_cursor)
            class=("is-dir", is_dir_like(&entry))
            data-testid="file-row"
            data-name=entry.name.clone()
            data-path=path.clone()
            data-kind=kind_str(entry.kind)
            aria-selected=move || is_selected.get().to_string()
            title=title
            on:click=on_click
            on:dblclick=on_dblclick
            on:contextmenu=on_context
        >
            <td class="col-name">
                <span class="file-icon">{entry_icon(&entry)}</span>
                <span class="file-name" data-testid="file-name">{entry.name.clone()}</span>
                {link.map(|target| view! {
                    <span class="link-target" data-testid="link-target">"→ " {target}</span>
                })}
            </td>
            <td class="col-size">{size}</td>
            <td class="col-mtime">{local_time(entry.mtime)}</td>
            <td class="col-mode mono" title=format!("{:04o}", entry.mode & 0o7777)>{mode_string(entry.mode)}</td>
            <td class="col-owner">{owner}</td>
        </tr>
    }
}
