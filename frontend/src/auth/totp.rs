//! Setting up a second factor (TOTP): ask the gateway for a secret, show it as a QR code and as
//! text, confirm one code from the authenticator, then hand over the recovery codes (shown once).
//! Used by the blocking enrolment screen (the policy requires a second factor) and by the
//! two-factor dialog from the user menu.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wire::auth::TotpSetup;

use super::screen::BlockingScreen;
use crate::api;
use crate::app::{use_session, Session};
use crate::terminal::xterm::copy_to_clipboard;

/// Where the setup flow is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Start,
    Scan(TotpSetup),
    Codes(Vec<String>),
}

/// The one screen reachable while the policy requires a second factor this account lacks.
#[component]
pub fn ForcedTotpEnrollment() -> impl IntoView {
    let session = use_session();
    let done = Callback::new(move |()| {
        // `refresh` lands on the right screen (the shell, now that a factor is set up).
        spawn_local(session.refresh());
    });
    view! {
        <BlockingScreen title="Set up two-factor authentication" wide=true>
            <p class="muted">
                "This gateway requires a second factor for your account. You need an \
                 authenticator app (for example Aegis, Google Authenticator, 1Password) before \
                 you can continue."
            </p>
            <TotpSetupFlow on_done=done/>
        </BlockingScreen>
    }
}

/// Start → scan and confirm → recovery codes; `on_enabled` runs as soon as the second factor is
/// on (the codes still showing), `on_done` once the codes are saved.
#[component]
pub fn TotpSetupFlow(
    on_done: Callback<()>,
    #[prop(optional)] on_enabled: Option<Callback<()>>,
) -> impl IntoView {
    let session = use_session();
    let step = RwSignal::new(Step::Start);
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    let start = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::totp_setup().await {
                Ok(setup) => {
                    let _ = step.try_set(Step::Scan(setup));
                }
                Err(err) => {
                    session.fail("Cannot set up two-factor authentication", &err);
                    let _ = error.try_set(Some(err.message));
                }
            }
            let _ = busy.try_set(false);
        });
    };

    let confirm = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let digits: String = code
            .get_untracked()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
            error.set(Some(
                "Enter the 6-digit code your authenticator shows.".to_owned(),
            ));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::totp_enable(digits).await {
                Ok(codes) => {
                    session.toasts.success("Two-factor authentication is on");
                    let _ = step.try_set(Step::Codes(codes.codes));
                    if let Some(on_enabled) = on_enabled {
                        on_enabled.run(());
                    }
                }
                Err(err) if err.is("invalid_totp") => {
                    let _ = error.try_set(Some(
                        "That code is not right, or was already used. Wait for the next one \
                         and try again."
                            .to_owned(),
                    ));
                    let _ = code.try_set(String::new());
                }
                Err(err) => {
                    session.fail("Two-factor authentication not set up", &err);
                    let _ = error.try_set(Some(err.message));
                }
            }
            let _ = busy.try_set(false);
        });
    };

    let error_view = move || {
        error.get().map(|message| {
            view! { <p class="form-error" role="alert" data-testid="totp-error">{message}</p> }
        })
    };

    move || match step.get() {
        Step::Start => view! {
            <div class="stack">
                <p>
                    "Each sign-in will ask for a 6-digit code from an authenticator app on \
                     your phone, as well as your password."
                </p>
                {error_view}
                <button
                    class="button primary wide"
                    data-testid="totp-start"
                    disabled=move || busy.get()
                    on:click=start
                >
                    {move || if busy.get() { "Starting…" } else { "Set up an authenticator" }}
                </button>
            </div>
        }
        .into_any(),
        Step::Scan(setup) => view! {
            <form class="stack totp-setup" on:submit=confirm data-testid="totp-setup">
                <p>"Scan this code with your authenticator app:"</p>
                <img
                    class="totp-qr"
                    src=format!("data:image/png;base64,{}", setup.qr_png_base64)
                    alt=setup.otpauth_url.clone()
                    data-testid="totp-qr"
                />
                <p class="muted small">"Or type this key into it by hand:"</p>
                <SecretBox secret=setup.secret test_id="totp-secret" grouped=true/>
                <label for="totp-code">"Code from the app"</label>
                <input
                    id="totp-code"
                    class="totp-code-input"
                    autocomplete="one-time-code"
                    inputmode="numeric"
                    maxlength="7"
                    placeholder="123456"
                    required
                    autofocus
                    data-testid="totp-code"
                    prop:value=move || code.get()
                    on:input=move |ev| code.set(event_target_value(&ev))
                />
                {error_view}
                <button
                    type="submit"
                    class="button primary wide"
                    data-testid="totp-confirm"
                    disabled=move || busy.get()
                >
                    {move || if busy.get() { "Checking…" } else { "Confirm" }}
                </button>
            </form>
        }
        .into_any(),
        Step::Codes(codes) => view! { <RecoveryCodesView codes on_done/> }.into_any(),
    }
}

/// Fresh recovery codes, shown once: copy them, download them as a text file, then confirm.
#[component]
pub fn RecoveryCodesView(codes: Vec<String>, on_done: Callback<()>) -> impl IntoView {
    let session = use_session();
    let text = codes.join("\n") + "\n";
    let copy = {
        let text = text.clone();
        move |_| copy_with_toast(session, text.clone(), "Recovery codes copied")
    };
    let download = move |_| download_text("gatehouse-recovery-codes.txt", &text);
    view! {
        <div class="stack">
            <p>
                "Save these recovery codes somewhere safe. Each one works once, instead of a \
                 code from the app, if you lose your phone. "
                <strong>"They are not shown again."</strong>
            </p>
            <ol class="recovery-codes mono" data-testid="recovery-codes">
                {codes.into_iter().map(|c| view! { <li data-testid="recovery-code">{c}</li> }).collect_view()}
            </ol>
            <div class="modal-actions">
                <button type="button" class="button small" data-testid="recovery-copy" on:click=copy>
                    "Copy"
                </button>
                <button type="button" class="button small" data-testid="recovery-download" on:click=download>
                    "Download .txt"
                </button>
                <span class="grow"></span>
                <button
                    type="button"
                    class="button primary"
                    data-testid="totp-done"
                    on:click=move |_| on_done.run(())
                >
                    "I have saved them"
                </button>
            </div>
        </div>
    }
}

/// A secret in a monospace box with a Copy button. `grouped`, it reads in groups of four, but the
/// groups are spans, not spaces, so selecting and copying it gives the raw value too.
#[component]
pub fn SecretBox(
    secret: String,
    test_id: &'static str,
    #[prop(optional)] grouped: bool,
) -> impl IntoView {
    let session = use_session();
    let chars: Vec<char> = secret.chars().collect();
    let size = if grouped { 4 } else { chars.len().max(1) };
    let groups = chars
        .chunks(size)
        .map(|group| view! { <span>{group.iter().collect::<String>()}</span> })
        .collect_view();
    let copy = move |_| copy_with_toast(session, secret.clone(), "Copied");
    view! {
        <div class="secret-box">
            <code class="mono secret-groups" data-testid=test_id>{groups}</code>
            <button type="button" class="button small" on:click=copy>"Copy"</button>
        </div>
    }
}

/// Copies `text` to the clipboard and says whether that worked.
fn copy_with_toast(session: Session, text: String, done: &'static str) {
    spawn_local(async move {
        if copy_to_clipboard(&text).await.is_ok() {
            session.toasts.success(done);
        } else {
            session.toasts.error(
                "Not copied",
                "The browser did not allow access to the clipboard.",
            );
        }
    });
}

/// Saves `text` as a file named `file_name` (a Blob URL: nothing goes to the server).
pub fn download_text(file_name: &str, text: &str) {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let Ok(blob) = web_sys::Blob::new_with_str_sequence(&parts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    let document = web_sys::window().and_then(|w| w.document());
    if let Some((document, body)) = document.and_then(|d| d.body().map(|b| (d, b))) {
        if let Ok(a) = document.create_element("a") {
            let a: web_sys::HtmlAnchorElement = a.unchecked_into();
            a.set_href(&url);
            a.set_download(file_name);
            a.set_attribute("hidden", "").ok();
            let _ = body.append_child(&a);
            a.click();
            a.remove();
        }
    }
    // Revoked later: the download reads the Blob after the click has returned.
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(60),
    );
}
