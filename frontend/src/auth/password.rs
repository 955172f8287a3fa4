//! Changing one's own password: the blocking screen after a forced change is required, and the
//! dialog from the user menu. Both use the same form.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::auth::MIN_PASSWORD_LEN;

use super::screen::BlockingScreen;
use crate::api;
use crate::app::use_session;
use crate::dialog::Dialog;

/// The one screen reachable while a password change is pending.
#[component]
pub fn ForcedPasswordChange() -> impl IntoView {
    let session = use_session();
    let done = Callback::new(move |()| {
        // The change may have ended this session too; `refresh` lands on the right screen.
        spawn_local(session.refresh());
    });
    view! {
        <BlockingScreen title="Choose a new password">
            <p class="muted">
                "Your account needs a new password before you can continue. Use at least "
                {MIN_PASSWORD_LEN} " characters."
            </p>
            <PasswordForm on_done=done/>
        </BlockingScreen>
    }
}

/// The dialog opened from the user menu.
#[component]
pub fn ChangePasswordDialog(open: RwSignal<bool>) -> impl IntoView {
    let done = Callback::new(move |()| open.set(false));
    view! {
        <Dialog name="change-password" title="Change password" on_close=done>
            <PasswordForm on_done=done/>
        </Dialog>
    }
}

#[component]
fn PasswordForm(on_done: Callback<()>) -> impl IntoView {
    let session = use_session();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (cur, next) = (current.get_untracked(), new.get_untracked());
        if next.chars().count() < MIN_PASSWORD_LEN {
            error.set(Some(format!(
                "The new password needs at least {MIN_PASSWORD_LEN} characters."
            )));
            return;
        }
        if next != confirm.get_untracked() {
            error.set(Some("The two new passwords differ.".to_owned()));
            return;
        }
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            match api::change_password(cur, next).await {
                Ok(()) => {
                    session.toasts.success("Password changed");
                    on_done.run(());
                }
                Err(err) if err.is_unauthenticated() => session.fail("", &err),
                Err(err) => {
                    let message = if err.code == "invalid_credentials" {
                        "The current password is wrong.".to_owned()
                    } else {
                        err.message.clone()
                    };
                    session
                        .toasts
                        .error("Password not changed", message.clone());
                    let _ = error.try_set(Some(message));
                }
            }
            let _ = busy.try_set(false);
        });
    };

    view! {
        <form class="stack" on:submit=submit data-testid="change-password-form">
            <label for="current-password">"Current password"</label>
            <input
                id="current-password"
                type="password"
                autocomplete="current-password"
                required
                prop:value=move || current.get()
                on:input=move |ev| current.set(event_target_value(&ev))
            />
            <label for="new-password">"New password"</label>
            <input
                id="new-password"
                type="password"
                autocomplete="new-password"
                required
                minlength=MIN_PASSWORD_LEN
                prop:value=move || new.get()
                on:input=move |ev| new.set(event_target_value(&ev))
            />
            <label for="confirm-password">"Repeat the new password"</label>
            <input
                id="confirm-password"
                type="password"
                autocomplete="new-password"
                required
                prop:value=move || confirm.get()
                on:input=move |ev| confirm.set(event_target_value(&ev))
            />
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert">{move || error.get().unwrap_or_default()}</p>
            </Show>
            <button type="submit" class="button primary wide" disabled=move || busy.get()>
                {move || if busy.get() { "Saving…" } else { "Change password" }}
            </button>
        </form>
    }
}
