//! User accounts (admins): list, create, edit (role, server groups, password), disable /
//! enable, delete, and reset a lost second factor.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::auth::MIN_PASSWORD_LEN;
use wire::users::{CreateUserRequest, Role, UpdateUserRequest, UserView};

use crate::api;
use crate::app::use_session;
use crate::dialog::Dialog;

#[component]
pub fn UsersPanel() -> impl IntoView {
    let session = use_session();
    let users = RwSignal::new(Vec::<UserView>::new());
    let loading = RwSignal::new(true);
    let creating = RwSignal::new(false);

    spawn_local(async move {
        match api::users().await {
            Ok(list) => {
                let _ = users.try_set(list);
            }
            Err(err) => session.fail("Cannot load the users", &err),
        }
        let _ = loading.try_set(false);
    });

    let me = move || session.user().map(|u| u.id);

    view! {
        <section class="panel" data-testid="users-panel">
            <div class="panel-head">
                <h2>"Users"</h2>
                <button class="button primary small" data-testid="add-user" on:click=move |_| creating.set(true)>
                    "+ Add user"
                </button>
            </div>
            <Show when=move || creating.get()>
                <CreateUserForm users creating/>
            </Show>
            <Show when=move || loading.get()>
                <p class="muted">"Loading…"</p>
            </Show>
            <table class="table">
                <thead>
                    <tr>
                        <th>"Username"</th>
                        <th>"Role"</th>
                        <th>"Sign-in"</th>
                        <th>"Server groups"</th>
                        <th>"Status"</th>
                        <th>"Created"</th>
                        <th class="actions-col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || users.get()
                        key=|u| (
                            u.id,
                            u.disabled,
                            u.role,
                            u.must_change_password,
                            u.totp_enabled,
                            u.allowed_groups.clone(),
                        )
                        let:user
                    >
                        <UserRow is_me=me() == Some(user.id) user users/>
                    </For>
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn UserRow(user: UserView, users: RwSignal<Vec<UserView>>, is_me: bool) -> impl IntoView {
    let session = use_session();
    let confirm_delete = RwSignal::new(false);
    let confirm_reset = RwSignal::new(false);
    let editing = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let id = user.id;
    let disabled = user.disabled;
    let username = user.username.clone();

    let toggle = {
        let username = username.clone();
        move |_| {
            busy.set(true);
            let body = UpdateUserRequest {
                disabled: Some(!disabled),
                ..Default::default()
            };
            let username = username.clone();
            spawn_local(async move {
                match api::update_user(id, &body).await {
                    Ok(updated) => {
                        let verb = if updated.disabled {
                            "Disabled"
                        } else {
                            "Enabled"
                        };
                        session.toasts.success(format!("{verb} {username}"));
                        users.update(|list| {
                            if let Some(slot) = list.iter_mut().find(|u| u.id == id) {
                                *slot = updated;
                            }
                        });
                    }
                    Err(err) => session.fail("User not changed", &err),
                }
                let _ = busy.try_set(false);
            });
        }
    };
    let delete = {
        let username = username.clone();
        move |_| {
            if !confirm_delete.get_untracked() {
                confirm_delete.set(true);
                return;
            }
            busy.set(true);
            let username = username.clone();
            spawn_local(async move {
                match api::delete_user(id).await {
                    Ok(()) => {
                        session.toasts.success(format!("Deleted {username}"));
                        users.update(|list| list.retain(|u| u.id != id));
                    }
                    Err(err) => {
                        session.fail("User not deleted", &err);
                        let _ = busy.try_set(false);
                    }
                }
            });
        }
    };

    let status = if user.disabled {
        ("badge badge-muted", "Disabled")
    } else if user.must_change_password {
        ("badge badge-warn", "Must change password")
    } else {
        ("badge badge-ok", "Active")
    };
    let groups = if user.allowed_groups.is_empty() {
        "—".to_owned()
    } else {
        user.allowed_groups.join(", ")
    };
    let created = user
        .created_at
        .get(..10)
        .unwrap_or(&user.created_at)
        .to_owned();

    let reset_name = username.clone();
    let edited = user.clone();
    let source = match user.auth_source.as_str() {
        "" => "local".to_owned(),
        other => other.to_owned(),
    };

    view! {
        <tr data-testid="user-row" data-username=username.clone()>
            <td>
                <span class="user-name">{username.clone()}</span>
                {is_me.then(|| view! { <span class="badge">"you"</span> })}
            </td>
            <td>{user.role.as_str()}</td>
            <td>
                <span class="muted" data-testid="user-auth-source">{source}</span>
                {user.totp_enabled.then(|| view! {
                    " " <span class="badge badge-ok" data-testid="user-2fa" title="Two-factor authentication is on">"2FA"</span>
                })}
            </td>
            <td>{groups}</td>
            <td><span class=status.0>{status.1}</span></td>
            <td class="muted">{created}</td>
            <td class="actions-col">
                <button class="button small" data-testid="edit-user"
                    disabled=move || busy.get()
                    on:click=move |_| editing.set(true)>
                    "Edit"
                </button>
                {user.totp_enabled.then(|| view! {
                    <button class="button small" data-testid="reset-totp"
                        title=if is_me { "Use Two-factor authentication in your user menu" } else { "" }
                        disabled=move || is_me || busy.get()
                        on:click=move |_| confirm_reset.set(true)>
                        "Reset 2FA"
                    </button>
                })}
                <Show when=move || confirm_reset.get()>
                    <ResetTotpDialog id username=reset_name.clone() users open=confirm_reset/>
                </Show>
                <button class="button small" data-testid="toggle-user"
                    disabled=move || is_me || busy.get()
                    on:click=toggle>
                    {if disabled { "Enable" } else { "Disable" }}
                </button>
                <button class="button small danger-outline" data-testid="delete-user"
                    disabled=move || is_me || busy.get()
                    on:click=delete>
                    {move || if confirm_delete.get() { "Really delete?" } else { "Delete" }}
                </button>
                <Show when=move || editing.get()>
                    <EditUserDialog user=edited.clone() users open=editing is_me/>
                </Show>
            </td>
        </tr>
    }
}

/// Changes a user's role and server groups, and sets a new password for a local account. For
/// directory and SSO accounts the role and groups come back from the provider at each sign-in,
/// and there is no local password to set.
#[component]
fn EditUserDialog(
    user: UserView,
    users: RwSignal<Vec<UserView>>,
    open: RwSignal<bool>,
    is_me: bool,
) -> impl IntoView {
    let session = use_session();
    let id = user.id;
    let external = matches!(user.auth_source.as_str(), "ldap" | "oidc");
    let source = if user.auth_source == "ldap" {
        "the LDAP directory"
    } else {
        "the single sign-on provider"
    };
    let role = RwSignal::new(user.role);
    let groups = RwSignal::new(user.allowed_groups.join(", "));
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let close = Callback::new(move |()| open.set(false));
    let original = user.clone();
    let username = user.username.clone();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let new_password = password.get_untracked();
        if !new_password.is_empty() && new_password.chars().count() < MIN_PASSWORD_LEN {
            error.set(Some(format!(
                "The password needs at least {MIN_PASSWORD_LEN} characters."
            )));
            return;
        }
        let new_groups: Vec<String> = groups
            .get_untracked()
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect();
        let new_role = role.get_untracked();
        // Only what changed: an unchanged role is not sent, so editing yourself never trips the
        // "cannot demote yourself" rule.
        let body = UpdateUserRequest {
            password: (!external && !new_password.is_empty()).then_some(new_password),
            role: (new_role != original.role).then_some(new_role),
            allowed_groups: (new_groups != original.allowed_groups).then_some(new_groups),
            disabled: None,
        };
        if body == UpdateUserRequest::default() {
            open.set(false);
            return;
        }
        busy.set(true);
        error.set(None);
        let username = original.username.clone();
        spawn_local(async move {
            let password_set = body.password.is_some();
            match api::update_user(id, &body).await {
                Ok(updated) => {
                    let note = if password_set {
                        " (new password set; their sessions ended)"
                    } else {
                        ""
                    };
                    session.toasts.success(format!("Saved {username}{note}"));
                    users.update(|list| {
                        if let Some(slot) = list.iter_mut().find(|u| u.id == id) {
                            *slot = updated;
                        }
                    });
                    let _ = open.try_set(false);
                }
                Err(err) => {
                    let _ = error.try_set(Some(err.message));
                    let _ = busy.try_set(false);
                }
            }
        });
    };

    view! {
        <Dialog name="edit-user" title="Edit user" on_close=close>
            <form on:submit=submit autocomplete="off">
                <p>"Account " <strong>{username}</strong></p>
                {external.then(|| view! {
                    <p class="notice" data-testid="edit-user-external">
                        "This account signs in through " {source} ". Its role and server groups are "
                        "set again from the provider at each sign-in, so changes here last only "
                        "until then; it has no password here to reset."
                    </p>
                })}
                <div class="form-grid">
                    <label for="edit-user-role">"Role"</label>
                    <select id="edit-user-role" data-testid="edit-user-role"
                        disabled=is_me
                        title=if is_me { "You cannot change your own role" } else { "" }
                        prop:value=move || role.get().as_str()
                        on:change=move |ev| role.set(Role::parse(&event_target_value(&ev)).unwrap_or_default())>
                        <option value="user">"User"</option>
                        <option value="admin">"Admin"</option>
                        <option value="auditor">"Auditor"</option>
                    </select>
                    <label for="edit-user-groups">"Server groups"</label>
                    <input id="edit-user-groups" data-testid="edit-user-groups" placeholder="Comma separated"
                        prop:value=move || groups.get()
                        on:input=move |ev| groups.set(event_target_value(&ev))/>
                    {(!external).then(|| view! {
                        <label for="edit-user-password">"New password"</label>
                        <input id="edit-user-password" data-testid="edit-user-password" type="password"
                            autocomplete="new-password" placeholder="Leave empty to keep it"
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))/>
                        <span></span>
                        <p class="muted small">"Setting a password ends the user's sessions."</p>
                    })}
                    <Show when=move || error.get().is_some()>
                        <p class="form-error span-2" role="alert" data-testid="edit-user-error">
                            {move || error.get().unwrap_or_default()}
                        </p>
                    </Show>
                    <div class="modal-actions span-2">
                        <span class="grow"></span>
                        <button type="button" class="button" on:click=move |_| close.run(())>"Cancel"</button>
                        <button type="submit" class="button primary" data-testid="edit-user-save"
                            disabled=move || busy.get()>
                            "Save"
                        </button>
                    </div>
                </div>
            </form>
        </Dialog>
    }
}

/// Confirms turning off another user's second factor (a lost phone).
#[component]
fn ResetTotpDialog(
    id: i32,
    username: String,
    users: RwSignal<Vec<UserView>>,
    open: RwSignal<bool>,
) -> impl IntoView {
    let session = use_session();
    let busy = RwSignal::new(false);
    let close = Callback::new(move |()| open.set(false));
    let reset = {
        let username = username.clone();
        move |_| {
            busy.set(true);
            let username = username.clone();
            spawn_local(async move {
                match api::reset_user_totp(id).await {
                    Ok(()) => {
                        session
                            .toasts
                            .success(format!("Two-factor authentication reset for {username}"));
                        users.update(|list| {
                            if let Some(user) = list.iter_mut().find(|u| u.id == id) {
                                user.totp_enabled = false;
                            }
                        });
                        let _ = open.try_set(false);
                    }
                    Err(err) => {
                        session.fail("Two-factor authentication not reset", &err);
                        let _ = busy.try_set(false);
                    }
                }
            });
        }
    };
    view! {
        <Dialog name="reset-totp" title="Reset two-factor authentication" on_close=close>
            <p>
                "Turn off two-factor authentication for " <strong>{username}</strong>
                "? Their sessions end now. If the gateway requires a second factor, they set up                  a new one at their next sign-in."
            </p>
            <div class="modal-actions">
                <span class="grow"></span>
                <button class="button" on:click=move |_| close.run(())>"Cancel"</button>
                <button class="button danger" data-testid="reset-totp-confirm"
                    disabled=move || busy.get()
                    on:click=reset>
                    "Reset 2FA"
                </button>
            </div>
        </Dialog>
    }
}

#[component]
fn CreateUserForm(users: RwSignal<Vec<UserView>>, creating: RwSignal<bool>) -> impl IntoView {
    let session = use_session();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::User);
    let groups = RwSignal::new(String::new());
    let must_change = RwSignal::new(true);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let password = password.get_untracked();
        if password.chars().count() < MIN_PASSWORD_LEN {
            error.set(Some(format!(
                "The password needs at least {MIN_PASSWORD_LEN} characters."
            )));
            return;
        }
        let body = CreateUserRequest {
            username: username.get_untracked().trim().to_owned(),
            password,
            role: role.get_untracked(),
            allowed_groups: groups
                .get_untracked()
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
            must_change_password: must_change.get_untracked(),
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::create_user(&body).await {
                Ok(user) => {
                    session.toasts.success(format!("Created {}", user.username));
                    users.update(|list| list.push(user));
                    creating.set(false);
                }
                Err(err) => {
                    session.fail("User not created", &err);
                    let _ = error.try_set(Some(err.message));
                    let _ = busy.try_set(false);
                }
            }
        });
    };

    view! {
        <form class="card inline-form" on:submit=submit data-testid="create-user-form" autocomplete="off">
            <div class="form-grid">
                <label for="new-user-username">"Username"</label>
                <input id="new-user-username" required
                    prop:value=move || username.get()
                    on:input=move |ev| username.set(event_target_value(&ev))/>
                <label for="new-user-password">"Password"</label>
                <input id="new-user-password" type="password" autocomplete="new-password" required
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))/>
                <label for="new-user-role">"Role"</label>
                <select id="new-user-role"
                    prop:value=move || role.get().as_str()
                    on:change=move |ev| role.set(Role::parse(&event_target_value(&ev)).unwrap_or_default())>
                    <option value="user">"User"</option>
                    <option value="admin">"Admin"</option>
                    <option value="auditor">"Auditor"</option>
                </select>
                <label for="new-user-groups">"Server groups"</label>
                <input id="new-user-groups" placeholder="Comma separated"
                    prop:value=move || groups.get()
                    on:input=move |ev| groups.set(event_target_value(&ev))/>
                <span></span>
                <label class="check">
                    <input id="new-user-must-change" type="checkbox"
                        prop:checked=move || must_change.get()
                        on:change=move |ev| must_change.set(event_target_checked(&ev))/>
                    " Must choose a new password at first sign-in"
                </label>
                <Show when=move || error.get().is_some()>
                    <p class="form-error span-2" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <div class="modal-actions span-2">
                    <span class="grow"></span>
                    <button type="button" class="button" on:click=move |_| creating.set(false)>"Cancel"</button>
                    <button type="submit" class="button primary" disabled=move || busy.get()>"Create user"</button>
                </div>
            </div>
        </form>
    }
}
