//! The frame of the screens that block everything else until they are done (a forced password
//! change, a required second factor): the brand, a title, the caller's content, and a way out.

use leptos::prelude::*;

use crate::app::use_session;

#[component]
pub fn BlockingScreen(
    title: &'static str,
    /// The wider card, for content such as a QR code.
    #[prop(optional)]
    wide: bool,
    children: Children,
) -> impl IntoView {
    let session = use_session();
    view! {
        <div class="auth-screen">
            <div class=if wide { "card auth-card auth-card-wide" } else { "card auth-card" }>
                <div class="auth-brand">
                    <span class="brand-mark">"▣"</span>
                    <span>"Gatehouse"</span>
                </div>
                <h1>{title}</h1>
                {children()}
                <button class="button link" data-testid="sign-out" on:click=move |_| session.sign_out()>
                    "Sign out"
                </button>
            </div>
        </div>
    }
}
