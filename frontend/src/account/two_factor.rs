//! The two-factor dialog: whether a second factor is on and how many recovery codes are left;
//! when off, the setup flow; when on, new recovery codes or turning it off (both need a current
//! code, and turning it off is refused when the policy requires it).

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::auth::TotpStatus;

use crate::api;
use crate::app::use_session;
use crate::auth::{RecoveryCodesView, TotpSetupFlow};
use crate::dialog::Dialog;

/// What the dialog's body shows; changes only when a flow has finished, so refreshing the status
/// line (the factor just turned on, recovery codes still showing) keeps the flow in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Loading,
    Setup,
    Manage { required: bool },
}

#[component]
pub fn TwoFactorDialog(open: RwSignal<bool>) -> impl IntoView {
    let session = use_session();
    let status = RwSignal::new(None::<TotpStatus>);
    let body = RwSignal::new(Body::Loading);
    let load = move |with_body: bool| {
        spawn_local(async move {
            match api::totp_status().await {
                Ok(s) => {
                    if with_body {
                        let _ = body.try_set(if s.enabled {
                            Body::Manage {
                                required: s.required,
                            }
                        } else {
                            Body::Setup
                        });
                    }
                    let _ = status.try_set(Some(s));
                }
                Err(err) => session.fail("Cannot load the two-factor status", &err),
            }
        });
    };
    let reload = Callback::new(move |()| load(true));
    let refresh_status = Callback::new(move |()| load(false));
    reload.run(());
    let close = Callback::new(move |()| open.set(false));

    view! {
        <Dialog name="two-factor" title="Two-factor authentication" on_close=close>
            {move || status.get().map(|s| view! {
                <p class="totp-status" data-testid="totp-status">
                    {if s.enabled {
                        view! { <span class="badge badge-ok">"On"</span> }.into_any()
                    } else {
                        view! { <span class="badge badge-warn">"Off"</span> }.into_any()
                    }}
                    {s.enabled.then(|| view! {
                        <span class="muted" data-testid="recovery-codes-left">
                            {format!("{} recovery codes left", s.recovery_codes_left)}
                        </span>
                    })}
                    {s.required.then(|| view! {
                        <span class="muted">"Required for your account"</span>
                    })}
                </p>
            })}
            {move || match body.get() {
                Body::Loading => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Body::Setup => {
                    view! { <TotpSetupFlow on_done=reload on_enabled=refresh_status/> }.into_any()
                }
                Body::Manage { required } => view! { <ManageTotp required reload/> }.into_any(),
            }}
        </Dialog>
    }
}

/// A second factor that is on: new recovery codes, or off (each confirmed with a current code).
#[component]
fn ManageTotp(required: bool, reload: Callback<()>) -> impl IntoView {
    let session = use_session();
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let new_codes = RwSignal::new(None::<Vec<String>>);

    // The code typed, or an error asking for one.
    let take_code = move || {
        let typed = code.get_untracked().trim().to_owned();
        if typed.is_empty() {
            error.set(Some(
                "Enter a code from your authenticator app (or a recovery code) first.".to_owned(),
            ));
            return None;
        }
        error.set(None);
        Some(typed)
    };
    let failed = move |title: &str, err: api::ApiError| {
        let message = if err.is("invalid_totp") {
            "That code is not right. Enter the current code from your app.".to_owned()
        } else {
            err.message.clone()
        };
        session.fail(title, &err);
        let _ = error.try_set(Some(message));
        let _ = code.try_set(String::new());
    };

    let renew = move |_: MouseEvent| {
        if busy.get_untracked() {
            return;
        }
        let Some(typed) = take_code() else { return };
        busy.set(true);
        spawn_local(async move {
            match api::totp_recovery_codes(typed).await {
                Ok(codes) => {
                    let _ = code.try_set(String::new());
                    let _ = new_codes.try_set(Some(codes.codes));
                }
                Err(err) => failed("No new recovery codes", err),
            }
            let _ = busy.try_set(false);
        });
    };
    let disable = move |_: MouseEvent| {
        if busy.get_untracked() {
            return;
        }
        let Some(typed) = take_code() else { return };
        busy.set(true);
        spawn_local(async move {
            match api::totp_disable(typed).await {
                Ok(()) => {
                    session.toasts.success("Two-factor authentication is off");
                    reload.run(());
                }
                Err(err) => failed("Two-factor authentication not turned off", err),
            }
            let _ = busy.try_set(false);
        });
    };
    let codes_saved = Callback::new(move |()| {
        new_codes.set(None);
        reload.run(());
    });

    move || match new_codes.get() {
        Some(codes) => view! { <RecoveryCodesView codes on_done=codes_saved/> }.into_any(),
        None => view! {
            <div class="stack" data-testid="totp-manage">
                <label for="totp-manage-code">"Current code"</label>
                <input
                    id="totp-manage-code"
                    autocomplete="one-time-code"
                    inputmode="numeric"
                    maxlength="32"
                    placeholder="123456"
                    data-testid="totp-manage-code"
                    prop:value=move || code.get()
                    on:input=move |ev| code.set(event_target_value(&ev))
                />
                <p class="hint">"From your authenticator app, or a recovery code."</p>
                <Show when=move || error.get().is_some()>
                    <p class="form-error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                {required.then(|| view! {
                    <p class="muted small" data-testid="totp-policy">
                        "This gateway requires two-factor authentication for your account, so it \
                         cannot be turned off."
                    </p>
                })}
                <div class="modal-actions">
                    <button
                        type="button"
                        class="button"
                        data-testid="totp-new-codes"
                        disabled=move || busy.get()
                        on:click=renew
                    >
                        "New recovery codes"
                    </button>
                    <span class="grow"></span>
                    <button
                        type="button"
                        class="button danger-outline"
                        data-testid="totp-disable"
                        disabled=move || required || busy.get()
                        title=required.then_some("Required by the gateway's policy")
                        on:click=disable
                    >
                        "Disable"
                    </button>
                </div>
            </div>
        }
        .into_any(),
    }
}
