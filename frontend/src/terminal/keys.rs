//! The terminal's own shortcuts (Ctrl+Shift+C / V / F, and Ctrl+K / Cmd+K for the snippet
//! palette); every other key goes to xterm.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::KeyboardEvent;

use super::session::Hooks;
use super::xterm::{self, Terminal};

/// Ctrl+Shift+C / V / F: copy, paste, find. Everything else goes to xterm (whose own defaults,
/// like paste from the context menu, stay intact).
pub fn handle_key(term: &Terminal, ev: &KeyboardEvent, hooks: Hooks) -> bool {
    if crate::snippets::is_palette_key(ev) {
        // Every phase (keydown, keypress, keyup) is kept from xterm, or it would send Ctrl+K
        // (kill-line) too; the palette sends it when Ctrl+K is pressed there again.
        if ev.type_() == "keydown" {
            if let Some(tab) = hooks.tabs.active.try_get_untracked().flatten() {
                hooks.snippets.open_palette(tab);
            }
        }
        ev.prevent_default();
        return false;
    }
    if hooks.snippets.palette_is_open() {
        // The palette is open but its search box has not taken the keyboard yet: what is typed
        // meanwhile is meant for it, never for the shell.
        crate::snippets::type_ahead(hooks.snippets, ev);
        ev.prevent_default();
        return false;
    }
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
