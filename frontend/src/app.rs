//! The app root: who is signed in, and which screen that allows.
//!
//! Sign-in state comes only from the server (`GET /api/auth/me` answers from the HttpOnly cookie),
//! so a reload lands on the right screen and nothing about the session lives in browser storage.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::users::UserView;

use crate::api::{self, ApiError};
use crate::auth::{ForcedPasswordChange, ForcedTotpEnrollment, LoginPage};
use crate::demo_banner::DemoBanner;
use crate::shell::Shell;
use crate::theme::provide_theme;
use crate::toast::{ToastStack, Toasts};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Waiting for the first `GET /api/auth/me`.
    Checking,
    SignedOut,
    /// Signed in, but the account must pick a new password first: nothing else is reachable.
    MustChangePassword,
    /// Signed in, but the policy requires a second factor the account has not set up: only
    /// enrolling is reachable.
    MustEnrollTotp,
    SignedIn(UserView),
}

/// Which top-level screen `Auth` allows; changes only when the screen does, so refreshing the
/// user's details never rebuilds the shell (and its open terminals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Screen {
    Loading,
    Login,
    ChangePassword,
    EnrollTotp,
    Main,
}

/// The signed-in state and the toasts that report on it, provided as context.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    pub auth: RwSignal<Auth>,
    pub toasts: Toasts,
}

impl Session {
    /// The signed-in user (tracked).
    pub fn user(&self) -> Option<UserView> {
        self.auth.with(|a| match a {
            Auth::SignedIn(user) => Some(user.clone()),
            _ => None,
        })
    }

    pub fn is_admin(&self) -> bool {
        self.auth
            .with(|a| matches!(a, Auth::SignedIn(user) if user.is_admin))
    }

    /// Asks the server who we are and moves to the matching screen.
    pub async fn refresh(self) {
        let next = match api::me().await {
            Ok(user) if user.must_change_password => Auth::MustChangePassword,
            Ok(user) if user.must_enroll_totp => Auth::MustEnrollTotp,
            Ok(user) => Auth::SignedIn(user),
            Err(err) if err.is_password_change_required() => Auth::MustChangePassword,
            Err(err) if err.is_totp_enrollment_required() => Auth::MustEnrollTotp,
            Err(err) => {
                if !err.is_unauthenticated() {
                    self.toasts.error("Cannot check the session", err.message);
                }
                Auth::SignedOut
            }
        };
        self.auth.set(next);
    }

    /// Reports a failed call as a toast; a lost session goes back to the sign-in screen.
    pub fn fail(&self, title: &str, err: &ApiError) {
        if err.is_unauthenticated() {
            self.toasts
                .info("Signed out", "Your session ended. Please sign in again.");
            self.auth.set(Auth::SignedOut);
        } else if err.is_password_change_required() {
            self.auth.set(Auth::MustChangePassword);
        } else if err.is_totp_enrollment_required() {
            self.auth.set(Auth::MustEnrollTotp);
        } else {
            self.toasts.error(title, err.message.clone());
        }
    }

    pub fn sign_out(self) {
        spawn_local(async move {
            if let Err(err) = api::logout().await {
                if !err.is_unauthenticated() {
                    self.toasts.error("Sign-out failed", err.message);
                    return;
                }
            }
            self.auth.set(Auth::SignedOut);
        });
    }
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// Calls `close` when Escape is pressed while the calling component (a dialog, a menu) is
/// mounted.
pub fn close_on_escape(close: impl Fn() + 'static) {
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            close();
        }
    });
    on_cleanup(move || handle.remove());
}

#[component]
pub fn App() -> impl IntoView {
    let toasts = Toasts::new();
    provide_context(toasts);
    provide_theme();
    let session = Session {
        auth: RwSignal::new(Auth::Checking),
        toasts,
    };
    provide_context(session);
    spawn_local(session.refresh());

    let screen = Memo::new(move |_| match session.auth.get() {
        Auth::Checking => Screen::Loading,
        Auth::SignedOut => Screen::Login,
        Auth::MustChangePassword => Screen::ChangePassword,
        Auth::MustEnrollTotp => Screen::EnrollTotp,
        Auth::SignedIn(_) => Screen::Main,
    });

    view! {
        <DemoBanner/>
        {move || match screen.get() {
            Screen::Loading => view! { <div class="splash">"Loading…"</div> }.into_any(),
            Screen::Login => view! { <LoginPage/> }.into_any(),
            Screen::ChangePassword => view! { <ForcedPasswordChange/> }.into_any(),
            Screen::EnrollTotp => view! { <ForcedTotpEnrollment/> }.into_any(),
            Screen::Main => view! { <Shell/> }.into_any(),
        }}
        <ToastStack/>
    }
}
