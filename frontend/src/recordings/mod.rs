//! Session recordings: a filtered, paged list of the terminal sessions the gateway recorded
//! (everyone sees their own; admins and auditors see all), each to replay in the browser, to
//! download as an asciicast v2 file, or (admins) to delete. The player (asciinema-player) is a
//! separate bundle loaded on the first Play (`player.rs`).

mod filter;
pub(crate) mod format;
mod player;
mod table;

use std::collections::BTreeMap;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::recordings::{RecordingState, RecordingView};

use crate::api::{self, RecordingFilter};
use crate::app::{use_session, Session};
use crate::audit::ReplayRequest;
use crate::dialog::Dialog;
use crate::pager::{Page, Pager};
use crate::servers::use_servers;
use filter::FilterBar;
use player::PlayerPanel;
use table::RecordingsTable;

/// Rows per page.
const PAGE_SIZE: u32 = 25;

/// How often the list reloads while it shows a session still being recorded.
const LIVE_POLL: Duration = Duration::from_secs(5);

/// The screen's state, shared by its parts.
#[derive(Debug, Clone, Copy)]
struct Recordings {
    session: Session,
    /// The filter and page the list shows.
    filter: RwSignal<RecordingFilter>,
    list: RwSignal<Vec<RecordingView>>,
    total: RwSignal<u64>,
    loading: RwSignal<bool>,
    /// The gateway shows this user no recordings at all (`recordings_visible_to_owner` off).
    refused: RwSignal<bool>,
    /// Every server seen so far (the user's servers and those named by recordings), for the
    /// server filter: auditors have no servers, and deleted servers live on in recordings.
    servers: RwSignal<BTreeMap<i32, String>>,
    /// The recording in the player.
    playing: RwSignal<Option<RecordingView>>,
    /// The recording the delete dialog asks about.
    deleting: RwSignal<Option<RecordingView>>,
    /// Bumped by each load, so an answer overtaken by a newer request is dropped.
    generation: StoredValue<u64>,
}

impl Recordings {
    fn new(session: Session) -> Self {
        Recordings {
            session,
            filter: RwSignal::new(RecordingFilter {
                limit: PAGE_SIZE,
                ..Default::default()
            }),
            list: RwSignal::new(Vec::new()),
            total: RwSignal::new(0),
            loading: RwSignal::new(true),
            refused: RwSignal::new(false),
            servers: RwSignal::new(BTreeMap::new()),
            playing: RwSignal::new(None),
            deleting: RwSignal::new(None),
            generation: StoredValue::new(0),
        }
    }

    /// Fetches the page `filter` names.
    fn load(self) {
        let filter = self.filter.get_untracked();
        let generation = self.generation.get_value() + 1;
        self.generation.set_value(generation);
        self.loading.set(true);
        spawn_local(async move {
            let result = api::recordings(&filter).await;
            if self.generation.try_get_value() != Some(generation) {
                return; // unmounted, or a newer load is under way
            }
            match result {
                Ok(page) => {
                    self.servers.update(|known| {
                        for rec in &page.recordings {
                            if let Some(id) = rec.server_id {
                                known.insert(id, rec.server_name.clone());
                            }
                        }
                    });
                    self.total.set(page.total);
                    self.list.set(page.recordings);
                    self.refused.set(false);
                }
                // Users see no recordings at all when the gateway keeps them from their owners.
                Err(err) if err.status == 403 && err.is("forbidden") => self.refused.set(true),
                Err(err) => self.session.fail("Cannot load the recordings", &err),
            }
            self.loading.set(false);
        });
    }

    /// Shows another filter (from its first page) or another page of the same one.
    fn show(self, filter: RecordingFilter) {
        self.filter.set(filter);
        self.load();
    }

    fn delete(self, rec: RecordingView) {
        spawn_local(async move {
            match api::delete_recording(&rec.id).await {
                Ok(()) => {
                    self.session.toasts.success(format!(
                        "Deleted the recording of {} by {}",
                        rec.server_name, rec.username
                    ));
                    if self.playing.get_untracked().is_some_and(|p| p.id == rec.id) {
                        self.playing.set(None);
                    }
                    let _ = self.deleting.try_set(None);
                    // The last row of a later page: step back a page.
                    let mut filter = self.filter.get_untracked();
                    if self.list.with_untracked(Vec::len) == 1 && filter.offset > 0 {
                        filter.offset = filter.offset.saturating_sub(u64::from(filter.limit));
                    }
                    self.show(filter);
                }
                Err(err) => {
                    self.session.fail("Recording not deleted", &err);
                    let _ = self.deleting.try_set(None);
                }
            }
        });
    }
}

#[component]
pub fn RecordingsPanel() -> impl IntoView {
    let session = use_session();
    let state = Recordings::new(session);
    let store = use_servers();
    Effect::new(move |_| {
        let mine = store.list.get();
        state.servers.update(|known| {
            for server in mine {
                known.insert(server.id, server.name);
            }
        });
    });
    state.load();
    // Another view (the audit log) asked for a recording: open it in the player.
    if let Some(ReplayRequest(wanted)) = use_context::<ReplayRequest>() {
        if let Some(id) = wanted.get_untracked() {
            wanted.set(None);
            spawn_local(async move {
                match api::recording(&id).await {
                    Ok(rec) => {
                        let _ = state.playing.try_set(Some(rec));
                    }
                    Err(err) => state.session.fail("Cannot open the recording", &err),
                }
            });
        }
    }

    let poll = set_interval_with_handle(
        move || {
            let live = state
                .list
                .with_untracked(|l| l.iter().any(|r| r.state == RecordingState::Recording));
            if live && !state.loading.get_untracked() {
                state.load();
            }
        },
        LIVE_POLL,
    )
    .ok();
    on_cleanup(move || {
        if let Some(poll) = poll {
            poll.clear();
        }
    });

    view! {
        <section class="panel recordings" data-testid="recordings-panel">
            <div class="panel-head">
                <h2>"Recordings"</h2>
                <span class="muted small" data-testid="recordings-total" class:is-hidden=move || state.refused.get()>
                    {move || match state.total.get() {
                        1 => "1 recording".to_owned(),
                        n => format!("{n} recordings"),
                    }}
                </span>
            </div>
            <Show when=move || !state.refused.get()>
                <FilterBar state/>
            </Show>
            {move || state.playing.get().map(|rec| view! { <PlayerPanel rec state/> })}
            <RecordingsTable state/>
            <Pager test_id="recordings" loading=state.loading
                page=Signal::derive(move || Page {
                    offset: state.filter.with(|f| f.offset),
                    limit: u64::from(state.filter.with(|f| f.limit)),
                    shown: state.list.with(|l| l.len() as u64),
                    total: state.total.get(),
                })
                on_step=Callback::new(move |offset| {
                    let mut filter = state.filter.get_untracked();
                    filter.offset = offset;
                    state.show(filter);
                })/>
            {move || state.deleting.get().map(|rec| view! { <DeleteDialog rec state/> })}
        </section>
    }
}

/// Asks before deleting a recording (admins).
#[component]
fn DeleteDialog(rec: RecordingView, state: Recordings) -> impl IntoView {
    let busy = RwSignal::new(false);
    let close = Callback::new(move |()| state.deleting.set(None));
    let question = format!(
        "The recording of {} by {}, started {}, and its cast file will be deleted for good.",
        rec.server_name,
        rec.username,
        format::local_time(&rec.started_at)
    );
    view! {
        <Dialog name="recording-delete" title="Delete recording" on_close=close>
            <p>{question}</p>
            <div class="modal-actions">
                <span class="grow"></span>
                <button class="button" on:click=move |_| close.run(())>"Cancel"</button>
                <button class="button danger" data-testid="recording-delete-confirm"
                    disabled=move || busy.get()
                    on:click=move |_| {
                        busy.set(true);
                        state.delete(rec.clone());
                    }>
                    "Delete"
                </button>
            </div>
        </Dialog>
    }
}
