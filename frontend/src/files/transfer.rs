//! Transfers in flight: uploads and copies/moves between panes, each with a progress bar and a
//! cancel button, in a strip under the panes.
//!
//! A copy is `POST copy-to`, whose answer is JSON Lines of `CopyEvent`s read off the response
//! body as it arrives (fetch + `ReadableStream` reader). Cancelling aborts the request (an
//! `AbortController`, or the upload's `XMLHttpRequest`), which makes the gateway stop and remove
//! the partial file.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Reflect, Uint8Array};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, ReadableStreamDefaultReader, RequestCredentials, RequestInit, Response,
    XmlHttpRequest,
};
use wire::files::{CopyEvent, CopyRequest};

use super::paths::human_size;
use super::use_files;
use crate::api::{self, ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    Upload,
    Copy,
    Move,
}

impl TransferKind {
    fn label(self) -> &'static str {
        match self {
            TransferKind::Upload => "Upload",
            TransferKind::Copy => "Copy",
            TransferKind::Move => "Move",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferState {
    Queued,
    Running,
    Done,
    Skipped,
    Cancelled,
    Failed(String),
}

impl TransferState {
    fn as_str(&self) -> &'static str {
        match self {
            TransferState::Queued => "queued",
            TransferState::Running => "running",
            TransferState::Done => "done",
            TransferState::Skipped => "skipped",
            TransferState::Cancelled => "cancelled",
            TransferState::Failed(_) => "failed",
        }
    }

    pub fn is_finished(&self) -> bool {
        !matches!(self, TransferState::Queued | TransferState::Running)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: u32,
    pub kind: TransferKind,
    /// What moves: a file name or relative path.
    pub label: String,
    /// Where it goes.
    pub target: String,
    /// The file being copied right now (folder copies).
    pub current: String,
    pub total: u64,
    pub done: u64,
    pub state: TransferState,
}

/// How to stop a running transfer.
pub enum Abort {
    Xhr(XmlHttpRequest),
    Fetch(AbortController),
}

thread_local! {
    static ABORTS: RefCell<HashMap<u32, Abort>> = RefCell::new(HashMap::new());
}

pub fn register_abort(id: u32, abort: Abort) {
    ABORTS.with(|a| a.borrow_mut().insert(id, abort));
}

pub fn unregister_abort(id: u32) {
    ABORTS.with(|a| a.borrow_mut().remove(&id));
}

/// The transfer list, part of `Files`.
#[derive(Debug, Clone, Copy)]
pub struct Transfers {
    pub list: RwSignal<Vec<Transfer>>,
    next_id: StoredValue<u32>,
}

impl Transfers {
    pub fn new() -> Self {
        Transfers {
            list: RwSignal::new(Vec::new()),
            next_id: StoredValue::new(1),
        }
    }

    pub fn add(&self, kind: TransferKind, label: String, target: String, total: u64) -> u32 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.list.update(|list| {
            list.push(Transfer {
                id,
                kind,
                label,
                target,
                current: String::new(),
                total,
                done: 0,
                state: TransferState::Queued,
            })
        });
        id
    }

    pub fn update(&self, id: u32, f: impl FnOnce(&mut Transfer)) {
        let _ = self.list.try_update(|list| {
            if let Some(t) = list.iter_mut().find(|t| t.id == id) {
                f(t);
            }
        });
    }

    pub fn set_state(&self, id: u32, state: TransferState) {
        self.update(id, |t| {
            if state == TransferState::Done {
                t.done = t.total;
            }
            t.state = state;
        });
    }

    pub fn state(&self, id: u32) -> Option<TransferState> {
        self.list
            .try_with_untracked(|list| list.iter().find(|t| t.id == id).map(|t| t.state.clone()))
            .flatten()
    }

    /// Stops a transfer: a queued one never starts, a running one is aborted.
    pub fn cancel(&self, id: u32) {
        if self.state(id).is_some_and(|s| !s.is_finished()) {
            self.set_state(id, TransferState::Cancelled);
        }
        if let Some(abort) = ABORTS.with(|a| a.borrow_mut().remove(&id)) {
            match abort {
                Abort::Xhr(xhr) => {
                    let _ = xhr.abort();
                }
                Abort::Fetch(controller) => controller.abort(),
            }
        }
    }

    pub fn clear_finished(&self) {
        self.list.update(|l| l.retain(|t| !t.state.is_finished()));
    }
}

impl Default for Transfers {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a streamed copy stopped short.
pub fn aborted() -> ApiError {
    ApiError {
        status: 0,
        code: "aborted".to_owned(),
        message: "Cancelled.".to_owned(),
    }
}

/// Runs `POST copy-to` for transfer `id`, following its progress until `done` or `error`.
/// A refusal before the copy starts (policy, `exists`, …) is the usual HTTP error.
pub async fn copy_to(
    transfers: Transfers,
    id: u32,
    source_server: i32,
    request: &CopyRequest,
) -> ApiResult<()> {
    let body = serde_json::to_string(request).map_err(ApiError::network)?;
    let controller = AbortController::new().map_err(|_| ApiError::network("AbortController"))?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_body(&JsValue::from_str(&body));
    init.set_signal(Some(&controller.signal()));
    let headers = js_sys::Object::new();
    let _ = Reflect::set(&headers, &"Content-Type".into(), &"application/json".into());
    let _ = Reflect::set(&headers, &"Accept".into(), &"application/x-ndjson".into());
    init.set_headers(&headers);
    register_abort(id, Abort::Fetch(controller));
    let result = run_copy(id, source_server, &init, transfers).await;
    unregister_abort(id);
    if transfers.state(id) == Some(TransferState::Cancelled) {
        return Err(aborted());
    }
    result
}

async fn run_copy(
    id: u32,
    source_server: i32,
    init: &RequestInit,
    transfers: Transfers,
) -> ApiResult<()> {
    let promise = window().fetch_with_str_and_init(&api::copy_to_url(source_server), init);
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(|e| fetch_error(&e))?
        .unchecked_into();
    if !response.ok() {
        let text = match response.text() {
            Ok(p) => JsFuture::from(p)
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        return Err(ApiError::from_body(
            response.status(),
            &response.status_text(),
            &text,
        ));
    }
    let Some(body) = response.body() else {
        return Err(ApiError::network("empty answer"));
    };
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| fetch_error(&e))?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if let Ok(value) = Reflect::get(&chunk, &"value".into()) {
            if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
                buffer.extend(bytes.to_vec());
            }
        }
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            if let Some(outcome) = apply_event(id, &line, transfers) {
                return outcome;
            }
        }
        if done {
            if let Some(outcome) = apply_event(id, &buffer, transfers) {
                return outcome;
            }
            return Err(ApiError {
                status: 0,
                code: "connection_lost".to_owned(),
                message: "The copy stopped before it finished.".to_owned(),
            });
        }
    }
}

/// Applies one JSON line; `Some` when the copy is over.
fn apply_event(id: u32, line: &[u8], transfers: Transfers) -> Option<ApiResult<()>> {
    let line = std::str::from_utf8(line).ok()?.trim();
    if line.is_empty() {
        return None;
    }
    match serde_json::from_str::<CopyEvent>(line).ok()? {
        CopyEvent::Start {
            bytes, target_path, ..
        } => {
            transfers.update(id, |t| {
                t.total = bytes;
                t.target = target_path;
                t.state = TransferState::Running;
            });
            None
        }
        CopyEvent::Progress {
            bytes_done,
            current,
            ..
        } => {
            transfers.update(id, |t| {
                t.done = bytes_done;
                t.current = current;
            });
            None
        }
        CopyEvent::Done { target_path, .. } => {
            transfers.update(id, |t| t.target = target_path);
            Some(Ok(()))
        }
        CopyEvent::Error { code, message } => Some(Err(ApiError {
            status: 0,
            code,
            message,
        })),
    }
}

fn fetch_error(err: &JsValue) -> ApiError {
    let name = Reflect::get(err, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    if name == "AbortError" {
        aborted()
    } else {
        ApiError::network("the connection dropped")
    }
}

fn percent(t: &Transfer) -> f64 {
    if t.state == TransferState::Done {
        100.0
    } else if t.total == 0 {
        0.0
    } else {
        (t.done as f64 / t.total as f64 * 100.0).min(100.0)
    }
}

#[component]
pub fn TransferPanel() -> impl IntoView {
    let transfers = use_files().transfers;
    let any = move || transfers.list.with(|l| !l.is_empty());
    let running = move || {
        transfers
            .list
            .with(|l| l.iter().filter(|t| !t.state.is_finished()).count())
    };
    view! {
        <Show when=any>
            <section class="transfers" data-testid="transfers" aria-label="Transfers">
                <div class="transfers-head">
                    <h3>"Transfers"</h3>
                    <span class="muted small">{move || format!("{} running", running())}</span>
                    <span class="grow"></span>
                    <button class="button small" data-testid="clear-transfers" on:click=move |_| transfers.clear_finished()>
                        "Clear finished"
                    </button>
                </div>
                <ul class="transfer-list">
                    <For each=move || transfers.list.get() key=|t| t.id let:t>
                        <TransferRow id=t.id/>
                    </For>
                </ul>
            </section>
        </Show>
    }
}

#[component]
fn TransferRow(id: u32) -> impl IntoView {
    let transfers = use_files().transfers;
    let current = Memo::new(move |_| {
        transfers
            .list
            .with(|l| l.iter().find(|t| t.id == id).cloned())
    });
    let get = move |f: fn(&Transfer) -> String| {
        move || current.with(|t| t.as_ref().map(f).unwrap_or_default())
    };
    let finished = move || current.with(|t| t.as_ref().is_none_or(|t| t.state.is_finished()));
    let failed = move || {
        current.with(|t| matches!(t.as_ref().map(|t| &t.state), Some(TransferState::Failed(_))))
    };
    let pct = move || current.with(|t| t.as_ref().map(percent).unwrap_or_default());
    view! {
        <li
            class="transfer"
            data-testid="transfer"
            data-state=get(|t| t.state.as_str().to_owned())
            data-kind=get(|t| t.kind.label().to_lowercase())
        >
            <div class="transfer-line">
                <span class="badge">{get(|t| t.kind.label().to_owned())}</span>
                <span class="transfer-label" title=get(|t| t.label.clone())>{get(|t| t.label.clone())}</span>
                <span class="transfer-target muted small" title=get(detail)>{get(detail)}</span>
                <span class="grow"></span>
                <span class="transfer-status small" class=("failed", failed) data-testid="transfer-status">{get(status)}</span>
                <Show when=move || !finished()>
                    <button class="icon-button" title="Cancel" aria-label="Cancel" data-testid="transfer-cancel"
                        on:click=move |_| transfers.cancel(id)>
                        "×"
                    </button>
                </Show>
            </div>
            <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=move || format!("{:.0}", pct())>
                <div class="progress-bar" style=move || format!("width: {:.1}%", pct())></div>
            </div>
        </li>
    }
}

fn status(t: &Transfer) -> String {
    match &t.state {
        TransferState::Queued => "Waiting".to_owned(),
        TransferState::Running if t.total > 0 => {
            format!("{} of {}", human_size(t.done), human_size(t.total))
        }
        TransferState::Running => "Starting…".to_owned(),
        TransferState::Done => format!("Done · {}", human_size(t.total)),
        TransferState::Skipped => "Skipped".to_owned(),
        TransferState::Cancelled => "Cancelled".to_owned(),
        TransferState::Failed(msg) => format!("Failed: {msg}"),
    }
}

fn detail(t: &Transfer) -> String {
    if t.current.is_empty() {
        format!("→ {}", t.target)
    } else {
        format!("→ {} ({})", t.target, t.current)
    }
}
