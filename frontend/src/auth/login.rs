//! The sign-in screen.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::app::{use_session, Auth};

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (user, pass) = (username.get_untracked(), password.get_untracked());
        spawn_local(async move {
            match api::login(user, pass).await {
                Ok(response) => session.auth.set(if response.must_change_password {
                    Auth::MustChangePassword
                } else {
                    Auth::SignedIn(response.user)
                }),
                Err(err) => {
                    let message = if err.code == "invalid_credentials" {
                        "Wrong username or password.".to_owned()
                    } else {
                        err.message.clone()
                    };
                    session.toasts.error("Sign-in failed", message.clone());
                    let _ = error.try_set(Some(message));
                    let _ = password.try_set(String::new());
                    let _ = busy.try_set(false);
                }
            }
        });
    };

    view! {
        <div class="auth-screen">
            <form class="card auth-card" on:submit=submit data-testid="login-form">
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
                <Show when=move || error.get().is_some()>
                    <p class="form-error" role="alert" data-testid="login-error">
                        {move || error.get().unwrap_or_default()}
                    </p>
                </Show>
                <button type="submit" class="button primary wide" disabled=move || busy.get()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </div>
    }
}
