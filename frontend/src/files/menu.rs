//! The right-click menu of a pane: actions on the selection (when opened on a row) and on the
//! folder (always).

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use wire::files::EntryKind;

use super::actions::{self, Action};
use super::paths::{is_dir_like, preview_kind};
use super::{use_files, Side};
use crate::app::close_on_escape;

/// Where the menu is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MenuAt {
    pub side: Side,
    pub x: i32,
    pub y: i32,
    /// Opened on a row (the selection), rather than on the empty part of the pane.
    pub on_entry: bool,
}

/// One line of the menu: `None` is a separator.
type Item = Option<(Action, &'static str, &'static str, bool)>;

#[component]
pub fn ContextMenu() -> impl IntoView {
    let files = use_files();
    move || files.menu.get().map(|at| view! { <MenuBox at/> })
}

#[component]
fn MenuBox(at: MenuAt) -> impl IntoView {
    let files = use_files();
    close_on_escape(move || files.menu.set(None));
    let pane = files.pane(at.side);
    let selection = pane.selection();
    let read_only = files.read_only(at.side);
    let other_ready = {
        let other = files.pane(at.side.other());
        other.server_id.get_untracked().is_some()
            && !other.path.get_untracked().is_empty()
            && !files.read_only(at.side.other())
    };
    let single = selection.len() == 1;
    let single_file = single && !is_dir_like(&selection[0]);
    let previewable = single_file && preview_kind(&selection[0].name).is_some();
    let any = !selection.is_empty();
    let all_real = selection.iter().all(|e| e.kind != EntryKind::Other);

    let mut items: Vec<Item> = Vec::new();
    if at.on_entry && any {
        items.extend([
            Some((Action::Open, "Open", "menu-open", single)),
            Some((Action::Edit, "Edit", "menu-edit", single_file)),
            Some((Action::Preview, "Preview", "menu-preview", previewable)),
            None,
            // A folder or several items come as a ZIP.
            Some((Action::Download, "Download", "menu-download", true)),
            Some((
                Action::DownloadZip,
                "Download as ZIP",
                "menu-download-zip",
                true,
            )),
            None,
            Some((
                Action::Rename,
                "Rename… (F2)",
                "menu-rename",
                single && !read_only,
            )),
            Some((
                Action::Chmod,
                "Permissions…",
                "menu-chmod",
                !read_only && all_real,
            )),
            Some((
                Action::CopyToOther,
                "Copy to other pane (F5)",
                "menu-copy",
                other_ready,
            )),
            Some((
                Action::MoveToOther,
                "Move to other pane (F6)",
                "menu-move",
                other_ready && !read_only,
            )),
            Some((Action::Delete, "Delete… (Del)", "menu-delete", !read_only)),
            None,
        ]);
    }
    items.extend([
        Some((
            Action::NewFolder,
            "New folder…",
            "menu-new-folder",
            !read_only,
        )),
        Some((Action::NewFile, "New file…", "menu-new-file", !read_only)),
        Some((Action::Upload, "Upload files…", "menu-upload", !read_only)),
        Some((Action::Refresh, "Refresh", "menu-refresh", true)),
    ]);

    // Keep the menu on screen: open it up / left of the pointer near the edges.
    let (width, height) = (230, items.len() as i32 * 30);
    let win = window();
    let vw = win
        .inner_width()
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(1280.0) as i32;
    let vh = win
        .inner_height()
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(800.0) as i32;
    let left = at.x.min(vw - width - 8).max(4);
    let top = if at.y + height > vh - 8 {
        (at.y - height).max(4)
    } else {
        at.y
    };
    let side = at.side;

    view! {
        <div
            class="menu-backdrop"
            on:click=move |_| files.menu.set(None)
            on:contextmenu=move |ev: MouseEvent| {
                ev.prevent_default();
                files.menu.set(None);
            }
        ></div>
        <div
            class="menu context-menu"
            role="menu"
            data-testid="context-menu"
            style=format!("left: {left}px; top: {top}px;")
        >
            {items.into_iter().map(|item| match item {
                None => view! { <div class="menu-separator" role="separator"></div> }.into_any(),
                Some((action, label, testid, enabled)) => view! {
                    <button
                        role="menuitem"
                        data-testid=testid
                        disabled=!enabled
                        on:click=move |_| actions::run(files, side, action)
                    >
                        {label}
                    </button>
                }.into_any(),
            }).collect_view()}
        </div>
    }
}
