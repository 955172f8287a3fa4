//! The tab strip and the stack of terminal panes (all mounted; only the active one shown, so
//! switching tabs keeps every session and its scrollback).

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::pane::TerminalPane;
use super::{session, use_tabs, TabState};
use crate::api;
use crate::theme::use_theme;

#[component]
pub fn TerminalTabs() -> impl IntoView {
    let tabs = use_tabs();
    let theme = use_theme();

    // After a page reload, the sessions still alive in the gateway come back as tabs; the list
    // is fetched rather than kept in the browser.
    spawn_local(async move {
        if let Ok(sessions) = api::terminal_sessions().await {
            tabs.restore(sessions);
        }
    });

    // Recolour open terminals when the theme changes.
    Effect::new(move |_| {
        let theme = theme.get();
        session::for_each(|s| s.set_theme(theme));
    });

    view! {
        <div class="terminals">
            <div class="tab-bar" role="tablist" data-testid="tab-bar">
                <For each=move || tabs.list.get() key=|tab| tab.id let:tab>
                    {
                        let id = tab.id;
                        let title = move || {
                            tabs.list.with(|list| {
                                list.iter().find(|t| t.id == id).map(|t| t.title.clone()).unwrap_or_default()
                            })
                        };
                        let state_class = move || {
                            tabs.list.with(|list| {
                                list.iter().find(|t| t.id == id).map(|t| t.state.class()).unwrap_or("dot")
                            })
                        };
                        let is_active = move || tabs.active.get() == Some(id);
                        let reconnecting = move || {
                            tabs.list.with(|list| {
                                list.iter().any(|t| t.id == id && t.state == TabState::Reconnecting)
                            })
                        };
                        view! {
                            <div
                                class="tab"
                                class=("active", is_active)
                                role="tab"
                                aria-selected=move || is_active().to_string()
                                data-testid="terminal-tab"
                                data-session-id=move || {
                                    tabs.list.with(|list| {
                                        list.iter().find(|t| t.id == id).and_then(|t| t.session_id.clone())
                                    })
                                }
                                title=title
                                on:click=move |_| tabs.active.set(Some(id))
                                on:auxclick=move |ev: MouseEvent| {
                                    if ev.button() == 1 {
                                        tabs.close(id);
                                    }
                                }
                            >
                                <span class=state_class></span>
                                <span class="tab-title">{title}</span>
                                <Show when=reconnecting>
                                    <span class="tab-status" data-testid="tab-status">"reconnecting…"</span>
                                </Show>
                                <button
                                    class="tab-close"
                                    title="Close tab"
                                    aria-label="Close tab"
                                    data-testid="close-tab"
                                    on:click=move |ev: MouseEvent| {
                                        ev.stop_propagation();
                                        tabs.close(id);
                                    }
                                >
                                    "×"
                                </button>
                            </div>
                        }
                    }
                </For>
            </div>
            <div class="panes">
                <Show when=move || tabs.list.with(|l| l.is_empty())>
                    <div class="empty-state">
                        <div class="empty-icon">"⌨"</div>
                        <p>"Open a server from the list to start a terminal."</p>
                        <p class="muted small">
                            "Ctrl+Shift+C / Ctrl+Shift+V copy and paste · Ctrl+Shift+F searches the scrollback · Ctrl+K runs a snippet"
                        </p>
                    </div>
                </Show>
                <For each=move || tabs.list.get() key=|tab| tab.id let:tab>
                    <TerminalPane tab/>
                </For>
            </div>
        </div>
    }
}
