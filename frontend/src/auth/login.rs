//! The sign-in screen: username and password, then (when the gateway answers `totp_required`)
//! the same form again with a code from the authenticator; the single sign-on button below.

use leptos::ev::SubmitEvent;
use leptos::html::Input;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{take_login_error, SsoButton};
use crate::api::{self, ApiError};
use crate::app::{use_session, Auth};

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    // The password was right and the account has a second factor: ask for its code.
    let needs_code = RwSignal::new(false);
    let busy = RwSignal::new(false);
    // A failed single sign-on comes back as `#/login-error/<code>`.
    let error = RwSignal::new(take_login_error());
    let code_input = NodeRef::<Input>::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let totp_code = needs_code
            .get_untracked()
            .then(|| code.get_untracked().trim().to_owned())
            .filter(|c| !c.is_empty());
        if needs_code.get_untracked() && totp_code.is_none() {
            error.set(Some(
                "Enter the code from your authenticator app.".to_owned(),
            ));
            return;
        }
        busy.set(true);
        error.set(None);
        let (user, pass) = (username.get_untracked(), password.get_untracked());
        spawn_local(async move {
            match api::login(user, pass, totp_code).await {
                Ok(response) if response.must_change_password => {
                    session.auth.set(Auth::MustChangePassword);
                }
                // `me` also says whether the policy wants a second factor set up first.
                Ok(_) => {
                    session.refresh().await;
                    let _ = busy.try_set(false);
                }
                Err(err) if err.is("totp_required") => {
                    let _ = needs_code.try_set(true);
                    let _ = busy.try_set(false);
                    request_animation_frame(move || {
                        if let Some(input) = code_input.get_untracked() {
                            let _ = input.focus();
                        }
                    });
                }
                Err(err) => {
                    let message = failure_message(&err);
                    match err.code.as_str() {
                        "invalid_totp" => {
                            let _ = code.try_set(String::new());
                        }
                        "invalid_credentials" => {
                            let _ = password.try_set(String::new());
                            let _ = code.try_set(String::new());
                            let _ = needs_code.try_set(false);
                        }
                        _ => {}
                    }
                    session.toasts.error("Sign-in failed", message.clone());
                    let _ = error.try_set(Some(message));
                    let _ = busy.try_set(false);
                }
            }
        });
    };

    view! {
        <div class="auth-screen">
            <div class="card auth-card">
                <form class="auth-form" on:submit=submit data-testid="login-form">
                    <div class="auth-brand">
                        <span class="brand-mark">"▣"</span>
                        <span>"Gatehouse"</span>
                    </div>
                    <h1>"Sign in"</h1>
                    <label for="username">"Username"</label>
                    <input
                        id="username"
                        name="username"
                        autocomplete="username"
                        required
                        autofocus
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))
                    />
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                    <div class="auth-code" class=("is-hidden", move || !needs_code.get())>
                        <label for="totp-login-code">"Authentication code"</label>
                        <input
                            id="totp-login-code"
                            name="totp_code"
                            node_ref=code_input
                            autocomplete="one-time-code"
                            inputmode="numeric"
                            maxlength="32"
                            data-testid="login-totp"
                            prop:value=move || code.get()
                            on:input=move |ev| code.set(event_target_value(&ev))
                        />
                        <p class="hint">"From your authenticator app, or a recovery code."</p>
                    </div>
                    <Show when=move || error.get().is_some()>
                        <p class="form-error" role="alert" data-testid="login-error">
                            {move || error.get().unwrap_or_default()}
                        </p>
                    </Show>
                    <button type="submit" class="button primary wide" disabled=move || busy.get()>
                        {move || match (busy.get(), needs_code.get()) {
                            (true, _) => "Signing in…",
                            (false, true) => "Verify",
                            (false, false) => "Sign in",
                        }}
                    </button>
                </form>
                // Renders nothing unless single sign-on is configured; the divider hides with it
                // (see `.sso-slot` in app.css).
                <div class="sso-slot">
                    <SsoButton/>
                </div>
            </div>
        </div>
    }
}

/// The words for a failed sign-in.
fn failure_message(err: &ApiError) -> String {
    match err.code.as_str() {
        "invalid_credentials" => "Wrong username or password.".to_owned(),
        "invalid_totp" => {
            "That code is not right. Enter the current code from your app, or an unused \
             recovery code."
                .to_owned()
        }
        // The gateway says how long to wait.
        "too_many_attempts" => sentence(&err.message),
        "directory_unavailable" => {
            "The user directory cannot be reached right now. Try again in a moment, or ask an \
             administrator."
                .to_owned()
        }
        _ => err.message.clone(),
    }
}

/// `text` with a capital first letter and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
