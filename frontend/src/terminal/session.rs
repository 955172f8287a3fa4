//! One live terminal: an xterm bound to its gateway session through a `Link` (`link.rs`).
//!
//! Received bytes go to xterm as a `Uint8Array` without a trip through wasm memory; keystrokes go
//! out as UTF-8 bytes; xterm's size changes go out as `resize` frames.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::Reflect;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent, ResizeObserver};
use wire::terminal::ClientFrame;

use super::keys::handle_key;
use super::link::Link;
use super::options::{search_options, terminal_options, theme_object};
use super::xterm::{Disposable, FitAddon, SearchAddon, Terminal, WebLinksAddon};
use super::Tabs;
use crate::theme::Theme;
use crate::toast::Toasts;

thread_local! {
    static SESSIONS: RefCell<HashMap<u32, TerminalSession>> = RefCell::new(HashMap::new());
}

/// What a session reports back to the UI.
#[derive(Clone, Copy)]
pub struct Hooks {
    pub tabs: Tabs,
    pub toasts: Toasts,
    /// Opens the pane's find bar (Ctrl+Shift+F).
    pub find_open: RwSignal<bool>,
    /// Opens the snippet palette (Ctrl+K / Cmd+K).
    pub snippets: crate::snippets::Snippets,
}

pub struct TerminalSession {
    term: Terminal,
    fit: FitAddon,
    search: SearchAddon,
    link: Link,
    observer: Option<ResizeObserver>,
    listeners: Vec<Disposable>,
    /// Keeps the Rust closures JS calls alive as long as the session.
    _closures: Vec<Box<dyn Any>>,
}

/// Where a tab's terminal connects: its server, and its session once it has one.
pub struct Target {
    pub server_id: i32,
    pub server_name: String,
    pub session_id: Option<String>,
    /// A share token: the tab joins someone else's session with it.
    pub join: Option<String>,
}

/// Starts the terminal for tab `tab_id` inside `host`.
pub fn start(tab_id: u32, target: Target, host: HtmlElement, theme: Theme, hooks: Hooks) {
    let term = Terminal::new(&terminal_options(theme));
    let fit = FitAddon::new();
    let search = SearchAddon::new();
    term.load_addon(&fit);
    term.load_addon(&search);
    term.load_addon(&WebLinksAddon::new());
    term.open(&host);
    fit.fit();

    let link = Link::start(
        tab_id,
        target.server_id,
        target.server_name,
        target.session_id,
        target.join,
        term.clone(),
        hooks,
    );
    let mut closures: Vec<Box<dyn Any>> = Vec::new();
    let mut listeners = Vec::new();

    // Terminal → server.
    let on_data = {
        let link = link.clone();
        Closure::<dyn FnMut(String)>::new(move |data: String| link.send_bytes(data.as_bytes()))
    };
    listeners.push(term.on_data(&on_data));
    closures.push(Box::new(on_data));

    let on_binary = {
        let link = link.clone();
        Closure::<dyn FnMut(String)>::new(move |data: String| {
            // xterm hands binary input as a string of code points 0–255, one per byte.
            let bytes: Vec<u8> = data.chars().map(|c| c as u32 as u8).collect();
            link.send_bytes(&bytes);
        })
    };
    listeners.push(term.on_binary(&on_binary));
    closures.push(Box::new(on_binary));

    let on_resize = {
        let link = link.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |size: JsValue| {
            let dim = |key: &str| {
                Reflect::get(&size, &key.into())
                    .ok()
                    .and_then(|v| v.as_f64())
                    .map(|v| v as u16)
            };
            if let (Some(cols), Some(rows)) = (dim("cols"), dim("rows")) {
                link.send_control(&ClientFrame::Resize { cols, rows });
            }
        })
    };
    listeners.push(term.on_resize(&on_resize));
    closures.push(Box::new(on_resize));

    let on_title =
        Closure::<dyn FnMut(String)>::new(move |title: String| hooks.tabs.set_title(tab_id, title));
    listeners.push(term.on_title_change(&on_title));
    closures.push(Box::new(on_title));

    let on_key = {
        let term = term.clone();
        Closure::<dyn FnMut(KeyboardEvent) -> bool>::new(move |ev: KeyboardEvent| {
            handle_key(&term, &ev, hooks)
        })
    };
    term.attach_custom_key_event_handler(&on_key);
    closures.push(Box::new(on_key));

    // Refit whenever the container changes size (window resize, sidebar, tab shown again);
    // xterm's onResize then tells the server.
    let on_container_resize = {
        let fit = fit.clone();
        Closure::<dyn FnMut()>::new(move || {
            let fit = fit.clone();
            request_animation_frame(move || fit.fit());
        })
    };
    let observer = ResizeObserver::new(on_container_resize.as_ref().unchecked_ref()).ok();
    if let Some(observer) = &observer {
        observer.observe(&host);
    }
    closures.push(Box::new(on_container_resize));

    let session = TerminalSession {
        term,
        fit,
        search,
        link,
        observer,
        listeners,
        _closures: closures,
    };
    SESSIONS.with(|s| s.borrow_mut().insert(tab_id, session));
}

impl TerminalSession {
    pub fn fit(&self) {
        self.fit.fit();
    }

    pub fn focus(&self) {
        self.term.focus();
    }

    pub fn set_theme(&self, theme: Theme) {
        let _ = Reflect::set(&self.term.options(), &"theme".into(), &theme_object(theme));
    }

    /// Highlights `query` in the scrollback; false when there is no match.
    pub fn find(&self, query: &str, forward: bool, incremental: bool) -> bool {
        let options = search_options(incremental);
        if forward {
            self.search.find_next(query, &options)
        } else {
            self.search.find_previous(query, &options)
        }
    }

    pub fn clear_search(&self) {
        self.search.clear_decorations();
    }
}

impl Drop for TerminalSession {
    fn drop(&mut self) {
        self.link.dispose();
        if let Some(observer) = &self.observer {
            observer.disconnect();
        }
        for listener in &self.listeners {
            listener.dispose();
        }
        self.term.dispose();
    }
}

/// Runs `f` on the live session of a tab, if it has one.
pub fn with<R>(tab_id: u32, f: impl FnOnce(&TerminalSession) -> R) -> Option<R> {
    SESSIONS.with(|s| s.borrow().get(&tab_id).map(f))
}

pub fn for_each(mut f: impl FnMut(&TerminalSession)) {
    SESSIONS.with(|s| s.borrow().values().for_each(&mut f));
}

/// Sends `bytes` to tab `tab_id`'s session as if typed (a snippet); nothing if it is not open.
pub fn send_input(tab_id: u32, bytes: &[u8]) {
    with(tab_id, |s| s.link.send_bytes(bytes));
}

/// Gives tab `tab_id`'s terminal the keyboard.
pub fn focus(tab_id: u32) {
    with(tab_id, |s| s.focus());
}

/// The user closed tab `tab_id`: end its gateway session (not just detach from it).
pub fn end(tab_id: u32) {
    with(tab_id, |s| s.link.end());
}

/// Tears down a tab's terminal: closes the socket (the session detaches unless `end` ran
/// first) and disposes of the xterm.
pub fn stop(tab_id: u32) {
    // Take it out first so the drop (which calls into JS) runs without the registry borrowed.
    let session = SESSIONS.with(|s| s.borrow_mut().remove(&tab_id));
    drop(session);
}
