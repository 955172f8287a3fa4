//! "Import known_hosts" (admins): paste an OpenSSH `known_hosts` file, preview what it would pin
//! (a dry run), then import it. The answer lists what was pinned, what already matched, the
//! conflicts left alone and the lines skipped.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::servers::{KnownHostsImportReport, KnownHostsImportRequest};

use super::use_servers;
use crate::api;
use crate::app::use_session;
use crate::dialog::Dialog;

/// The sidebar button and, once clicked, the dialog.
#[component]
pub fn ImportKnownHosts() -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <button
            class="button small"
            id="import-known-hosts"
            data-testid="import-known-hosts"
            title="Pin host keys from an OpenSSH known_hosts file"
            on:click=move |_| open.set(true)
        >
            "known_hosts"
        </button>
        <Show when=move || open.get()>
            <KnownHostsDialog open/>
        </Show>
    }
}

#[component]
fn KnownHostsDialog(open: RwSignal<bool>) -> impl IntoView {
    let session = use_session();
    let store = use_servers();
    let text = RwSignal::new(String::new());
    let replace = RwSignal::new(false);
    let busy = RwSignal::new(false);
    // The last answer, and whether it was a preview.
    let result = RwSignal::new(None::<(bool, KnownHostsImportReport)>);
    let error = RwSignal::new(None::<String>);
    let close = Callback::new(move |()| open.set(false));

    let run = move |dry_run: bool| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let body = KnownHostsImportRequest {
            known_hosts: text.get_untracked(),
            replace: replace.get_untracked(),
            dry_run,
        };
        spawn_local(async move {
            match api::import_known_hosts(&body).await {
                Ok(report) => {
                    if !dry_run {
                        let pinned = report.pinned.len();
                        session
                            .toasts
                            .success(format!("known_hosts imported: {pinned} pinned"));
                        store.reload(session);
                    }
                    let _ = result.try_set(Some((dry_run, report)));
                }
                Err(err) if err.is_unauthenticated() => session.fail("", &err),
                Err(err) => {
                    let _ = error.try_set(Some(err.message));
                }
            }
            let _ = busy.try_set(false);
        });
    };

    view! {
        <Dialog name="known-hosts" title="Import known_hosts" on_close=close wide=true>
            <div class="stack">
                <label for="known-hosts-text">
                    "Paste a known_hosts file: each registered server gets the key it lists"
                </label>
                <textarea
                    id="known-hosts-text"
                    rows="10"
                    spellcheck="false"
                    class="mono"
                    placeholder="[db.example.org]:2222 ssh-ed25519 AAAA…"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
                <label class="check">
                    <input
                        id="known-hosts-replace"
                        type="checkbox"
                        prop:checked=move || replace.get()
                        on:change=move |ev| replace.set(event_target_checked(&ev))
                    />
                    " Replace pins that differ from the file"
                </label>
                <Show when=move || error.get().is_some()>
                    <p class="form-error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                {move || result.get().map(|(dry_run, report)| view! { <ReportView dry_run report/> })}
                <div class="modal-actions">
                    <span class="grow"></span>
                    <button
                        type="button"
                        class="button"
                        id="known-hosts-preview"
                        data-testid="known-hosts-preview"
                        disabled=move || busy.get()
                        on:click=move |_| run(true)
                    >
                        "Preview"
                    </button>
                    <button
                        type="button"
                        class="button primary"
                        id="known-hosts-submit"
                        data-testid="known-hosts-submit"
                        disabled=move || busy.get()
                        on:click=move |_| run(false)
                    >
                        {move || if busy.get() { "Importing…" } else { "Import" }}
                    </button>
                </div>
            </div>
        </Dialog>
    }
}

/// One line per server touched and per warning, each tagged with `data-outcome`.
#[component]
fn ReportView(dry_run: bool, report: KnownHostsImportReport) -> impl IntoView {
    let verb = if dry_run { "would pin" } else { "pinned" };
    let pinned = report.pinned.into_iter().map(move |p| {
        let replaced = p
            .replaced_fingerprint
            .map(|old| format!(" (replaces {old})"))
            .unwrap_or_default();
        let line = format!(
            "{}: {verb} {} {}{replaced}",
            p.name, p.key_type, p.fingerprint
        );
        view! { <li data-outcome="pinned" data-server-id=p.server_id>{line}</li> }
    });
    let unchanged = report.unchanged.into_iter().map(|u| {
        let line = format!("{}: already pinned to a key in the file", u.name);
        view! { <li data-outcome="unchanged" data-server-id=u.server_id>{line}</li> }
    });
    let conflicts = report.conflicts.into_iter().map(|c| {
        let pinned = c.pinned.unwrap_or_else(|| "nothing".to_owned());
        let line = format!(
            "{}: not changed ({}): pinned {pinned}, file {}",
            c.name, c.reason, c.file
        );
        view! { <li data-outcome="conflict" data-server-id=c.server_id>{line}</li> }
    });
    let warnings = report
        .warnings
        .into_iter()
        .map(|w| view! { <li data-outcome="warning">{w}</li> });
    let unmatched = report.unmatched_servers;
    view! {
        <div id="known-hosts-result" data-testid="known-hosts-result" data-dry-run=dry_run.to_string()>
            <ul class="test-report mono small">
                {pinned.collect_view()}
                {unchanged.collect_view()}
                {conflicts.collect_view()}
                {warnings.collect_view()}
            </ul>
            <p class="muted small">{format!("{unmatched} server(s) not listed in the file")}</p>
        </div>
    }
}
