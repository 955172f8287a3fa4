//! The signed-in layout: top bar (views, theme, user menu), server sidebar, and the main area
//! with the terminal tabs, the file manager, the recordings or an admin panel.

use leptos::prelude::*;
use wire::users::Role;

use crate::account::{ApiKeysDialog, TwoFactorDialog};
use crate::admin::{IdentityPanel, UsersPanel, WebhooksPanel};
use crate::app::{close_on_escape, use_session, Auth};
use crate::audit::{AuditPanel, ReplayRequest};
use crate::auth::ChangePasswordDialog;
use crate::files::{Files, FilesView};
use crate::recordings::RecordingsPanel;
use crate::servers::{ServerFormDialog, ServerList, ServerStore};
use crate::snippets::{SnippetPalette, Snippets, SnippetsDialog};
use crate::terminal::{Tabs, TerminalTabs};
use crate::theme::ThemeToggle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Terminals,
    Files,
    Recordings,
    Audit,
    Users,
    Identity,
    Webhooks,
}

/// The view shown in the main area, provided as context so the sidebar can switch it.
#[derive(Debug, Clone, Copy)]
pub struct CurrentView(pub RwSignal<View>);

pub fn use_view() -> RwSignal<View> {
    expect_context::<CurrentView>().0
}

#[component]
pub fn Shell() -> impl IntoView {
    let session = use_session();
    let servers = ServerStore::new();
    provide_context(servers);
    let tabs = Tabs::new();
    provide_context(tabs);
    let snippets = Snippets::new();
    provide_context(snippets);
    // A share link (`/#/join/<token>`): join that session in a new tab. The token stays in the
    // fragment (never sent to the server in a URL) and leaves the address bar at once.
    let take_join = move || {
        let Some(location) = web_sys::window().map(|w| w.location()) else {
            return;
        };
        let hash = location.hash().unwrap_or_default();
        if let Some(token) = hash.strip_prefix("#/join/") {
            if !token.is_empty() {
                tabs.join(token.to_owned());
            }
            let _ = location.set_hash("");
        }
    };
    take_join();
    let hash_listener = window_event_listener(leptos::ev::hashchange, move |_| take_join());
    on_cleanup(move || hash_listener.remove());
    provide_context(Files::new(session, servers));
    servers.reload(session);

    // Auditors open no server: their work starts at the recordings.
    let is_auditor = session
        .auth
        .with_untracked(|a| matches!(a, Auth::SignedIn(u) if u.role == Role::Auditor));
    let view_sel = RwSignal::new(if is_auditor {
        View::Recordings
    } else {
        View::Terminals
    });
    provide_context(CurrentView(view_sel));
    provide_context(ReplayRequest(RwSignal::new(None)));
    let is_auditor_or_admin = move || {
        session
            .auth
            .with(|a| matches!(a, Auth::SignedIn(u) if u.is_admin || u.role == Role::Auditor))
    };
    let dialogs = AccountDialogs {
        password: RwSignal::new(false),
        two_factor: RwSignal::new(false),
        api_keys: RwSignal::new(false),
        snippets: snippets.manage,
    };
    let is_admin = move || session.is_admin();

    view! {
        <div class="app">
            <header class="topbar">
                <div class="brand">
                    <span class="brand-mark">"▣"</span>
                    "Gatehouse"
                </div>
                <nav class="views">
                    <ViewLink view=View::Terminals label="Terminals" test_id="nav-terminals"/>
                    <ViewLink view=View::Files label="Files" test_id="nav-files"/>
                    <ViewLink view=View::Recordings label="Recordings" test_id="nav-recordings"/>
                    <Show when=is_auditor_or_admin>
                        <ViewLink view=View::Audit label="Audit" test_id="nav-audit"/>
                    </Show>
                    <Show when=is_admin>
                        <ViewLink view=View::Users label="Users" test_id="nav-users"/>
                        <ViewLink view=View::Identity label="Sign-in" test_id="nav-identity"/>
                        <ViewLink view=View::Webhooks label="Webhooks" test_id="nav-webhooks"/>
                    </Show>
                </nav>
                <span class="grow"></span>
                <ThemeToggle/>
                <UserMenu dialogs/>
            </header>
            <div class="workspace">
                <aside class="sidebar" data-testid="server-sidebar">
                    <ServerList/>
                </aside>
                <main class="main">
                    // Terminals and files stay mounted while another view is shown, so sessions,
                    // folders and transfers survive.
                    <div class="view" class=("is-hidden", move || view_sel.get() != View::Terminals)>
                        <TerminalTabs/>
                    </div>
                    <div class="view" class=("is-hidden", move || view_sel.get() != View::Files)>
                        <FilesView/>
                    </div>
                    // Unmounted when left: that closes (and disposes) the player.
                    <Show when=move || view_sel.get() == View::Recordings>
                        <div class="view scroll">
                            <RecordingsPanel/>
                        </div>
                    </Show>
                    <Show when=move || is_auditor_or_admin() && view_sel.get() == View::Audit>
                        <div class="view scroll">
                            <AuditPanel/>
                        </div>
                    </Show>
                    <Show when=move || is_admin() && view_sel.get() == View::Users>
                        <div class="view scroll">
                            <UsersPanel/>
                        </div>
                    </Show>
                    <Show when=move || is_admin() && view_sel.get() == View::Identity>
                        <div class="view scroll">
                            <IdentityPanel/>
                        </div>
                    </Show>
                    <Show when=move || is_admin() && view_sel.get() == View::Webhooks>
                        <div class="view scroll">
                            <WebhooksPanel/>
                        </div>
                    </Show>
                </main>
            </div>
            <ServerFormDialog/>
            <Show when=move || dialogs.password.get()>
                <ChangePasswordDialog open=dialogs.password/>
            </Show>
            <Show when=move || dialogs.two_factor.get()>
                <TwoFactorDialog open=dialogs.two_factor/>
            </Show>
            <Show when=move || dialogs.api_keys.get()>
                <ApiKeysDialog open=dialogs.api_keys/>
            </Show>
            <Show when=move || dialogs.snippets.get()>
                <SnippetsDialog open=dialogs.snippets/>
            </Show>
            <SnippetPalette/>
        </div>
    }
}

/// A top-bar button that switches the main area to `view`.
#[component]
fn ViewLink(view: View, label: &'static str, test_id: &'static str) -> impl IntoView {
    let view_sel = use_view();
    view! {
        <button
            class="view-link"
            class=("active", move || view_sel.get() == view)
            data-testid=test_id
            on:click=move |_| view_sel.set(view)
        >
            {label}
        </button>
    }
}

/// The account dialogs the user menu opens.
#[derive(Debug, Clone, Copy)]
struct AccountDialogs {
    password: RwSignal<bool>,
    two_factor: RwSignal<bool>,
    api_keys: RwSignal<bool>,
    snippets: RwSignal<bool>,
}

#[component]
fn UserMenu(dialogs: AccountDialogs) -> impl IntoView {
    let session = use_session();
    let open = RwSignal::new(false);
    let user = move || session.user();

    view! {
        <div class="user-menu">
            <button
                class="user-button"
                data-testid="user-menu"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <span class="avatar">
                    {move || user().and_then(|u| u.username.chars().next()).unwrap_or('?').to_uppercase().to_string()}
                </span>
                <span class="user-name">{move || user().map(|u| u.username).unwrap_or_default()}</span>
                <span class="badge">{move || user().map(|u| u.role.as_str()).unwrap_or_default()}</span>
                <span class="caret">"▾"</span>
            </button>
            <Show when=move || open.get()>
                <MenuEscape open/>
                <div class="menu-backdrop" on:click=move |_| open.set(false)></div>
                <div class="menu" role="menu">
                    <DialogItem menu=open dialog=dialogs.password test_id="change-password" label="Change password"/>
                    <DialogItem menu=open dialog=dialogs.two_factor test_id="open-2fa" label="Two-factor authentication"/>
                    <DialogItem menu=open dialog=dialogs.api_keys test_id="open-api-keys" label="API keys"/>
                    <DialogItem menu=open dialog=dialogs.snippets test_id="open-snippets" label="Snippets"/>
                    <button
                        role="menuitem"
                        data-testid="sign-out"
                        on:click=move |_| {
                            open.set(false);
                            session.sign_out();
                        }
                    >
                        "Sign out"
                    </button>
                </div>
            </Show>
        </div>
    }
}

/// A user-menu item that closes the menu and opens `dialog`.
#[component]
fn DialogItem(
    menu: RwSignal<bool>,
    dialog: RwSignal<bool>,
    test_id: &'static str,
    label: &'static str,
) -> impl IntoView {
    view! {
        <button
            role="menuitem"
            data-testid=test_id
            on:click=move |_| {
                menu.set(false);
                dialog.set(true);
            }
        >
            {label}
        </button>
    }
}

/// Closes the user menu on Escape while it is open.
#[component]
fn MenuEscape(open: RwSignal<bool>) -> impl IntoView {
    close_on_escape(move || open.set(false));
}
