//! The terminal's own shortcuts (Ctrl+Shift+C / V / F); every other key goes to xterm.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::KeyboardEvent;

use super::session::Hooks;
use super::xterm::{self, Terminal};

/// Ctrl+Shift+C / V / F: copy, paste, find. Everything else goes to xterm (whose own defaults,
/// like paste from the context menu, stay intact).
pub fn handle_key(term: &Terminal, ev: &KeyboardEvent, hooks: Hooks) -> bool {
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
