//! The "Host key" part of the server form (admins): the pinned key with its date and a clear
//! button, or, under the strict policy, the key awaiting approval with its fingerprint and an
//! approve button. Reloads whenever `version` changes (after a connection test, which may have
//! pinned a key or held one for approval).

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::servers::HostKeyView;

use super::use_servers;
use crate::api;
use crate::app::use_session;

#[component]
pub fn HostKeyPanel(server_id: i32, version: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let store = use_servers();
    let key = RwSignal::new(None::<HostKeyView>);
    let confirm_clear = RwSignal::new(false);
    let busy = RwSignal::new(false);

    // Keeps the sidebar's copy of the server in step with what the panel shows.
    let publish = move |view: &HostKeyView| {
        let pinned = view.pinned.as_ref().map(|k| k.fingerprint.clone());
        let pending = view.pending.as_ref().map(|k| k.fingerprint.clone());
        let _ = store.list.try_update(|list| {
            if let Some(s) = list.iter_mut().find(|s| s.id == server_id) {
                s.host_key_fingerprint = pinned;
                s.host_key_pending = pending;
            }
        });
    };
    Effect::new(move |_| {
        version.track();
        spawn_local(async move {
            if let Ok(view) = api::host_key(server_id).await {
                publish(&view);
                let _ = key.try_set(Some(view));
            }
        });
    });

    let clear = move |_| {
        if !confirm_clear.get_untracked() {
            confirm_clear.set(true);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::clear_host_key(server_id).await {
                Ok(()) => {
                    session
                        .toasts
                        .success("Host key cleared: the next connection presents a new one");
                    let _ = confirm_clear.try_set(false);
                    version.update(|v| *v += 1);
                }
                Err(err) => session.fail("Host key not cleared", &err),
            }
            let _ = busy.try_set(false);
        });
    };
    let approve = move |fingerprint: String| {
        busy.set(true);
        spawn_local(async move {
            match api::approve_host_key(server_id, fingerprint).await {
                Ok(view) => {
                    session.toasts.success("Host key approved and pinned");
                    publish(&view);
                    let _ = key.try_set(Some(view));
                }
                Err(err) => {
                    session.fail("Host key not approved", &err);
                    version.update(|v| *v += 1);
                }
            }
            let _ = busy.try_set(false);
        });
    };

    view! {
        <div class="host-key" data-testid="host-key">
            {move || {
                let Some(view) = key.get() else {
                    return view! { <span class="muted small">"Loading…"</span> }.into_any();
                };
                let strict = view.policy == "strict";
                match (view.pinned, view.pending) {
                    (Some(pinned), _) => view! {
                        <code class="fingerprint" data-testid="host-key-fingerprint"
                            title=pinned.openssh.clone()>{pinned.fingerprint.clone()}</code>
                        <span class="muted small">{pinned.at.map(|at| format!("pinned {}", short_time(&at)))}</span>
                        <button type="button" class="button small danger-outline"
                            data-testid="clear-host-key"
                            disabled=move || busy.get()
                            on:click=clear>
                            {move || if confirm_clear.get() { "Really clear it?" } else { "Clear host key" }}
                        </button>
                    }.into_any(),
                    (None, Some(pending)) => {
                        let fingerprint = pending.fingerprint.clone();
                        view! {
                            <div class="pending-key" data-testid="host-key-pending">
                                <span class="small">"Awaiting approval — check this fingerprint with the host's owner:"</span>
                                <code class="fingerprint" data-testid="pending-fingerprint">{pending.fingerprint.clone()}</code>
                                <code class="mono small wrap">{pending.openssh.clone()}</code>
                                <span class="muted small">{pending.at.map(|at| format!("presented {}", short_time(&at)))}</span>
                                <button type="button" class="button small primary"
                                    data-testid="approve-host-key"
                                    disabled=move || busy.get()
                                    on:click=move |_| approve(fingerprint.clone())>
                                    "Approve and pin"
                                </button>
                            </div>
                        }.into_any()
                    }
                    (None, None) if strict => view! {
                        <span class="muted small">"Not pinned. Strict policy: test the connection, then approve the key the host presents."</span>
                    }.into_any(),
                    (None, None) => view! {
                        <span class="muted small">"Not pinned yet: the next connection pins the key the host presents."</span>
                    }.into_any(),
                }
            }}
        </div>
    }
}

/// `2026-11-22T14:26:21.07+00:00` → `2026-11-22 14:26`.
fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
}
