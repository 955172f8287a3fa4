//! The demo-mode banner: on every screen, the login page included, while the gateway runs as a
//! read-only sandbox (`GET /api/health` says `demo`), with the login visitors may use. The
//! buttons for changes stay; the gateway refuses them and the error toast says why.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::{DemoLogin, Health};

use crate::api;

#[component]
pub fn DemoBanner() -> impl IntoView {
    // `Some(login)` once the gateway said it is a demo; nothing shows until then, or ever when
    // it is not (or cannot be asked).
    let demo = RwSignal::new(None::<Option<DemoLogin>>);
    spawn_local(async move {
        if let Ok(health) = api::get::<Health>("api/health").await {
            if health.demo {
                let _ = demo.try_set(Some(health.demo_login));
            }
        }
    });
    move || {
        demo.get().map(|login| {
            view! {
                <div class="demo-banner" role="status" data-testid="demo-banner">
                    <strong>"Demo mode"</strong>
                    " — a read-only sandbox: open terminals and browse files; changes are switched off."
                    {login.map(|l| view! {
                        <span class="demo-login">
                            " Sign in as " <code>{l.username}</code> " / " <code>{l.password}</code>
                        </span>
                    })}
                </div>
            }
        })
    }
}
