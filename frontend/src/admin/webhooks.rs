//! Webhooks (admins): list, create and edit (events, enable, a write-only secret), delete, send a
//! test to one hook, and read a hook's delivery log with status codes and retry a failed one.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::webhooks::{
    CreateWebhookRequest, DeliveryState, DeliveryView, UpdateWebhookRequest, WebhookView,
    ALL_EVENTS, EVENTS,
};

use crate::api;
use crate::app::use_session;
use crate::dialog::Dialog;

#[component]
pub fn WebhooksPanel() -> impl IntoView {
    let session = use_session();
    let hooks = RwSignal::new(Vec::<WebhookView>::new());
    let loading = RwSignal::new(true);
    let creating = RwSignal::new(false);
    // A generated secret, shown once after a create.
    let revealed = RwSignal::new(None::<String>);

    spawn_local(async move {
        match api::webhooks().await {
            Ok(list) => {
                let _ = hooks.try_set(list);
            }
            Err(err) => session.fail("Cannot load the webhooks", &err),
        }
        let _ = loading.try_set(false);
    });

    view! {
        <section class="panel" data-testid="webhooks-panel">
            <div class="panel-head">
                <h2>"Webhooks"</h2>
                <button class="button primary small" data-testid="add-webhook" on:click=move |_| creating.set(true)>
                    "+ Add webhook"
                </button>
            </div>
            <p class="muted small">
                "Events are POSTed as JSON, signed with HMAC-SHA256 over "
                <code>"timestamp.body"</code>
                " (headers X-Gatehouse-Timestamp and X-Gatehouse-Signature), and retried with back-off."
            </p>
            <Show when=move || creating.get()>
                <WebhookDialog hook=None hooks open=creating revealed/>
            </Show>
            <Show when=move || revealed.get().is_some()>
                <SecretDialog secret=revealed.get().unwrap_or_default() revealed/>
            </Show>
            <Show when=move || loading.get()>
                <p class="muted">"Loading…"</p>
            </Show>
            <Show when=move || !loading.get() && hooks.with(Vec::is_empty)>
                <p class="muted" data-testid="webhooks-empty">"No webhooks yet."</p>
            </Show>
            <table class="table">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"URL"</th>
                        <th>"Events"</th>
                        <th>"Status"</th>
                        <th class="actions-col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || hooks.get()
                        key=|h| (h.id, h.updated_at.clone(), h.enabled)
                        let:hook
                    >
                        <WebhookRow hook hooks revealed/>
                    </For>
                </tbody>
            </table>
        </section>
    }
}

fn replace(hooks: RwSignal<Vec<WebhookView>>, updated: WebhookView) {
    hooks.update(|list| {
        if let Some(slot) = list.iter_mut().find(|h| h.id == updated.id) {
            *slot = updated;
        }
    });
}

#[component]
fn WebhookRow(
    hook: WebhookView,
    hooks: RwSignal<Vec<WebhookView>>,
    revealed: RwSignal<Option<String>>,
) -> impl IntoView {
    let session = use_session();
    let id = hook.id;
    let enabled = hook.enabled;
    let name = hook.name.clone();
    let busy = RwSignal::new(false);
    let editing = RwSignal::new(false);
    let confirm_delete = RwSignal::new(false);
    let show_log = RwSignal::new(false);
    // Bumped to reload the log (after a test or a retry).
    let log_version = RwSignal::new(0u32);

    let toggle = move |_| {
        busy.set(true);
        let body = UpdateWebhookRequest {
            enabled: Some(!enabled),
            ..Default::default()
        };
        spawn_local(async move {
            match api::update_webhook(id, &body).await {
                Ok(updated) => replace(hooks, updated),
                Err(err) => session.fail("Webhook not changed", &err),
            }
            let _ = busy.try_set(false);
        });
    };
    let test = {
        let name = name.clone();
        move |_| {
            busy.set(true);
            let name = name.clone();
            spawn_local(async move {
                match api::test_webhook(id).await {
                    Ok(d) if d.state == DeliveryState::Delivered => {
                        let code = d.status_code.unwrap_or_default();
                        session
                            .toasts
                            .success(format!("Test sent to {name}: {code}"));
                    }
                    Ok(d) => session.toasts.error(
                        format!("Test to {name} failed"),
                        d.error.unwrap_or_else(|| "no answer".to_owned()),
                    ),
                    Err(err) => session.fail("Test not sent", &err),
                }
                let _ = busy.try_set(false);
                log_version.update(|v| *v += 1);
            });
        }
    };
    let delete = {
        let name = name.clone();
        move |_| {
            if !confirm_delete.get_untracked() {
                confirm_delete.set(true);
                return;
            }
            busy.set(true);
            let name = name.clone();
            spawn_local(async move {
                match api::delete_webhook(id).await {
                    Ok(()) => {
                        session.toasts.success(format!("Deleted {name}"));
                        hooks.update(|list| list.retain(|h| h.id != id));
                    }
                    Err(err) => {
                        session.fail("Webhook not deleted", &err);
                        let _ = busy.try_set(false);
                    }
                }
            });
        }
    };
    let events = if hook.events.iter().any(|e| e == ALL_EVENTS) {
        "All events".to_owned()
    } else {
        hook.events.join(", ")
    };
    let status = if hook.enabled {
        ("badge badge-ok", "Enabled")
    } else {
        ("badge badge-muted", "Disabled")
    };
    let edited = hook.clone();

    view! {
        <tr data-testid="webhook-row" data-name=name.clone()>
            <td><span class="user-name">{name.clone()}</span></td>
            <td class="mono">{hook.url.clone()}</td>
            <td>{events}</td>
            <td><span class=status.0>{status.1}</span></td>
            <td class="actions-col">
                <button class="button small" data-testid="edit-webhook"
                    disabled=move || busy.get()
                    on:click=move |_| editing.set(true)>
                    "Edit"
                </button>
                <button class="button small" data-testid="test-webhook"
                    disabled=move || busy.get()
                    on:click=test>
                    "Send test"
                </button>
                <button class="button small" data-testid="webhook-log"
                    on:click=move |_| show_log.update(|s| *s = !*s)>
                    {move || if show_log.get() { "Hide log" } else { "Deliveries" }}
                </button>
                <button class="button small" data-testid="toggle-webhook"
                    disabled=move || busy.get()
                    on:click=toggle>
                    {if enabled { "Disable" } else { "Enable" }}
                </button>
                <button class="button small danger-outline" data-testid="delete-webhook"
                    disabled=move || busy.get()
                    on:click=delete>
                    {move || if confirm_delete.get() { "Really delete?" } else { "Delete" }}
                </button>
                <Show when=move || editing.get()>
                    <WebhookDialog hook=Some(edited.clone()) hooks open=editing revealed/>
                </Show>
            </td>
        </tr>
        <Show when=move || show_log.get()>
            <tr class="webhook-log-row">
                <td colspan="5">
                    <DeliveryLog id version=log_version/>
                </td>
            </tr>
        </Show>
    }
}

/// Creates a hook (`hook` none) or edits one. The secret field is write-only: empty keeps the
/// current secret, or on create lets the gateway generate one, shown once.
#[component]
fn WebhookDialog(
    hook: Option<WebhookView>,
    hooks: RwSignal<Vec<WebhookView>>,
    open: RwSignal<bool>,
    revealed: RwSignal<Option<String>>,
) -> impl IntoView {
    let session = use_session();
    let editing = hook.clone();
    let name = RwSignal::new(hook.as_ref().map(|h| h.name.clone()).unwrap_or_default());
    let url = RwSignal::new(hook.as_ref().map(|h| h.url.clone()).unwrap_or_default());
    let events = RwSignal::new(
        hook.as_ref()
            .map(|h| h.events.clone())
            .unwrap_or_else(|| vec![ALL_EVENTS.to_owned()]),
    );
    let enabled = RwSignal::new(hook.as_ref().is_none_or(|h| h.enabled));
    let secret = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let close = Callback::new(move |()| open.set(false));
    let all = move || events.with(|e| e.iter().any(|x| x == ALL_EVENTS));

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        if events.with_untracked(Vec::is_empty) {
            error.set(Some("Pick at least one event.".to_owned()));
            return;
        }
        busy.set(true);
        error.set(None);
        let new_secret = Some(secret.get_untracked()).filter(|s| !s.is_empty());
        let editing = editing.clone();
        spawn_local(async move {
            let result = match &editing {
                Some(h) => {
                    let body = UpdateWebhookRequest {
                        name: Some(name.get_untracked()),
                        url: Some(url.get_untracked()),
                        events: Some(events.get_untracked()),
                        secret: new_secret,
                        enabled: Some(enabled.get_untracked()),
                    };
                    api::update_webhook(h.id, &body).await.map(|updated| {
                        replace(hooks, updated);
                    })
                }
                None => {
                    let body = CreateWebhookRequest {
                        name: name.get_untracked(),
                        url: url.get_untracked(),
                        events: events.get_untracked(),
                        secret: new_secret,
                        enabled: enabled.get_untracked(),
                    };
                    api::create_webhook(&body).await.map(|created| {
                        hooks.update(|list| list.push(created.webhook));
                        if let Some(generated) = created.secret {
                            revealed.set(Some(generated));
                        }
                    })
                }
            };
            match result {
                Ok(()) => {
                    session
                        .toasts
                        .success(format!("Saved {}", name.get_untracked()));
                    let _ = open.try_set(false);
                }
                Err(err) => {
                    let _ = error.try_set(Some(err.message));
                    let _ = busy.try_set(false);
                }
            }
        });
    };
    let title = if hook.is_some() {
        "Edit webhook"
    } else {
        "Add webhook"
    };
    let secret_hint = if hook.is_some() {
        "Leave empty to keep the current secret"
    } else {
        "Leave empty to generate one"
    };

    view! {
        <Dialog name="webhook" title=title on_close=close wide=true>
            <form on:submit=submit autocomplete="off" data-testid="webhook-form">
                <div class="form-grid">
                    <label for="webhook-name">"Name"</label>
                    <input id="webhook-name" required maxlength="128" data-testid="webhook-name"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))/>
                    <label for="webhook-url">"URL"</label>
                    <input id="webhook-url" required type="url" placeholder="https://example.com/hooks/gatehouse"
                        data-testid="webhook-url"
                        prop:value=move || url.get()
                        on:input=move |ev| url.set(event_target_value(&ev))/>
                    <label for="webhook-secret">"Secret"</label>
                    <input id="webhook-secret" type="password" autocomplete="new-password"
                        data-testid="webhook-secret" placeholder=secret_hint
                        prop:value=move || secret.get()
                        on:input=move |ev| secret.set(event_target_value(&ev))/>
                    <span class="field-label">"Events"</span>
                    <div class="scope-list">
                        <label class="check">
                            <input type="checkbox" data-testid="webhook-event-all"
                                prop:checked=all
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    events.set(if on { vec![ALL_EVENTS.to_owned()] } else { Vec::new() });
                                }/>
                            " All events"
                        </label>
                        {EVENTS
                            .iter()
                            .map(|&event| view! {
                                <label class="check">
                                    <input type="checkbox"
                                        data-testid=format!("webhook-event-{event}")
                                        disabled=all
                                        prop:checked=move || all() || events.with(|e| e.iter().any(|x| x == event))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            events.update(|e| {
                                                e.retain(|x| x != event);
                                                if on {
                                                    e.push(event.to_owned());
                                                }
                                            });
                                        }/>
                                    " " {event}
                                </label>
                            })
                            .collect_view()}
                    </div>
                    <span></span>
                    <label class="check">
                        <input type="checkbox" data-testid="webhook-enabled"
                            prop:checked=move || enabled.get()
                            on:change=move |ev| enabled.set(event_target_checked(&ev))/>
                        " Enabled"
                    </label>
                    <Show when=move || error.get().is_some()>
                        <p class="form-error span-2" role="alert" data-testid="webhook-error">
                            {move || error.get().unwrap_or_default()}
                        </p>
                    </Show>
                    <div class="modal-actions span-2">
                        <span class="grow"></span>
                        <button type="button" class="button" on:click=move |_| close.run(())>"Cancel"</button>
                        <button type="submit" class="button primary" data-testid="webhook-save"
                            disabled=move || busy.get()>
                            "Save"
                        </button>
                    </div>
                </div>
            </form>
        </Dialog>
    }
}

/// The secret the gateway generated for a new hook: shown this once.
#[component]
fn SecretDialog(secret: String, revealed: RwSignal<Option<String>>) -> impl IntoView {
    let close = Callback::new(move |()| revealed.set(None));
    view! {
        <Dialog name="webhook-secret" title="Webhook secret" on_close=close>
            <p>"Give this secret to the receiver to verify signatures. It will not be shown again."</p>
            <div class="secret-box">
                <code data-testid="webhook-generated-secret">{secret}</code>
            </div>
            <div class="modal-actions">
                <span class="grow"></span>
                <button class="button primary" on:click=move |_| close.run(())>"Done"</button>
            </div>
        </Dialog>
    }
}

fn state_badge(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Delivered => "badge badge-ok",
        DeliveryState::Pending => "badge badge-warn",
        DeliveryState::Failed => "badge badge-muted",
    }
}

/// A hook's recent deliveries, newest first, reloaded when `version` changes.
#[component]
fn DeliveryLog(id: i32, version: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let rows = RwSignal::new(Vec::<DeliveryView>::new());
    Effect::new(move |_| {
        version.track();
        spawn_local(async move {
            match api::webhook_deliveries(id).await {
                Ok(list) => {
                    let _ = rows.try_set(list);
                }
                Err(err) => session.fail("Cannot load the deliveries", &err),
            }
        });
    });
    let retry = move |delivery: i32| {
        spawn_local(async move {
            match api::retry_webhook_delivery(id, delivery).await {
                Ok(_) => session.toasts.success("Delivery queued again"),
                Err(err) => session.fail("Delivery not retried", &err),
            }
            version.update(|v| *v += 1);
        });
    };

    view! {
        <div class="webhook-log" data-testid="webhook-deliveries">
            <div class="panel-head">
                <h3>"Deliveries"</h3>
                <button class="button small" on:click=move |_| version.update(|v| *v += 1)>"Refresh"</button>
            </div>
            <Show when=move || rows.with(Vec::is_empty)>
                <p class="muted">"Nothing sent yet."</p>
            </Show>
            <table class="table">
                <thead>
                    <tr>
                        <th>"Created"</th>
                        <th>"Event"</th>
                        <th>"State"</th>
                        <th>"Status"</th>
                        <th>"Attempts"</th>
                        <th>"Error"</th>
                        <th class="actions-col"></th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || rows.get()
                        key=|d| (d.id, d.attempts, d.state)
                        let:d
                    >
                        <tr data-testid="delivery-row">
                            <td class="muted">{d.created_at.get(..19).unwrap_or(&d.created_at).replace('T', " ")}</td>
                            <td>{d.event.clone()}</td>
                            <td>
                                <span class=state_badge(d.state)>{d.state.as_str()}</span>
                            </td>
                            <td class="mono" data-testid="delivery-status">
                                {d.status_code.map(|c| c.to_string()).unwrap_or_else(|| "—".to_owned())}
                            </td>
                            <td>{d.attempts}</td>
                            <td class="muted">{d.error.clone().unwrap_or_default()}</td>
                            <td class="actions-col">
                                {(d.state == DeliveryState::Failed).then(|| {
                                    let delivery = d.id;
                                    view! {
                                        <button class="button small" data-testid="retry-delivery"
                                            on:click=move |_| retry(delivery)>
                                            "Retry"
                                        </button>
                                    }
                                })}
                            </td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </div>
    }
}
