//! Getting a tab's session back when its socket drops: reattach with backoff while the gateway
//! still lists the session, else stop and say why.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::link::{connect, State};
use super::TabState;
use crate::api;

/// Waits before each reattach attempt; after the last one the tab gives up.
const BACKOFF_MS: [u64; 5] = [300, 1000, 2000, 4000, 8000];

pub(super) fn on_closed(this: &Rc<RefCell<State>>) {
    let (over, established, name) = {
        let state = this.borrow();
        (
            state.over || state.disposed,
            state.session_id.is_some(),
            state.server_name.clone(),
        )
    };
    if over {
        return;
    }
    if established {
        return reconnect_later(this);
    }
    give_up(this, TabState::Failed, "Could not open the terminal.");
    // A refused upgrade shows the browser no status; the session cap is the refusal worth
    // explaining, so look whether it is reached.
    let toasts = this.borrow().hooks.toasts;
    spawn_local(async move {
        let why = match (api::terminal_limits().await, api::terminal_sessions().await) {
            (Ok(limits), Ok(sessions))
                if limits.max_sessions_per_user > 0
                    && sessions.len() as u64 >= limits.max_sessions_per_user =>
            {
                let n = sessions.len();
                let plural = if n == 1 { "" } else { "s" };
                format!(
                    "You already have {n} terminal session{plural}, the most allowed (detached \
                     ones count too). Close a tab first."
                )
            }
            _ => "The gateway closed the connection.".to_owned(),
        };
        toasts.error(format!("Cannot open a terminal on {name}"), why);
    });
}

fn reconnect_later(this: &Rc<RefCell<State>>) {
    let (attempt, tabs, tab_id) = {
        let mut state = this.borrow_mut();
        state.attempts += 1;
        (state.attempts, state.hooks.tabs, state.tab_id)
    };
    let Some(wait) = BACKOFF_MS.get(attempt - 1) else {
        let name = this.borrow().server_name.clone();
        give_up(this, TabState::Ended, "connection lost");
        this.borrow().hooks.toasts.error(
            format!("Lost the connection to {name}"),
            "The gateway could not be reached; the session ends on its own after a while.",
        );
        return;
    };
    tabs.set_state(tab_id, TabState::Reconnecting);
    let weak = Rc::downgrade(this);
    set_timeout(
        move || spawn_local(reattach(weak)),
        Duration::from_millis(*wait),
    );
}

/// One reattach attempt: only if the gateway still lists the session.
async fn reattach(weak: Weak<RefCell<State>>) {
    let Some(id) = weak.upgrade().and_then(|s| s.borrow().session_id.clone()) else {
        return;
    };
    let listed = api::terminal_sessions().await;
    let Some(this) = weak.upgrade() else { return };
    match listed {
        Ok(sessions) if sessions.iter().any(|s| s.session_id == id) => connect(&this),
        Ok(_) => give_up(&this, TabState::Ended, "session ended"),
        Err(e) if e.is_unauthenticated() => give_up(&this, TabState::Ended, "signed out"),
        Err(_) => reconnect_later(&this),
    }
}

/// Stops for good, saying why in the terminal.
pub(super) fn give_up(this: &Rc<RefCell<State>>, tab_state: TabState, why: &str) {
    let (term, tabs, tab_id) = {
        let mut state = this.borrow_mut();
        state.over = true;
        (state.term.clone(), state.hooks.tabs, state.tab_id)
    };
    tabs.set_state(tab_id, tab_state);
    let colour = if tab_state == TabState::Failed {
        "31"
    } else {
        "2"
    };
    term.write_str(&format!("\r\n\x1b[{colour}m[{why}]\x1b[0m\r\n"));
}
