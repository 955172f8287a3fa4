//! Single sign-on on the sign-in screen: the "Sign in with …" button (shown only when the gateway
//! has an OIDC provider) and the reason a provider sign-in failed, which the gateway hands back
//! as `/#/login-error/<code>`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::auth::OidcProvider;

use crate::api;

/// A full-width outlined button that leaves for the provider; nothing when SSO is off (or the
/// providers could not be fetched: the password form still works).
#[component]
pub fn SsoButton() -> impl IntoView {
    let provider = RwSignal::new(None::<OidcProvider>);
    spawn_local(async move {
        if let Ok(providers) = api::auth_providers().await {
            let _ = provider.try_set(providers.oidc);
        }
    });
    move || {
        provider.get().map(|p| {
            let go = move |_| {
                if let Some(window) = web_sys::window() {
                    let _ = window
                        .location()
                        .assign(&api::url(p.login_url.trim_start_matches('/')));
                }
            };
            view! {
                <button type="button" class="button wide" data-testid="sso-login" on:click=go>
                    {p.label.clone()}
                </button>
            }
        })
    }
}

/// The failure a provider sign-in came back with (`#/login-error/<code>`), in words; the fragment
/// is cleared so a reload does not show it again.
pub fn take_login_error() -> Option<String> {
    let location = web_sys::window()?.location();
    let hash = location.hash().ok()?;
    let code = hash.strip_prefix("#/login-error/")?.to_owned();
    let _ = location.set_hash("");
    Some(login_error_message(&code).to_owned())
}

/// Words for the gateway's OIDC failure codes.
fn login_error_message(code: &str) -> &'static str {
    match code {
        "access_denied" => "The identity provider did not allow the sign-in.",
        "account_disabled" => "Your account is disabled. Ask an administrator.",
        "expired" => "The sign-in took too long. Try again.",
        "invalid_state" => "The sign-in could not be matched to this browser. Try again.",
        "invalid_token" => "The identity provider's answer could not be verified.",
        "provider_unavailable" => "The identity provider cannot be reached right now.",
        "provider_error" => "The identity provider reported an error.",
        "not_configured" => "Single sign-on is not configured.",
        _ => "Single sign-on failed. Try again.",
    }
}
