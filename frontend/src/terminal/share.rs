//! Sharing a terminal: the owner's Share button and dialog (create a read-only or read-write
//! link with an expiry, copy it, revoke every link, see and kick participants, live from the
//! session's `participants` frames), and the banner a joined tab shows.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::terminal::{ShareView, Sharing};

use super::use_tabs;
use super::xterm::copy_to_clipboard;
use crate::api;
use crate::dialog::Dialog;
use crate::toast::use_toasts;

/// "Watching <owner>'s session (read-only)" or "Shared with you by <owner> — you can type".
#[component]
pub fn JoinBanner(tab_id: u32) -> impl IntoView {
    let tabs = use_tabs();
    let joined = Memo::new(move |_| {
        tabs.list.with(|l| {
            l.iter()
                .find(|t| t.id == tab_id)
                .and_then(|t| t.joined.clone())
        })
    });
    move || {
        joined.get().map(|(owner, mode)| {
            let text = if mode == "rw" {
                format!("Shared with you by {owner} — you can type")
            } else {
                format!("Watching {owner}'s session (read-only)")
            };
            view! {
                <div class="terminal-banner" role="status" data-testid="join-banner" data-mode=mode>
                    {text}
                </div>
            }
        })
    }
}

/// Shown on the user's own session tabs once the session is known.
#[component]
pub fn ShareButton(tab_id: u32) -> impl IntoView {
    let tabs = use_tabs();
    let open = RwSignal::new(false);
    let session_id = Memo::new(move |_| {
        tabs.list.with(|l| {
            l.iter()
                .find(|t| t.id == tab_id && t.join.is_none() && t.joined.is_none())
                .and_then(|t| t.session_id.clone())
        })
    });
    view! {
        <Show when=move || session_id.get().is_some()>
            <button
                class="share-button"
                title="Share this terminal"
                data-testid="share-button"
                on:click=move |_| open.set(true)
            >
                "Share"
            </button>
        </Show>
        <Show when=move || open.get()>
            {move || session_id.get().map(|id| view! { <ShareDialog tab_id session_id=id open/> })}
        </Show>
    }
}

#[component]
fn ShareDialog(tab_id: u32, session_id: String, open: RwSignal<bool>) -> impl IntoView {
    let tabs = use_tabs();
    let toasts = use_toasts();
    let close = Callback::new(move |()| open.set(false));
    let mode = RwSignal::new("ro".to_owned());
    let expiry = RwSignal::new("3600".to_owned());
    let link = RwSignal::new(None::<String>);
    let shares = RwSignal::new(Vec::<ShareView>::new());
    let sid = StoredValue::new(session_id);
    let participants = Memo::new(move |_| {
        tabs.list.with(|l| {
            l.iter()
                .find(|t| t.id == tab_id)
                .map(|t| t.participants.clone())
                .unwrap_or_default()
        })
    });

    let reload = move || {
        let id = sid.get_value();
        spawn_local(async move {
            if let Ok(Sharing {
                shares: s,
                participants: p,
            }) = api::sharing(&id).await
            {
                let _ = shares.try_set(s);
                tabs.set_participants(tab_id, p);
            }
        });
    };
    reload();
    let create = move |_| {
        let id = sid.get_value();
        let (m, secs) = (mode.get_untracked(), expiry.get_untracked());
        spawn_local(async move {
            match api::create_share(&id, &m, secs.parse().unwrap_or(3600)).await {
                Ok(created) => {
                    let origin = web_sys::window()
                        .and_then(|w| w.location().origin().ok())
                        .unwrap_or_default();
                    let _ = link.try_set(Some(format!("{origin}{}", created.url)));
                    reload();
                }
                Err(e) => toasts.error("Cannot share the session", e.message),
            }
        });
    };
    let copy = move |_| {
        if let Some(url) = link.get_untracked() {
            spawn_local(async move {
                if copy_to_clipboard(&url).await.is_ok() {
                    toasts.info("Link copied", "Send it to whoever should join.");
                }
            });
        }
    };
    let revoke = move |_| {
        let id = sid.get_value();
        spawn_local(async move {
            match api::revoke_shares(&id).await {
                Ok(()) => {
                    let _ = link.try_set(None);
                    reload();
                }
                Err(e) => toasts.error("Cannot revoke the links", e.message),
            }
        });
    };
    let kick = move |pid: String| {
        let id = sid.get_value();
        spawn_local(async move {
            if let Err(e) = api::kick_participant(&id, &pid).await {
                toasts.error("Cannot remove the participant", e.message);
            }
        });
    };

    view! {
        <Dialog name="share" title="Share this terminal" on_close=close>
            <div class="share-form">
                <select data-testid="share-mode" on:change=move |ev| mode.set(event_target_value(&ev))>
                    <option value="ro" selected>"Read-only"</option>
                    <option value="rw">"Read-write"</option>
                </select>
                <select data-testid="share-expiry" on:change=move |ev| expiry.set(event_target_value(&ev))>
                    <option value="900">"15 minutes"</option>
                    <option value="3600" selected>"1 hour"</option>
                    <option value="28800">"8 hours"</option>
                    <option value="86400">"1 day"</option>
                    <option value="604800">"7 days"</option>
                </select>
                <button class="button primary" data-testid="share-create" on:click=create>"Create link"</button>
            </div>
            {move || link.get().map(|url| view! {
                <div class="share-link">
                    <input readonly data-testid="share-link" prop:value=url/>
                    <button class="button" data-testid="share-copy" on:click=copy>"Copy"</button>
                </div>
            })}
            <h3>"Active links"</h3>
            <ul data-testid="share-list">
                <For each=move || shares.get() key=|s| s.id.clone() let:s>
                    <li data-testid="share-item">{format!("{} · until {}", s.mode, short_time(&s.expires_at))}</li>
                </For>
            </ul>
            <button class="button small danger-outline" data-testid="share-revoke" on:click=revoke>"Revoke all"</button>
            <h3>"Participants"</h3>
            <ul data-testid="participants">
                <For each=move || participants.get() key=|p| p.id.clone() let:p>
                    {
                        let pid = p.id.clone();
                        view! {
                            <li data-testid="participant" data-username=p.username.clone()>
                                {format!("{} ({}) since {}", p.username, p.mode, short_time(&p.since))}
                                <button class="button small danger-outline" data-testid="participant-kick" on:click=move |_| kick(pid.clone())>
                                    "Kick"
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </Dialog>
    }
}

/// "2026-11-22T16:39:00.43+00:00" → "2026-11-22 16:39 UTC".
fn short_time(rfc3339: &str) -> String {
    match rfc3339.get(..16) {
        Some(t) => format!("{} UTC", t.replace('T', " ")),
        None => rfc3339.to_owned(),
    }
}
