//! A tab's link to its gateway session: the current WebSocket, and a new one when it drops.
//!
//! The first socket opens the session (`/api/ws/terminal/{server_id}`) or, for a tab restored
//! after a page reload, attaches to it (the replay then fills the fresh xterm). When a socket
//! drops although the session has not ended (no `exit` or `error` frame came), the tab shows
//! "reconnecting…" and reattaches with backoff, asking only for the output after what it already
//! shows (`?offset=`). It gives up after a few tries, or at once when the gateway no longer lists
//! the session. Binary frames carry terminal bytes both ways; text frames are JSON control.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Uint8Array};
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, MessageEvent, WebSocket};
use wire::terminal::{codes, ClientFrame, ServerFrame};

use super::flow::FlowAcks;
use super::reconnect::{give_up, on_closed};
use super::session::Hooks;
use super::xterm::Terminal;
use super::TabState;
use crate::api;

#[derive(Clone)]
pub struct Link(Rc<RefCell<State>>);

pub(super) struct State {
    pub(super) tab_id: u32,
    pub(super) server_id: i32,
    pub(super) server_name: String,
    pub(super) term: Terminal,
    pub(super) hooks: Hooks,
    pub(super) socket: Option<WebSocket>,
    /// The current socket's event handlers, kept alive as long as it is.
    pub(super) handlers: Vec<Box<dyn Any>>,
    /// xterm's "parsed" callback for flow control; one for the link's life, since xterm may call
    /// it for output of an earlier socket.
    pub(super) on_parsed: Option<Closure<dyn FnMut()>>,
    pub(super) session_id: Option<String>,
    /// The share token of a joined tab: every (re)connect joins with it.
    pub(super) join: Option<String>,
    /// Output stream position this xterm shows everything up to; meaningful once `resumable`
    /// (a restored tab's xterm starts empty, mid-stream, until its first replay).
    pub(super) received: u64,
    pub(super) resumable: bool,
    pub(super) flow: FlowAcks,
    /// The session ended (or the user closed the tab): never reconnect.
    pub(super) over: bool,
    pub(super) attempts: usize,
    pub(super) disposed: bool,
}

impl Link {
    /// Links tab `tab_id` to a new session on `server_id`, or to `session_id` if it has one.
    pub fn start(
        tab_id: u32,
        server_id: i32,
        server_name: String,
        session_id: Option<String>,
        join: Option<String>,
        term: Terminal,
        hooks: Hooks,
    ) -> Link {
        let state = Rc::new(RefCell::new(State {
            tab_id,
            server_id,
            server_name,
            term,
            hooks,
            socket: None,
            handlers: Vec::new(),
            on_parsed: None,
            resumable: session_id.is_none() && join.is_none(),
            session_id,
            join,
            received: 0,
            flow: FlowAcks::default(),
            over: false,
            attempts: 0,
            disposed: false,
        }));
        let weak = Rc::downgrade(&state);
        let on_parsed = Closure::<dyn FnMut()>::new(move || {
            let Some(state) = weak.upgrade() else { return };
            let ack = state.borrow_mut().flow.parsed();
            if let Some(bytes) = ack {
                Link(state).send_control(&ClientFrame::Ack { bytes });
            }
        });
        state.borrow_mut().on_parsed = Some(on_parsed);
        connect(&state);
        Link(state)
    }

    pub fn send_bytes(&self, bytes: &[u8]) {
        if let Some(socket) = self.open_socket() {
            // `send` copies the bytes out of wasm memory before it returns.
            let _ = socket.send_with_u8_array(bytes);
        }
    }

    pub fn send_control(&self, frame: &ClientFrame) {
        if let (Some(socket), Ok(json)) = (self.open_socket(), serde_json::to_string(frame)) {
            let _ = socket.send_with_str(&json);
        }
    }

    fn open_socket(&self) -> Option<WebSocket> {
        let state = self.0.borrow();
        state
            .socket
            .clone()
            .filter(|s| s.ready_state() == WebSocket::OPEN)
    }

    /// The user closed the tab: end the session in the gateway, not just this socket. A joined
    /// tab only leaves (its socket closes when the pane goes): the session is someone else's.
    pub fn end(&self) {
        let (socket, session_id) = {
            let mut state = self.0.borrow_mut();
            state.over = true;
            if state.join.is_some() {
                return;
            }
            (state.socket.clone(), state.session_id.clone())
        };
        let close = serde_json::to_string(&ClientFrame::Close).unwrap_or_default();
        match socket {
            Some(socket) if socket.ready_state() == WebSocket::OPEN => {
                let _ = socket.send_with_str(&close);
            }
            // Still opening (no session id yet): say it once the socket is up. The handler
            // frees itself after its one call.
            Some(socket) if socket.ready_state() == WebSocket::CONNECTING => {
                socket.set_onmessage(None);
                socket.set_onclose(None);
                let target = socket.clone();
                let on_open = Closure::once_into_js(move || {
                    let _ = target.send_with_str(&close);
                    let _ = target.close_with_code(1000);
                });
                socket.set_onopen(Some(on_open.unchecked_ref()));
                self.0.borrow_mut().socket = None;
            }
            _ => {
                if let Some(id) = session_id {
                    spawn_local(async move {
                        let _ = api::close_terminal_session(&id).await;
                    });
                }
            }
        }
    }

    /// Stops listening and closes the socket; a session not ended by `end` only detaches.
    pub fn dispose(&self) {
        let mut state = self.0.borrow_mut();
        state.disposed = true;
        if let Some(socket) = state.socket.take() {
            clear_handlers(&socket);
            let _ = socket.close_with_code(1000);
        }
        state.handlers.clear();
    }
}

fn clear_handlers(socket: &WebSocket) {
    socket.set_onopen(None);
    socket.set_onmessage(None);
    socket.set_onclose(None);
}

/// Opens a socket for the tab: a new session, or an attach to its session.
pub(super) fn connect(this: &Rc<RefCell<State>>) {
    let url = {
        let mut state = this.borrow_mut();
        if state.disposed || state.over {
            return;
        }
        state.flow.reset();
        let (cols, rows) = (state.term.cols(), state.term.rows());
        match (&state.join, &state.session_id) {
            (Some(token), _) => api::terminal_join_url(token),
            (None, Some(id)) => {
                let offset = state.resumable.then_some(state.received);
                api::terminal_attach_url(id, cols, rows, offset)
            }
            (None, None) => api::terminal_ws_url(state.server_id, cols, rows),
        }
    };
    let socket = match WebSocket::new(&url) {
        Ok(socket) => socket,
        Err(_) => {
            let name = this.borrow().server_name.clone();
            give_up(this, TabState::Failed, "The browser refused the WebSocket.");
            this.borrow().hooks.toasts.error(
                format!("Cannot open a terminal on {name}"),
                "The browser refused the WebSocket.",
            );
            return;
        }
    };
    socket.set_binary_type(BinaryType::Arraybuffer);
    let weak = Rc::downgrade(this);

    let on_open = {
        let weak = weak.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(state) = weak.upgrade() {
                Link(state).send_control(&ClientFrame::Ack { bytes: 0 });
            }
        })
    };
    let on_message = {
        let weak = weak.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if let Some(state) = weak.upgrade() {
                on_message(&state, ev.data());
            }
        })
    };
    let on_close = Closure::<dyn FnMut()>::new(move || {
        if let Some(state) = weak.upgrade() {
            on_closed(&state);
        }
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let mut state = this.borrow_mut();
    if let Some(old) = state.socket.replace(socket) {
        clear_handlers(&old);
    }
    state.handlers = vec![Box::new(on_open), Box::new(on_message), Box::new(on_close)];
}

fn on_message(this: &Rc<RefCell<State>>, data: JsValue) {
    if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
        let (term, parsed) = {
            let mut state = this.borrow_mut();
            state.received += u64::from(buffer.byte_length());
            state.flow.written(buffer.byte_length());
            let parsed: Option<js_sys::Function> = state
                .on_parsed
                .as_ref()
                .map(|c| c.as_ref().unchecked_ref::<js_sys::Function>().clone());
            (state.term.clone(), parsed)
        };
        let bytes = Uint8Array::new(buffer);
        match parsed {
            Some(parsed) => term.write_bytes_then(&bytes, &parsed),
            None => term.write_bytes(&bytes),
        }
    } else if let Some(text) = data.as_string() {
        // A frame kind this UI does not know yet is ignored.
        if let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) {
            on_frame(this, frame);
        }
    }
}

fn on_frame(this: &Rc<RefCell<State>>, frame: ServerFrame) {
    let (term, hooks, tab_id, name) = {
        let state = this.borrow();
        let name = state.server_name.clone();
        (state.term.clone(), state.hooks, state.tab_id, name)
    };
    match frame {
        ServerFrame::Session { session_id } => {
            {
                let mut state = this.borrow_mut();
                state.session_id = Some(session_id.clone());
                state.attempts = 0;
            }
            hooks.tabs.set_session(tab_id, session_id);
            hooks.tabs.set_state(tab_id, TabState::Connected);
        }
        ServerFrame::Replay { offset, .. } => {
            let lost = {
                let mut state = this.borrow_mut();
                let lost = state.resumable && offset > state.received;
                state.received = offset;
                state.resumable = true;
                lost
            };
            if lost {
                term.write_str("\r\n\x1b[2m[some output was lost while disconnected]\x1b[0m\r\n");
            }
        }
        // Shown by the joiner banner and the share dialog, not in the terminal.
        ServerFrame::Joined { owner, mode } => hooks.tabs.set_joined(tab_id, owner, mode),
        ServerFrame::Participants { participants } => {
            hooks.tabs.set_participants(tab_id, participants)
        }
        ServerFrame::Skipped { bytes } => {
            this.borrow_mut().received += bytes;
            term.write_str(&format!(
                "\x1b[0m\r\n\x1b[2m[{} of output skipped: this tab fell behind]\x1b[0m\r\n",
                human_bytes(bytes)
            ));
        }
        ServerFrame::Exit { code } => {
            this.borrow_mut().over = true;
            hooks.tabs.set_state(tab_id, TabState::Ended);
            let detail = match code {
                Some(code) => format!("exit code {code}"),
                None => "no exit code".to_owned(),
            };
            term.write_str(&format!("\r\n\x1b[2m[session ended: {detail}]\x1b[0m\r\n"));
            hooks.toasts.info(
                format!("Session on {name} ended"),
                format!("The remote shell exited ({detail})."),
            );
        }
        ServerFrame::Error { code, message } => {
            this.borrow_mut().over = true;
            hooks.tabs.set_state(tab_id, TabState::Failed);
            term.write_str(&format!("\r\n\x1b[31m{message}\x1b[0m\r\n"));
            let title = match code.as_str() {
                codes::HOST_KEY_MISMATCH => format!("Host key of {name} changed"),
                codes::AUTH_FAILED => format!("Authentication to {name} failed"),
                codes::UNREACHABLE => format!("{name} is unreachable"),
                codes::TIMEOUT => format!("Connection to {name} timed out"),
                codes::CREDENTIALS_MISSING => format!("No credentials stored for {name}"),
                codes::SHUTTING_DOWN => "The gateway is shutting down".to_owned(),
                codes::REPLACED => format!("Session on {name} opened elsewhere"),
                codes::IDLE_TIMEOUT => format!("Idle session on {name} ended"),
                codes::SESSION_CLOSED | codes::SESSION_NOT_FOUND => {
                    format!("Session on {name} ended")
                }
                _ => format!("Terminal error on {name}"),
            };
            hooks.toasts.error(title, message);
        }
    }
}

/// `1536` → `1.5 KiB`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
