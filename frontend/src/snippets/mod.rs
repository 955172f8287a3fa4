//! Command snippets: the palette (Ctrl+K / Cmd+K in a terminal) that types a snippet into the
//! current tab, and the dialog (user menu → Snippets) where people keep theirs and admins keep
//! the shared ones. The `{param}` grammar is `wire::snippets`, the same code the gateway checks
//! templates with, so the prompts always match what was saved.
//!
//! What reaches the terminal: the rendered command exactly as if typed, line breaks as Enter
//! (`\r`), followed by one Enter so it runs; a snippet picked with Shift+Enter is typed without
//! that last Enter, for editing before running. Trailing line breaks in the template are not
//! doubled: `ls\n` runs once.

mod fuzzy;
mod manage;
mod palette;

pub use manage::SnippetsDialog;
pub use palette::SnippetPalette;

use leptos::prelude::*;
use web_sys::KeyboardEvent;

/// The palette's and the dialog's open state, provided by the shell.
#[derive(Debug, Clone, Copy)]
pub struct Snippets {
    /// `Some(tab)`: the palette is open and types into that terminal tab.
    pub palette: RwSignal<Option<u32>>,
    /// The management dialog.
    pub manage: RwSignal<bool>,
    /// The palette's search text. Here rather than in the palette, so that keys typed between
    /// Ctrl+K and the search box taking focus land in it (`type_ahead`).
    pub query: RwSignal<String>,
}

impl Snippets {
    pub fn new() -> Self {
        Snippets {
            palette: RwSignal::new(None),
            manage: RwSignal::new(false),
            query: RwSignal::new(String::new()),
        }
    }

    /// Opens the palette for terminal tab `tab`.
    pub fn open_palette(&self, tab: u32) {
        // A key handler may outlive the shell by a tick.
        let _ = self.query.try_set(String::new());
        let _ = self.palette.try_set(Some(tab));
    }

    /// Whether the palette is open (untracked: for key handlers).
    pub fn palette_is_open(&self) -> bool {
        self.palette.try_get_untracked().flatten().is_some()
    }
}

impl Default for Snippets {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_snippets() -> Snippets {
    expect_context::<Snippets>()
}

/// Ctrl+K, or Cmd+K on a Mac, and nothing else held. The letter is read from `key` (what the
/// layout types) and, for layouts whose K key types no Latin letter, from the physical key.
pub fn is_palette_key(ev: &KeyboardEvent) -> bool {
    let modifier = (ev.ctrl_key() && !ev.meta_key()) || (ev.meta_key() && !ev.ctrl_key());
    if !modifier || ev.alt_key() || ev.shift_key() {
        return false;
    }
    let key = ev.key();
    if key.len() == 1 && key.is_ascii() {
        key.eq_ignore_ascii_case("k")
    } else {
        ev.code() == "KeyK" && key.chars().count() == 1
    }
}

/// A key pressed in the terminal while the palette is opening: a printable character goes to
/// the palette's search, anything else is dropped.
pub fn type_ahead(snippets: Snippets, ev: &KeyboardEvent) {
    let key = ev.key();
    if ev.type_() == "keydown"
        && key.chars().count() == 1
        && !(ev.ctrl_key() || ev.meta_key() || ev.alt_key())
    {
        let _ = snippets.query.try_update(|q| q.push_str(&key));
    }
}

/// The bytes a rendered command is typed as: line breaks become Enter (`\r`, what the Enter
/// key sends), trailing ones are dropped, and one Enter is added when `run`.
pub fn keystrokes(rendered: &str, run: bool) -> Vec<u8> {
    let text = rendered.replace("\r\n", "\r").replace('\n', "\r");
    let mut out = text.trim_end_matches('\r').as_bytes().to_vec();
    if run {
        out.push(b'\r');
    }
    out
}
