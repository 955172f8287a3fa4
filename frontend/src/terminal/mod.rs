//! Terminal tabs: each tab is one WebSocket to `/api/ws/terminal/{server_id}` driving one xterm.
//!
//! The tab list is plain data in a signal (`Tabs`); the live objects (xterm, socket, observers)
//! are not `Send`, so they live in `session.rs`'s per-thread registry keyed by tab id and are torn
//! down when the tab's pane unmounts.

mod pane;
mod session;
mod tabs;
pub mod xterm;

pub use tabs::TerminalTabs;

use leptos::prelude::*;
use wire::servers::ServerView;

/// Where a tab's connection stands; shown as a dot in the tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TabState {
    Connecting,
    Connected,
    /// The remote shell exited, or the connection closed.
    Ended,
    Failed,
}

impl TabState {
    fn class(self) -> &'static str {
        match self {
            TabState::Connecting => "dot connecting",
            TabState::Connected => "dot connected",
            TabState::Ended => "dot ended",
            TabState::Failed => "dot failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tab {
    pub id: u32,
    pub server_id: i32,
    pub server_name: String,
    /// Starts as the server name; the remote side may change it with a title escape.
    pub title: String,
    pub state: TabState,
}

/// The open tabs and which one is shown, provided as context by the shell.
#[derive(Debug, Clone, Copy)]
pub struct Tabs {
    pub list: RwSignal<Vec<Tab>>,
    pub active: RwSignal<Option<u32>>,
    next_id: StoredValue<u32>,
}

impl Tabs {
    pub fn new() -> Self {
        Tabs {
            list: RwSignal::new(Vec::new()),
            active: RwSignal::new(None),
            next_id: StoredValue::new(1),
        }
    }

    /// Opens a new terminal on `server` and shows it.
    pub fn open(&self, server: &ServerView) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.list.update(|tabs| {
            tabs.push(Tab {
                id,
                server_id: server.id,
                server_name: server.name.clone(),
                title: server.name.clone(),
                state: TabState::Connecting,
            })
        });
        self.active.set(Some(id));
    }

    /// Closes a tab (its pane's cleanup ends the session) and shows a neighbour.
    pub fn close(&self, id: u32) {
        let mut neighbour = None;
        self.list.update(|tabs| {
            if let Some(pos) = tabs.iter().position(|t| t.id == id) {
                tabs.remove(pos);
                neighbour = tabs.get(pos).or_else(|| tabs.last()).map(|t| t.id);
            }
        });
        if self.active.get_untracked() == Some(id) {
            self.active.set(neighbour);
        }
    }

    fn update(&self, id: u32, f: impl FnOnce(&mut Tab)) {
        // The session's callbacks may outlive the shell by a tick: never panic on a dead signal.
        let _ = self.list.try_update(|tabs| {
            if let Some(tab) = tabs.iter_mut().find(|t| t.id == id) {
                f(tab);
            }
        });
    }

    fn set_state(&self, id: u32, state: TabState) {
        self.update(id, |t| t.state = state);
    }

    fn set_title(&self, id: u32, title: String) {
        self.update(id, |t| {
            t.title = if title.trim().is_empty() {
                t.server_name.clone()
            } else {
                title
            }
        });
    }

    fn state_of(&self, id: u32) -> Option<TabState> {
        self.list
            .try_with_untracked(|tabs| tabs.iter().find(|t| t.id == id).map(|t| t.state))
            .flatten()
    }
}

impl Default for Tabs {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_tabs() -> Tabs {
    expect_context::<Tabs>()
}
