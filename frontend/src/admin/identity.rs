//! The sign-in providers (admins): what LDAP and OIDC are set to, the last directory failure, and
//! live tests that run every step and show where it breaks. Settings live in the configuration,
//! not here; a provider that is off points at the settings that turn it on.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::ldap::{LdapStatus, LdapTestAccount, LdapTestRequest, LdapTestResult, LdapTestStep};
use wire::oidc::{OidcStatus, OidcTestResult};

use crate::api;
use crate::app::use_session;

#[component]
pub fn IdentityPanel() -> impl IntoView {
    view! {
        <section class="panel" data-testid="identity-panel">
            <div class="panel-head">
                <h2>"Sign-in"</h2>
            </div>
            <p class="muted">
                "Local accounts always work. Directory (LDAP) and single sign-on (OIDC) accounts get "
                "their role and server groups from the provider at each sign-in."
            </p>
            <div class="identity-cards">
                <LdapCard/>
                <OidcCard/>
            </div>
        </section>
    }
}

#[component]
fn LdapCard() -> impl IntoView {
    let session = use_session();
    let status = RwSignal::new(None::<LdapStatus>);
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<LdapTestResult>);

    spawn_local(async move {
        match api::ldap_status().await {
            Ok(s) => {
                let _ = status.try_set(Some(s));
            }
            Err(err) => session.fail("Cannot load the LDAP settings", &err),
        }
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let text = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.is_empty());
        let body = LdapTestRequest {
            username: text(username).map(|u| u.trim().to_owned()),
            password: text(password),
        };
        busy.set(true);
        spawn_local(async move {
            match api::ldap_test(&body).await {
                Ok(r) => {
                    let _ = result.try_set(Some(r));
                }
                Err(err) => session.fail("LDAP test not run", &err),
            }
            let _ = busy.try_set(false);
        });
    };

    view! {
        <div class="card identity-card">
            <h3>"LDAP directory"</h3>
            <div data-testid="ldap-status">
                {move || match status.get() {
                    None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                    Some(s) => ldap_status_view(s).into_any(),
                }}
            </div>
            <form class="identity-test" on:submit=submit autocomplete="off">
                <h4>"Test"</h4>
                <p class="muted small">
                    "Without a username only the connection and the service bind are tried; with "
                    "one the entry and its groups are looked up; with a password too, it is checked. "
                    "Nothing is created or changed."
                </p>
                <div class="form-grid">
                    <label for="ldap-test-username">"Username"</label>
                    <input id="ldap-test-username" data-testid="ldap-test-username" placeholder="Optional"
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))/>
                    <label for="ldap-test-password">"Password"</label>
                    <input id="ldap-test-password" data-testid="ldap-test-password" type="password"
                        autocomplete="off" placeholder="Optional"
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))/>
                    <div class="modal-actions span-2">
                        <span class="grow"></span>
                        <button type="submit" class="button primary" data-testid="ldap-test"
                            disabled=move || busy.get()>
                            {move || if busy.get() { "Testing…" } else { "Test LDAP" }}
                        </button>
                    </div>
                </div>
            </form>
            {move || result.get().map(|r| view! {
                <div class="test-result" data-testid="ldap-test-result">
                    <Outcome ok=r.ok/>
                    <Steps steps=r.steps/>
                    {r.account.map(account_view)}
                </div>
            })}
        </div>
    }
}

fn ldap_status_view(s: LdapStatus) -> impl IntoView {
    let last_error = s.last_error.clone().map(|e| {
        view! {
            <div class="identity-error" role="alert" data-testid="ldap-last-error">
                <strong>"Last failure (" {e.code} ")"</strong>
                <span class="muted small">" " {e.at}</span>
                <p>{e.message}</p>
            </div>
        }
    });
    if !s.configured {
        return view! {
            <p><span class="badge">"Not configured"</span></p>
            <p class="muted">
                "LDAP sign-in is off. Set " <code>"ldap_url"</code> " and " <code>"ldap_user_base"</code>
                " (and " <code>"ldap_bind_dn"</code> " / " <code>"ldap_bind_password"</code>
                " for a service account); see " <code>"docs/ldap.md"</code> "."
            </p>
            {last_error}
        }
        .into_any();
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    view! {
        <p><span class="badge badge-ok">"Configured"</span></p>
        {last_error}
        <dl class="settings-list">
            <dt>"URL"</dt><dd>{s.url.unwrap_or_default()}</dd>
            <dt>"StartTLS"</dt><dd>{yes_no(s.starttls)}</dd>
            <dt>"User base"</dt><dd>{s.user_base.unwrap_or_else(|| "—".into())}</dd>
            <dt>"Group membership"</dt><dd>{s.group_membership}</dd>
            <dt>"Service account"</dt>
            <dd>{if s.service_account { "yes" } else { "no (anonymous searches)" }}</dd>
        </dl>
    }
    .into_any()
}

fn account_view(a: LdapTestAccount) -> impl IntoView {
    let list = |v: &[String]| {
        if v.is_empty() {
            "—".to_owned()
        } else {
            v.join(", ")
        }
    };
    view! {
        <h4>"Account"</h4>
        <dl class="settings-list" data-testid="ldap-test-account">
            <dt>"DN"</dt><dd>{a.dn}</dd>
            <dt>"Username"</dt><dd>{a.username}</dd>
            <dt>"LDAP groups"</dt><dd>{list(&a.ldap_groups)}</dd>
            <dt>"Role"</dt><dd>{a.role.as_str()}</dd>
            <dt>"Server groups"</dt><dd>{list(&a.server_groups)}</dd>
            <dt>"Allowed"</dt><dd>{if a.allowed { "yes" } else { "no: in none of ldap_allowed_groups" }}</dd>
            <dt>"Password"</dt><dd>{if a.password_checked { "checked" } else { "not checked" }}</dd>
        </dl>
    }
}

#[component]
fn OidcCard() -> impl IntoView {
    let session = use_session();
    let status = RwSignal::new(None::<OidcStatus>);
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<OidcTestResult>);

    spawn_local(async move {
        match api::oidc_status().await {
            Ok(s) => {
                let _ = status.try_set(Some(s));
            }
            Err(err) => session.fail("Cannot load the single sign-on settings", &err),
        }
    });

    let test = move |_| {
        busy.set(true);
        spawn_local(async move {
            match api::oidc_test().await {
                Ok(r) => {
                    let _ = result.try_set(Some(r));
                }
                Err(err) => session.fail("Single sign-on test not run", &err),
            }
            let _ = busy.try_set(false);
        });
    };

    view! {
        <div class="card identity-card">
            <h3>"Single sign-on (OIDC)"</h3>
            <div data-testid="oidc-status">
                {move || match status.get() {
                    None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                    Some(s) => oidc_status_view(s).into_any(),
                }}
            </div>
            <div class="identity-test">
                <h4>"Test"</h4>
                <p class="muted small">
                    "Fetches the provider's discovery document and signing keys now."
                </p>
                <div class="modal-actions">
                    <span class="grow"></span>
                    <button class="button primary" data-testid="oidc-test"
                        disabled=move || busy.get()
                        on:click=test>
                        {move || if busy.get() { "Testing…" } else { "Test OIDC" }}
                    </button>
                </div>
            </div>
            {move || result.get().map(|r| view! {
                <div class="test-result" data-testid="oidc-test-result">
                    <Outcome ok=r.ok/>
                    <Steps steps=r.steps/>
                </div>
            })}
        </div>
    }
}

fn oidc_status_view(s: OidcStatus) -> impl IntoView {
    let error = s.error.clone().map(|e| {
        view! {
            <div class="identity-error" role="alert" data-testid="oidc-error">
                <strong>"Settings refused"</strong>
                <p>{e}</p>
            </div>
        }
    });
    if !s.configured {
        return view! {
            <p><span class="badge">"Not configured"</span></p>
            {error}
            <p class="muted">
                "Single sign-on is off. Set " <code>"oidc_issuer"</code> ", "
                <code>"oidc_client_id"</code> ", " <code>"oidc_redirect_url"</code> " and "
                <code>"oidc_client_secret"</code> " (or " <code>"oidc_client_secret_file"</code>
                "); see " <code>"docs/oidc.md"</code> "."
            </p>
        }
        .into_any();
    }
    view! {
        <p><span class="badge badge-ok">"Configured"</span></p>
        <dl class="settings-list">
            <dt>"Issuer"</dt><dd>{s.issuer.unwrap_or_default()}</dd>
            <dt>"Client id"</dt><dd>{s.client_id.unwrap_or_default()}</dd>
            <dt>"Redirect URL"</dt><dd>{s.redirect_url.unwrap_or_default()}</dd>
            <dt>"Scopes"</dt><dd>{s.scopes.join(" ")}</dd>
            <dt>"Groups claim"</dt><dd>{s.groups_claim}</dd>
            <dt>"Button label"</dt><dd>{s.button_label}</dd>
        </dl>
    }
    .into_any()
}

#[component]
fn Outcome(ok: bool) -> impl IntoView {
    view! {
        <p>
            {if ok {
                view! { <span class="badge badge-ok">"Passed"</span> }
            } else {
                view! { <span class="badge badge-fail">"Failed"</span> }
            }}
        </p>
    }
}

/// The steps of a test, in order, with their timings; the failing one stands out.
#[component]
fn Steps(steps: Vec<LdapTestStep>) -> impl IntoView {
    view! {
        <ol class="test-steps">
            {steps.into_iter().map(|s| {
                let name = s.name.clone();
                view! {
                <li class=if s.ok { "step-ok" } else { "step-failed" }
                    data-testid="test-step" data-step=name data-ok=s.ok.to_string()>
                    <span class="step-mark">{if s.ok { "✓" } else { "✗" }}</span>
                    <span class="step-name">{s.name}</span>
                    <span class="muted small step-time">{format!("{} ms", s.millis)}</span>
                    {s.detail.map(|d| view! { <span class="step-detail">{d}</span> })}
                </li>
                }
            }).collect_view()}
        </ol>
    }
}
