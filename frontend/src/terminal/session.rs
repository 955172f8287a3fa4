//! One live terminal: an xterm bound to a terminal WebSocket.
//!
//! Binary frames carry terminal bytes both ways; text frames are JSON control messages
//! (`wire::terminal::ServerFrame` in, `ClientFrame::Resize` out). Received bytes go to xterm as
//! a `Uint8Array` without a trip through wasm memory; keystrokes go out as UTF-8 bytes.

use std::any::Any;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use js_sys::{ArrayBuffer, Reflect, Uint8Array, JSON};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    BinaryType, CloseEvent, HtmlElement, KeyboardEvent, MessageEvent, ResizeObserver, WebSocket,
};
use wire::terminal::{codes, ClientFrame, ServerFrame, ACK_EVERY};

use super::xterm::{self, Disposable, FitAddon, SearchAddon, Terminal, WebLinksAddon};
use super::{TabState, Tabs};
use crate::api;
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
}

pub struct TerminalSession {
    term: Terminal,
    fit: FitAddon,
    search: SearchAddon,
    socket: WebSocket,
    observer: Option<ResizeObserver>,
    listeners: Vec<Disposable>,
    /// Keeps the Rust closures JS calls alive as long as the session.
    _closures: Vec<Box<dyn Any>>,
}

/// Starts the terminal for tab `tab_id` inside `host`.
pub fn start(
    tab_id: u32,
    server_id: i32,
    server_name: String,
    host: HtmlElement,
    theme: Theme,
    hooks: Hooks,
) {
    let term = Terminal::new(&terminal_options(theme));
    let fit = FitAddon::new();
    let search = SearchAddon::new();
    term.load_addon(&fit);
    term.load_addon(&search);
    term.load_addon(&WebLinksAddon::new());
    term.open(&host);
    fit.fit();

    let socket = match WebSocket::new(&api::terminal_ws_url(server_id, term.cols(), term.rows())) {
        Ok(socket) => socket,
        Err(_) => {
            hooks.tabs.set_state(tab_id, TabState::Failed);
            hooks.toasts.error(
                format!("Cannot open a terminal on {server_name}"),
                "The browser refused the WebSocket.",
            );
            term.dispose();
            return;
        }
    };
    socket.set_binary_type(BinaryType::Arraybuffer);

    let mut closures: Vec<Box<dyn Any>> = Vec::new();
    let mut listeners = Vec::new();

    // Flow control: ack output once xterm has parsed it, so the gateway never sends more than
    // its window ahead of what this tab can render (see wire::terminal::ClientFrame::Ack).
    let flow = Rc::new(RefCell::new(FlowAcks::default()));
    let on_parsed = {
        let socket = socket.clone();
        let flow = flow.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(bytes) = flow.borrow_mut().parsed() {
                send_control(&socket, &ClientFrame::Ack { bytes });
            }
        })
    };
    let on_open = {
        let socket = socket.clone();
        Closure::<dyn FnMut()>::new(move || send_control(&socket, &ClientFrame::Ack { bytes: 0 }))
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    closures.push(Box::new(on_open));

    // Server → terminal.
    let on_message = {
        let term = term.clone();
        let name = server_name.clone();
        let on_parsed: js_sys::Function = on_parsed
            .as_ref()
            .unchecked_ref::<js_sys::Function>()
            .clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let data = ev.data();
            if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
                flow.borrow_mut().written(buffer.byte_length());
                term.write_bytes_then(&Uint8Array::new(buffer), &on_parsed);
            } else if let Some(text) = data.as_string() {
                // A frame kind this UI does not know yet is ignored.
                if let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) {
                    on_control_frame(&term, tab_id, &name, frame, hooks);
                }
            }
        })
    };
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    closures.push(Box::new(on_message));
    closures.push(Box::new(on_parsed));

    let on_close = {
        let term = term.clone();
        let name = server_name.clone();
        Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
            match hooks.tabs.state_of(tab_id) {
                Some(TabState::Connecting) => {
                    hooks.tabs.set_state(tab_id, TabState::Failed);
                    term.write_str("\r\n\x1b[31mCould not open the terminal.\x1b[0m\r\n");
                    hooks.toasts.error(
                        format!("Cannot open a terminal on {name}"),
                        format!("The gateway closed the connection (code {}).", ev.code()),
                    );
                }
                Some(TabState::Connected) => {
                    hooks.tabs.set_state(tab_id, TabState::Ended);
                    term.write_str("\r\n\x1b[2m[connection closed]\x1b[0m\r\n");
                    hooks.toasts.info(
                        format!("Connection to {name} closed"),
                        "The terminal is no longer connected.",
                    );
                }
                _ => {}
            }
        })
    };
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    closures.push(Box::new(on_close));

    // Terminal → server.
    let on_data = {
        let socket = socket.clone();
        Closure::<dyn FnMut(String)>::new(move |data: String| send_bytes(&socket, data.as_bytes()))
    };
    listeners.push(term.on_data(&on_data));
    closures.push(Box::new(on_data));

    let on_binary = {
        let socket = socket.clone();
        Closure::<dyn FnMut(String)>::new(move |data: String| {
            // xterm hands binary input as a string of code points 0–255, one per byte.
            let bytes: Vec<u8> = data.chars().map(|c| c as u32 as u8).collect();
            send_bytes(&socket, &bytes);
        })
    };
    listeners.push(term.on_binary(&on_binary));
    closures.push(Box::new(on_binary));

    let on_resize = {
        let socket = socket.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |size: JsValue| {
            let dim = |key: &str| {
                Reflect::get(&size, &key.into())
                    .ok()
                    .and_then(|v| v.as_f64())
                    .map(|v| v as u16)
            };
            if let (Some(cols), Some(rows)) = (dim("cols"), dim("rows")) {
                send_control(&socket, &ClientFrame::Resize { cols, rows });
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
        socket,
        observer,
        listeners,
        _closures: closures,
    };
    SESSIONS.with(|s| s.borrow_mut().insert(tab_id, session));
}

fn on_control_frame(
    term: &Terminal,
    tab_id: u32,
    server_name: &str,
    frame: ServerFrame,
    hooks: Hooks,
) {
    match frame {
        ServerFrame::Session { .. } => hooks.tabs.set_state(tab_id, TabState::Connected),
        ServerFrame::Exit { code } => {
            hooks.tabs.set_state(tab_id, TabState::Ended);
            let detail = match code {
                Some(code) => format!("exit code {code}"),
                None => "no exit code".to_owned(),
            };
            term.write_str(&format!("\r\n\x1b[2m[session ended: {detail}]\x1b[0m\r\n"));
            hooks.toasts.info(
                format!("Session on {server_name} ended"),
                format!("The remote shell exited ({detail})."),
            );
        }
        ServerFrame::Error { code, message } => {
            hooks.tabs.set_state(tab_id, TabState::Failed);
            term.write_str(&format!("\r\n\x1b[31m{message}\x1b[0m\r\n"));
            let title = match code.as_str() {
                codes::HOST_KEY_MISMATCH => format!("Host key of {server_name} changed"),
                codes::AUTH_FAILED => format!("Authentication to {server_name} failed"),
                codes::UNREACHABLE => format!("{server_name} is unreachable"),
                codes::TIMEOUT => format!("Connection to {server_name} timed out"),
                codes::CREDENTIALS_MISSING => format!("No credentials stored for {server_name}"),
                codes::SHUTTING_DOWN => "The gateway is shutting down".to_owned(),
                _ => format!("Terminal error on {server_name}"),
            };
            hooks.toasts.error(title, message);
        }
    }
}

/// Output written to xterm but not yet acknowledged to the gateway. xterm runs write callbacks
/// in write order, so a queue of sizes tells which write each callback completes.
#[derive(Default)]
struct FlowAcks {
    in_parser: VecDeque<u32>,
    unacked: u64,
}

impl FlowAcks {
    fn written(&mut self, len: u32) {
        self.in_parser.push_back(len);
    }

    /// One write was parsed; returns the bytes to ack when enough have accumulated.
    fn parsed(&mut self) -> Option<u64> {
        self.unacked += u64::from(self.in_parser.pop_front().unwrap_or(0));
        (self.unacked >= ACK_EVERY).then(|| std::mem::take(&mut self.unacked))
    }
}

fn send_control(socket: &WebSocket, frame: &ClientFrame) {
    if socket.ready_state() == WebSocket::OPEN {
        if let Ok(json) = serde_json::to_string(frame) {
            let _ = socket.send_with_str(&json);
        }
    }
}

fn send_bytes(socket: &WebSocket, bytes: &[u8]) {
    if socket.ready_state() == WebSocket::OPEN {
        // `send` copies the bytes out of wasm memory before it returns.
        let _ = socket.send_with_u8_array(bytes);
    }
}

/// Ctrl+Shift+C / V / F: copy, paste, find. Everything else goes to xterm (whose own defaults,
/// like paste from the context menu, stay intact).
fn handle_key(term: &Terminal, ev: &KeyboardEvent, hooks: Hooks) -> bool {
    if !(ev.ctrl_key() && ev.shift_key()) || ev.alt_key() || ev.meta_key() {
        return true;
    }
    let keydown = ev.type_() == "keydown";
    match ev.code().as_str() {
        "KeyC" => {
            if keydown && term.has_selection() {
                let text = term.get_selection();
                let toasts = hooks.toasts;
                spawn_local(async move {
                    if xterm::copy_to_clipboard(&text).await.is_err() {
                        toasts.error(
                            "Copy failed",
                            "The browser did not allow access to the clipboard.",
                        );
                    }
                });
            }
        }
        "KeyV" => {
            if keydown {
                let term = term.clone();
                let toasts = hooks.toasts;
                spawn_local(async move {
                    match xterm::read_clipboard().await {
                        Ok(text) if !text.is_empty() => term.paste(&text),
                        Ok(_) => {}
                        Err(_) => toasts.error(
                            "Paste failed",
                            "The browser did not allow access to the clipboard.",
                        ),
                    }
                });
            }
        }
        "KeyF" => {
            if keydown {
                let _ = hooks.find_open.try_set(true);
            }
        }
        _ => return true,
    }
    // Keep the browser from acting on it too (Ctrl+Shift+C opens the inspector in Chromium).
    ev.prevent_default();
    false
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
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close_with_code(1000);
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

/// Ends a tab's session: closes the socket and disposes of the terminal.
pub fn stop(tab_id: u32) {
    // Take it out first so the drop (which calls into JS) runs without the registry borrowed.
    let session = SESSIONS.with(|s| s.borrow_mut().remove(&tab_id));
    drop(session);
}

fn json(value: serde_json::Value) -> JsValue {
    JSON::parse(&value.to_string()).unwrap_or(JsValue::UNDEFINED)
}

fn terminal_options(theme: Theme) -> JsValue {
    let mut options = serde_json::json!({
        "cursorBlink": true,
        "fontFamily": "\"JetBrains Mono\", \"Cascadia Mono\", \"DejaVu Sans Mono\", Menlo, Consolas, monospace",
        "fontSize": 14,
        "scrollback": 10000,
        "allowProposedApi": true,
        "macOptionIsMeta": true,
    });
    options["theme"] = theme_json(theme);
    json(options)
}

fn theme_object(theme: Theme) -> JsValue {
    json(theme_json(theme))
}

/// xterm palettes matching the app's CSS themes; the light one darkens the ANSI colours that
/// would otherwise be unreadable on white (yellow, cyan, bright white).
fn theme_json(theme: Theme) -> serde_json::Value {
    match theme {
        Theme::Dark => serde_json::json!({
            "background": "#0d1117", "foreground": "#d6dbe1", "cursor": "#d6dbe1",
            "cursorAccent": "#0d1117", "selectionBackground": "#3a4a66",
            "black": "#1b1f27", "red": "#f0716c", "green": "#7cc37c", "yellow": "#e0b755",
            "blue": "#6ea8fe", "magenta": "#c98bdb", "cyan": "#5ec4c4", "white": "#c9d1d9",
            "brightBlack": "#6e7681", "brightRed": "#ff938d", "brightGreen": "#9fdc9f",
            "brightYellow": "#f2cf7a", "brightBlue": "#98c1ff", "brightMagenta": "#deaaea",
            "brightCyan": "#86dede", "brightWhite": "#f4f6f8",
        }),
        Theme::Light => serde_json::json!({
            "background": "#fbfbfc", "foreground": "#1f2328", "cursor": "#1f2328",
            "cursorAccent": "#fbfbfc", "selectionBackground": "#b6d3ff",
            "black": "#1f2328", "red": "#c4302b", "green": "#2a7a2a", "yellow": "#8a6100",
            "blue": "#1f5fc4", "magenta": "#8a3fa0", "cyan": "#137a80", "white": "#6e7781",
            "brightBlack": "#57606a", "brightRed": "#d8453f", "brightGreen": "#348c34",
            "brightYellow": "#9c7000", "brightBlue": "#2f6fd6", "brightMagenta": "#9c4db3",
            "brightCyan": "#1a8b91", "brightWhite": "#8c959f",
        }),
    }
}

fn search_options(incremental: bool) -> JsValue {
    json(serde_json::json!({
        "incremental": incremental,
        "caseSensitive": false,
        "decorations": {
            "matchBackground": "#6b5a1e",
            "matchOverviewRuler": "#d1a33a",
            "activeMatchBackground": "#d9822b",
            "activeMatchColorOverviewRuler": "#ff9d3b",
        },
    }))
}
