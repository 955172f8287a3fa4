//! The dual-pane file manager (SFTP through the gateway, `/api/files/{server_id}/…`).
//!
//! Each pane shows one directory of one server (`PaneState`); the two panes, the transfers
//! (uploads and pane-to-pane copies), the open dialog, context menu, editor and preview are one
//! `Files` value provided as context by the shell, so everything survives switching to the
//! terminals and back. Plain data lives in signals; the live browser objects (XMLHttpRequests,
//! fetch abort controllers, the CodeMirror instance) sit in per-thread registries keyed by id,
//! the way the terminal module keeps its xterms.
//!
//! Files: `pane.rs` (one pane: server picker, breadcrumb, toolbar, drop zone, keys), `list.rs`
//! (the sortable, filterable, multi-select table), `menu.rs` (context menu), `actions.rs` (what
//! the menu and keys do), `between.rs` (copy/move between panes), `dialog.rs` (ask / prompt
//! modals), `upload.rs`, `transfer.rs` (progress, the streamed copy), `editor.rs` (CodeMirror,
//! loaded on first use), `preview.rs`, `paths.rs` and `icons.rs` (helpers).

mod actions;
mod between;
mod dialog;
pub mod editor;
pub mod icons;
mod list;
mod menu;
mod pane;
pub(crate) mod paths;
mod preview;
mod transfer;
mod upload;

use std::collections::HashSet;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::files::Entry;
use wire::servers::ServerView;

use crate::api;
use crate::app::Session;
use crate::servers::ServerStore;

pub use dialog::Dialogs;
pub use transfer::Transfers;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Left,
    Right,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Size,
    Mtime,
    Mode,
    Owner,
}

/// One pane: a server, a directory on it, and how its listing is shown.
#[derive(Debug, Clone, Copy)]
pub struct PaneState {
    pub side: Side,
    pub server_id: RwSignal<Option<i32>>,
    /// Canonical path of the listed directory (empty until the first listing arrives).
    pub path: RwSignal<String>,
    pub entries: RwSignal<Vec<Entry>>,
    pub loading: RwSignal<bool>,
    /// Why the directory could not be listed (shown in the pane).
    pub error: RwSignal<Option<String>>,
    /// Selected entries, by path.
    pub selected: RwSignal<HashSet<String>>,
    /// Where a shift-click range starts.
    pub anchor: RwSignal<Option<String>>,
    /// The row the keyboard is on.
    pub cursor: RwSignal<Option<String>>,
    /// Sort column and ascending?
    pub sort: RwSignal<(SortKey, bool)>,
    pub show_hidden: RwSignal<bool>,
    pub filter: RwSignal<String>,
    /// The listing after sort, filter and the hidden-file toggle, in display order.
    pub rows: Memo<Vec<Entry>>,
    /// Bumped per request so a slow answer for a directory we already left is dropped.
    generation: StoredValue<u64>,
}

impl PaneState {
    fn new(side: Side) -> Self {
        let entries = RwSignal::new(Vec::<Entry>::new());
        let sort = RwSignal::new((SortKey::Name, true));
        let show_hidden = RwSignal::new(false);
        let filter = RwSignal::new(String::new());
        let rows = Memo::new(move |_| {
            entries.with(|entries| {
                list::visible_rows(entries, sort.get(), show_hidden.get(), &filter.get())
            })
        });
        PaneState {
            side,
            server_id: RwSignal::new(None),
            path: RwSignal::new(String::new()),
            entries,
            loading: RwSignal::new(false),
            error: RwSignal::new(None),
            selected: RwSignal::new(HashSet::new()),
            anchor: RwSignal::new(None),
            cursor: RwSignal::new(None),
            sort,
            show_hidden,
            filter,
            rows,
            generation: StoredValue::new(0),
        }
    }

    /// Lists `path` (empty: the login directory) and shows it when the answer is still wanted.
    pub fn load(self, path: String, session: Session) {
        let Some(server_id) = self.server_id.get_untracked() else {
            return;
        };
        let generation = self.generation.get_value() + 1;
        self.generation.set_value(generation);
        self.loading.set(true);
        spawn_local(async move {
            let result = api::ls(server_id, &path).await;
            if self.generation.try_get_value() != Some(generation) {
                return;
            }
            let _ = self.loading.try_set(false);
            match result {
                Ok(listing) => {
                    let moved = self.path.get_untracked() != listing.path;
                    if moved {
                        self.filter.set(String::new());
                        self.selected.set(HashSet::new());
                        self.anchor.set(None);
                        self.cursor.set(None);
                    } else {
                        // Same directory refreshed: keep the selection of what still exists.
                        let present: HashSet<&str> =
                            listing.entries.iter().map(|e| e.path.as_str()).collect();
                        self.selected
                            .update(|s| s.retain(|p| present.contains(p.as_str())));
                    }
                    self.path.set(listing.path);
                    self.entries.set(listing.entries);
                    self.error.set(None);
                }
                Err(err) => {
                    session.fail("Cannot list the folder", &err);
                    let _ = self.error.try_set(Some(err.message));
                }
            }
        });
    }

    pub fn refresh(self, session: Session) {
        self.load(self.path.get_untracked(), session);
    }

    /// Shows another server, starting in its login directory.
    pub fn set_server(self, server_id: Option<i32>, session: Session) {
        self.server_id.set(server_id);
        self.path.set(String::new());
        self.entries.set(Vec::new());
        self.selected.set(HashSet::new());
        self.error.set(None);
        if server_id.is_some() {
            self.load(String::new(), session);
        }
    }

    /// The selected entries in display order (what actions work on).
    pub fn selection(&self) -> Vec<Entry> {
        let selected = self.selected.get_untracked();
        self.rows
            .get_untracked()
            .into_iter()
            .filter(|e| selected.contains(&e.path))
            .collect()
    }
}

/// Which file the editor has open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditTarget {
    pub server_id: i32,
    pub path: String,
    pub read_only: bool,
}

/// Which file the preview shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewTarget {
    pub server_id: i32,
    pub path: String,
    pub kind: paths::PreviewKind,
}

/// The file manager's state, provided as context by the shell.
#[derive(Debug, Clone, Copy)]
pub struct Files {
    pub left: PaneState,
    pub right: PaneState,
    /// The pane the keyboard and the sidebar's "Files" button act on.
    pub active: RwSignal<Side>,
    pub transfers: Transfers,
    pub dialogs: Dialogs,
    pub menu: RwSignal<Option<menu::MenuAt>>,
    pub editor: RwSignal<Option<EditTarget>>,
    pub preview: RwSignal<Option<PreviewTarget>>,
    pub session: Session,
    pub servers: ServerStore,
}

impl Files {
    pub fn new(session: Session, servers: ServerStore) -> Self {
        Files {
            left: PaneState::new(Side::Left),
            right: PaneState::new(Side::Right),
            active: RwSignal::new(Side::Left),
            transfers: Transfers::new(),
            dialogs: Dialogs::new(),
            menu: RwSignal::new(None),
            editor: RwSignal::new(None),
            preview: RwSignal::new(None),
            session,
            servers,
        }
    }

    pub fn pane(&self, side: Side) -> PaneState {
        match side {
            Side::Left => self.left,
            Side::Right => self.right,
        }
    }

    pub fn server(&self, id: i32) -> Option<ServerView> {
        self.servers
            .list
            .with_untracked(|list| list.iter().find(|s| s.id == id).cloned())
    }

    /// True when the pane's server forbids changes (SFTP read-only policy). A pane without a
    /// server has nothing to change, so it is not "read-only".
    pub fn read_only(&self, side: Side) -> bool {
        let Some(id) = self.pane(side).server_id.get() else {
            return false;
        };
        self.servers.list.with(|list| {
            list.iter()
                .find(|s| s.id == id)
                .is_none_or(|s| s.sftp_read_only)
        })
    }

    /// Relists every pane showing `server_id` (after a change there).
    pub fn refresh_server(&self, server_id: i32) {
        for pane in [self.left, self.right] {
            if pane.server_id.get_untracked() == Some(server_id) {
                pane.refresh(self.session);
            }
        }
    }

    /// Opens `server` in the active pane (the sidebar's "Files" button).
    pub fn open_server(&self, server: &ServerView) {
        let pane = self.pane(self.active.get_untracked());
        pane.set_server(Some(server.id), self.session);
    }
}

pub fn use_files() -> Files {
    expect_context::<Files>()
}

/// The Files view: two panes side by side, the transfers strip, and the overlays.
#[component]
pub fn FilesView() -> impl IntoView {
    view! {
        <div class="files" data-testid="files-view">
            <div class="file-panes">
                <pane::Pane side=Side::Left/>
                <pane::Pane side=Side::Right/>
            </div>
            <transfer::TransferPanel/>
            <menu::ContextMenu/>
            <dialog::DialogHost/>
            <editor::EditorHost/>
            <preview::PreviewHost/>
        </div>
    }
}
