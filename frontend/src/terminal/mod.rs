//! Terminal tabs: each tab is one gateway terminal session driving one xterm. A new tab opens a
//! session (`/api/ws/terminal/{server_id}`); after a page reload the tabs come back from
//! `GET /api/terminal/sessions` and reattach (`/api/ws/terminal/attach/{id}`), and a socket that
//! drops while the page stays open is reattached by `link.rs`. Closing a tab ends its session;
//! leaving or reloading the page only detaches it.
//!
//! The tab list is plain data in a signal (`Tabs`); the live objects (xterm, socket, observers)
//! are not `Send`, so they live in `session.rs`'s per-thread registry keyed by tab id and are torn
//! down when the tab's pane unmounts.

mod flow;
mod keys;
mod link;
mod options;
mod pane;
mod reconnect;
mod session;
mod share;
mod tabs;
pub mod xterm;

pub use session::{focus, send_input};
pub use tabs::TerminalTabs;

use leptos::prelude::*;
use wire::servers::ServerView;
use wire::terminal::{ParticipantView, SessionView};

/// Where a tab's connection stands; shown as a dot in the tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TabState {
    Connecting,
    Connected,
    /// The socket dropped; the session lives on in the gateway and is being reattached.
    Reconnecting,
    /// The remote shell exited, or the connection closed.
    Ended,
    Failed,
}

impl TabState {
    fn class(self) -> &'static str {
        match self {
            TabState::Connecting => "dot connecting",
            TabState::Connected => "dot connected",
            TabState::Reconnecting => "dot reconnecting",
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
    /// The gateway session, once known: from its `session` frame, or from the list after a
    /// page reload. Never stored in the browser: the list is fetched again after a reload.
    pub session_id: Option<String>,
    /// A joined tab (someone else's session): the share token it joins with (`None`: a watch
    /// or the user's own session). Kept in memory only.
    pub join: Option<String>,
    /// From the `joined` frame: whose session this is and the mode (`"ro"`/`"rw"`).
    pub joined: Option<(String, String)>,
    /// The owner's view of who else is connected (from `participants` frames).
    pub participants: Vec<ParticipantView>,
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
        let id = self.push(server.id, server.name.clone());
        self.active.set(Some(id));
    }

    /// Reopens a tab for each live session not shown yet (after a page reload). The list
    /// arrives asynchronously: if the user signed out meanwhile, the signals are gone and
    /// nothing happens.
    pub fn restore(&self, sessions: Vec<SessionView>) {
        let _ = self.list.try_update(|tabs| {
            for s in sessions {
                let id = self.next_id.try_get_value().unwrap_or(1);
                self.next_id.try_set_value(id + 1);
                if !tabs
                    .iter()
                    .any(|t| t.session_id.as_deref() == Some(s.session_id.as_str()))
                {
                    tabs.push(Tab {
                        id,
                        server_id: s.server_id,
                        title: s.server_name.clone(),
                        server_name: s.server_name,
                        state: TabState::Connecting,
                        session_id: Some(s.session_id),
                        join: None,
                        joined: None,
                        participants: Vec::new(),
                    });
                }
            }
        });
        if self.active.try_get_untracked() == Some(None) {
            let first = self
                .list
                .try_with_untracked(|tabs| tabs.first().map(|t| t.id))
                .flatten();
            let _ = self.active.try_set(first);
        }
    }

    /// Opens a tab joined to someone else's session through a share link, and shows it.
    pub fn join(&self, token: String) {
        let id = self.push(0, "Shared session".to_owned());
        self.update(id, |t| t.join = Some(token));
        self.active.set(Some(id));
    }

    fn push(&self, server_id: i32, server_name: String) -> u32 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.list.update(|tabs| {
            tabs.push(Tab {
                id,
                server_id,
                title: server_name.clone(),
                server_name,
                state: TabState::Connecting,
                session_id: None,
                join: None,
                joined: None,
                participants: Vec::new(),
            })
        });
        id
    }

    /// Closes a tab, ending its session in the gateway, and shows a neighbour.
    pub fn close(&self, id: u32) {
        session::end(id);
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

    fn set_session(&self, id: u32, session_id: String) {
        self.update(id, |t| t.session_id = Some(session_id));
    }

    fn set_joined(&self, id: u32, owner: String, mode: String) {
        self.update(id, |t| {
            t.title = format!("{owner}'s session");
            t.joined = Some((owner, mode));
        });
    }

    fn set_participants(&self, id: u32, participants: Vec<ParticipantView>) {
        self.update(id, |t| t.participants = participants);
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
}

impl Default for Tabs {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_tabs() -> Tabs {
    expect_context::<Tabs>()
}
