//! The server registry as the UI shows it: the sidebar list (everyone) and the add/edit form
//! (admins), both reading one `ServerStore`.

mod form;
mod host_key;
mod import;
mod known_hosts;
mod list;

pub use form::ServerFormDialog;
pub use list::ServerList;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::servers::ServerView;

use crate::api;
use crate::app::Session;

/// What the server form is doing, if it is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormMode {
    New,
    Edit(Box<ServerView>),
}

/// The servers the user may see, provided as context by the shell.
#[derive(Debug, Clone, Copy)]
pub struct ServerStore {
    pub list: RwSignal<Vec<ServerView>>,
    pub loading: RwSignal<bool>,
    pub form: RwSignal<Option<FormMode>>,
}

impl ServerStore {
    pub fn new() -> Self {
        ServerStore {
            list: RwSignal::new(Vec::new()),
            loading: RwSignal::new(true),
            form: RwSignal::new(None),
        }
    }

    pub fn reload(self, session: Session) {
        spawn_local(async move {
            match api::servers().await {
                Ok(servers) => {
                    let _ = self.list.try_set(servers);
                }
                Err(err) => session.fail("Cannot load the servers", &err),
            }
            let _ = self.loading.try_set(false);
        });
    }

    /// Puts a created or updated server in the list.
    fn upsert(&self, server: ServerView) {
        self.list
            .update(|list| match list.iter_mut().find(|s| s.id == server.id) {
                Some(slot) => *slot = server,
                None => list.push(server),
            });
    }

    fn remove(&self, id: i32) {
        self.list.update(|list| list.retain(|s| s.id != id));
    }
}

impl Default for ServerStore {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_servers() -> ServerStore {
    expect_context::<ServerStore>()
}
