//! The audit log for admins and auditors: who did what, to which server and target, from where,
//! and how it ended; filtered, searched, paged and exported. A terminal event links to its
//! session's recording, which opens in the Recordings view's player.

mod filter;
mod query;
mod table;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::audit::AuditEntry;

use crate::app::{use_session, Session};
use crate::pager::{Page, Pager};
use crate::servers::use_servers;
use filter::AuditFilterBar;
pub use query::AuditFilter;
use table::AuditTable;

/// Rows per page.
const PAGE_SIZE: u32 = 50;

/// A recording another view asked the Recordings view to open (by id), provided as context.
#[derive(Debug, Clone, Copy)]
pub struct ReplayRequest(pub RwSignal<Option<String>>);

/// The screen's state, shared by its parts.
#[derive(Debug, Clone, Copy)]
struct Audit {
    session: Session,
    filter: RwSignal<AuditFilter>,
    entries: RwSignal<Vec<AuditEntry>>,
    total: RwSignal<u64>,
    loading: RwSignal<bool>,
    /// The row whose details are unfolded.
    open: RwSignal<Option<i32>>,
    /// Bumped by each load, so an answer overtaken by a newer request is dropped.
    generation: StoredValue<u64>,
}

impl Audit {
    fn load(self) {
        let filter = self.filter.get_untracked();
        let generation = self.generation.get_value() + 1;
        self.generation.set_value(generation);
        self.loading.set(true);
        spawn_local(async move {
            let result = query::page(&filter).await;
            if self.generation.try_get_value() != Some(generation) {
                return; // unmounted, or a newer load is under way
            }
            match result {
                Ok(page) => {
                    self.total.set(page.total);
                    self.entries.set(page.entries);
                }
                Err(err) => self.session.fail("Cannot load the audit log", &err),
            }
            self.loading.set(false);
        });
    }

    fn show(self, filter: AuditFilter) {
        self.filter.set(filter);
        self.load();
    }
}

#[component]
pub fn AuditPanel() -> impl IntoView {
    let session = use_session();
    let state = Audit {
        session,
        filter: RwSignal::new(AuditFilter {
            limit: PAGE_SIZE,
            ..Default::default()
        }),
        entries: RwSignal::new(Vec::new()),
        total: RwSignal::new(0),
        loading: RwSignal::new(true),
        open: RwSignal::new(None),
        generation: StoredValue::new(0),
    };
    let servers = use_servers();
    state.load();

    view! {
        <section class="panel audit" data-testid="audit-panel">
            <div class="panel-head">
                <h2>"Audit log"</h2>
                <span class="muted small" data-testid="audit-total">
                    {move || match state.total.get() {
                        1 => "1 event".to_owned(),
                        n => format!("{n} events"),
                    }}
                </span>
                <span class="grow"></span>
                <a class="button small" data-testid="audit-export-csv" download=""
                    href=move || state.filter.with(|f| query::export_url(f, "csv"))
                    title="Every matching event as CSV">"Export CSV"</a>
                <a class="button small" data-testid="audit-export-jsonl" download=""
                    href=move || state.filter.with(|f| query::export_url(f, "jsonl"))
                    title="Every matching event as JSON Lines">"Export JSONL"</a>
            </div>
            <AuditFilterBar state servers=servers.list/>
            <AuditTable state servers=servers.list/>
            <Pager test_id="audit" loading=state.loading
                page=Signal::derive(move || Page {
                    offset: state.filter.with(|f| f.offset),
                    limit: u64::from(state.filter.with(|f| f.limit)),
                    shown: state.entries.with(|l| l.len() as u64),
                    total: state.total.get(),
                })
                on_step=Callback::new(move |offset| {
                    let mut filter = state.filter.get_untracked();
                    filter.offset = offset;
                    state.show(filter);
                })/>
        </section>
    }
}
