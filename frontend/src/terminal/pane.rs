//! One tab's content: the xterm container and its scrollback find bar.

use leptos::html::{Div, Input};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;

use super::session::{self, Hooks};
use super::share::{JoinBanner, ShareButton};
use super::{use_tabs, Tab, TabState};
use crate::theme::use_theme;
use crate::toast::use_toasts;

#[component]
pub fn TerminalPane(tab: Tab) -> impl IntoView {
    let tabs = use_tabs();
    let toasts = use_toasts();
    let theme = use_theme();
    let tab_id = tab.id;
    let find_open = RwSignal::new(false);
    let host = NodeRef::<Div>::new();
    let is_active = Memo::new(move |_| tabs.active.get() == Some(tab_id));

    let hooks = Hooks {
        tabs,
        toasts,
        find_open,
        snippets: crate::snippets::use_snippets(),
    };
    let target = session::Target {
        server_id: tab.server_id,
        server_name: tab.server_name.clone(),
        session_id: tab.session_id.clone(),
        join: tab.join.clone(),
    };
    host.on_load(move |el| {
        let el: web_sys::HtmlElement = el.unchecked_into();
        session::start(tab_id, target, el, theme.get_untracked(), hooks);
    });
    let reconnecting = Memo::new(move |_| {
        tabs.list.with(|list| {
            list.iter()
                .any(|t| t.id == tab_id && t.state == TabState::Reconnecting)
        })
    });
    on_cleanup(move || session::stop(tab_id));

    // Shown again: refit (the size may have changed while hidden) and take the keyboard.
    Effect::new(move |_| {
        if is_active.get() {
            request_animation_frame(move || {
                session::with(tab_id, |s| {
                    s.fit();
                    s.focus();
                });
            });
        }
    });

    view! {
        <div
            class="terminal-pane"
            class=("is-hidden", move || !is_active.get())
            data-testid="terminal-pane"
            data-active=move || is_active.get().to_string()
        >
            <FindBar tab_id open=find_open/>
            <JoinBanner tab_id/>
            <ShareButton tab_id/>
            <Show when=move || reconnecting.get()>
                <div class="terminal-banner" role="status" data-testid="terminal-reconnecting">
                    "Connection lost — reconnecting…"
                </div>
            </Show>
            <div class="terminal-host" node_ref=host></div>
        </div>
    }
}

/// Scrollback search (Ctrl+Shift+F): Enter finds the next match, Shift+Enter the previous one,
/// Escape closes and returns the keyboard to the terminal.
#[component]
fn FindBar(tab_id: u32, open: RwSignal<bool>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let no_match = RwSignal::new(false);
    let input = NodeRef::<Input>::new();

    Effect::new(move |_| {
        if open.get() {
            request_animation_frame(move || {
                if let Some(input) = input.get_untracked() {
                    let _ = input.focus();
                    input.select();
                }
            });
        }
    });

    let find = move |forward: bool, incremental: bool| {
        let q = query.get_untracked();
        if q.is_empty() {
            session::with(tab_id, |s| s.clear_search());
            no_match.set(false);
            return;
        }
        let found = session::with(tab_id, |s| s.find(&q, forward, incremental)).unwrap_or(false);
        no_match.set(!found);
    };
    let close = move || {
        open.set(false);
        session::with(tab_id, |s| {
            s.clear_search();
            s.focus();
        });
    };

    view! {
        <Show when=move || open.get()>
            <div class="find-bar" data-testid="find-bar" role="search">
                <input
                    node_ref=input
                    type="search"
                    placeholder="Find in scrollback"
                    aria-label="Find in scrollback"
                    data-testid="find-input"
                    class=("no-match", move || no_match.get())
                    prop:value=move || query.get()
                    on:input=move |ev| {
                        query.set(event_target_value(&ev));
                        find(true, true);
                    }
                    on:keydown=move |ev: KeyboardEvent| match ev.key().as_str() {
                        "Enter" => {
                            ev.prevent_default();
                            find(!ev.shift_key(), false);
                        }
                        "Escape" => {
                            ev.prevent_default();
                            close();
                        }
                        _ => {}
                    }
                />
                <Show when=move || no_match.get()>
                    <span class="find-status">"No matches"</span>
                </Show>
                <button class="icon-button" title="Previous match (Shift+Enter)" on:click=move |_| find(false, false)>
                    "↑"
                </button>
                <button class="icon-button" title="Next match (Enter)" on:click=move |_| find(true, false)>
                    "↓"
                </button>
                <button class="icon-button" title="Close (Esc)" on:click=move |_| close()>
                    "×"
                </button>
            </div>
        </Show>
    }
}
