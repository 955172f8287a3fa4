//! The player panel: asciinema-player replaying one recording above the list.
//!
//! `frontend/js/player.js` is bundled by esbuild into `assets/player.js` (defining
//! `window.GatehousePlayer`) with the player's stylesheet beside it, `assets/player.css`. Neither
//! is in index.html: the first Play injects both (crate::lazy). The script fetches the cast from
//! `GET /api/recordings/{id}/cast`, same-origin, so the session cookie authenticates it, once
//! per panel (each fetch is an audited playback). The progress bar shows the cast's join / leave
//! / kick markers. Speed, idle-time skipping and the theme are creation options, so changing one
//! recreates the player where it was.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use js_sys::{Object, Reflect};
use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;
use wire::recordings::RecordingView;

use super::{format, Recordings};
use crate::api::{self, ApiError};
use crate::lazy::Bundle;
use crate::theme::{use_theme, Theme};

#[wasm_bindgen]
extern "C" {
    /// What `GatehousePlayer.create` returns.
    pub type Replay;

    #[wasm_bindgen(js_namespace = GatehousePlayer, js_name = create)]
    fn create_replay(parent: &HtmlElement, cast_url: &str, options: &JsValue) -> Replay;

    #[wasm_bindgen(js_namespace = GatehousePlayer, js_name = dispose)]
    fn dispose_replay(handle: &Replay);

    /// Recreates the player with changed options, at the same time.
    #[wasm_bindgen(method)]
    fn update(this: &Replay, options: &JsValue);
}

/// `assets/player.js` and `assets/player.css`, injected on the first Play.
const BUNDLE: Bundle = Bundle {
    script: "assets/player.js",
    global: "GatehousePlayer",
    stylesheet: Some("assets/player.css"),
    test_id: "player-script",
};

/// The speeds offered, as the select's values.
const SPEEDS: [(&str, &str); 4] = [("0.5", "0.5×"), ("1", "1×"), ("2", "2×"), ("4", "4×")];

/// Pauses longer than this many seconds are cut short when idle time is skipped.
const IDLE_TIME_LIMIT: f64 = 2.0;

thread_local! {
    /// The players on screen, by panel id (a panel being replaced may briefly overlap the next).
    static LIVE: RefCell<HashMap<u64, Live>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

struct Live {
    replay: Replay,
    /// Called with the status and body of a failed cast fetch.
    _on_error: Closure<dyn FnMut(u16, String)>,
}

fn dispose_live(id: u64) {
    if let Some(live) = LIVE.with(|live| live.borrow_mut().remove(&id)) {
        dispose_replay(&live.replay);
    }
}

/// What the player is created with.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Options {
    speed: f64,
    skip_idle: bool,
    dark: bool,
}

impl Options {
    fn to_js(self, rec: &RecordingView) -> JsValue {
        let options = Object::new();
        let idle = if self.skip_idle { IDLE_TIME_LIMIT } else { 0.0 };
        for (key, value) in [
            ("speed", JsValue::from_f64(self.speed)),
            ("idleTimeLimit", JsValue::from_f64(idle)),
            ("dark", JsValue::from_bool(self.dark)),
            ("cols", JsValue::from(rec.cols)),
            ("rows", JsValue::from(rec.rows)),
        ] {
            let _ = Reflect::set(&options, &key.into(), &value);
        }
        options.into()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Loading,
    Ready,
    Failed(String),
}

#[component]
pub(super) fn PlayerPanel(rec: RecordingView, state: Recordings) -> impl IntoView {
    let theme = use_theme();
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    let host = NodeRef::<Div>::new();
    let status = RwSignal::new(Status::Loading);
    let speed = RwSignal::new("1".to_owned());
    let skip_idle = RwSignal::new(true);
    let options = Memo::new(move |_| Options {
        speed: speed.get().parse().unwrap_or(1.0),
        skip_idle: skip_idle.get(),
        dark: theme.get() == Theme::Dark,
    });
    let cast_url = api::recording_cast_url(&rec.id);
    let rec = StoredValue::new(rec);

    spawn_local({
        let cast_url = cast_url.clone();
        async move {
            let loaded = BUNDLE.load().await;
            // Closed meanwhile?
            let Some(Status::Loading) = status.try_get_untracked() else {
                return;
            };
            if !loaded {
                let msg = "The player could not be loaded. Check the connection and try again.";
                state.session.toasts.error("Cannot play the recording", msg);
                status.set(Status::Failed(msg.to_owned()));
                return;
            }
            let Some(el) = host.get_untracked() else {
                return;
            };
            let js = rec.with_value(|rec| options.get_untracked().to_js(rec));
            let on_error =
                Closure::<dyn FnMut(u16, String)>::new(move |code: u16, body: String| {
                    let err = if code == 0 {
                        ApiError::network(body)
                    } else {
                        ApiError::from_body(code, "", &body)
                    };
                    state.session.fail("Cannot play the recording", &err);
                    let _ = status.try_set(Status::Failed(err.message));
                });
            let _ = Reflect::set(&js, &"onError".into(), on_error.as_ref());
            let replay = create_replay(&el, &cast_url, &js);
            let live = Live {
                replay,
                _on_error: on_error,
            };
            LIVE.with(|slot| slot.borrow_mut().insert(id, live));
            status.set(Status::Ready);
        }
    });
    on_cleanup(move || dispose_live(id));

    // A changed option recreates the player (its first run only records the initial options).
    Effect::new(move |previous: Option<Options>| {
        let current = options.get();
        if previous.is_some_and(|p| p != current) {
            let js = rec.with_value(|rec| current.to_js(rec));
            LIVE.with(|live| {
                if let Some(live) = live.borrow().get(&id) {
                    live.replay.update(&js);
                }
            });
        }
        current
    });

    let title = rec.with_value(|r| {
        format!(
            "{} — {} — {}",
            r.server_name,
            r.username,
            format::local_time(&r.started_at)
        )
    });
    let recording_id = rec.with_value(|r| r.id.clone());

    view! {
        <section class="card player-panel" data-testid="recording-player-panel"
            data-recording-id=recording_id aria-label=title.clone()>
            <header class="player-head">
                <h3 class="player-title" title=title.clone()>{title.clone()}</h3>
                <span class="grow"></span>
                <label class="player-option">
                    <span class="field-label">"Speed"</span>
                    <select data-testid="recording-speed"
                        prop:value=move || speed.get()
                        on:change=move |ev| speed.set(event_target_value(&ev))>
                        {SPEEDS.map(|(value, label)| view! {
                            <option value=value selected=value == "1">{label}</option>
                        })}
                    </select>
                </label>
                <label class="player-option check" title=format!("Cut pauses longer than {IDLE_TIME_LIMIT} s")>
                    <input type="checkbox" data-testid="recording-skip-idle"
                        prop:checked=move || skip_idle.get()
                        on:change=move |ev| skip_idle.set(event_target_checked(&ev))/>
                    "Skip idle time"
                </label>
                <a class="button small" href=cast_url download="" data-testid="recording-player-download">
                    "Download"
                </a>
                <button class="icon-button" title="Close" aria-label="Close" data-testid="recording-player-close"
                    on:click=move |_| state.playing.set(None)>
                    "×"
                </button>
            </header>
            {move || match status.get() {
                Status::Loading => Some(view! {
                    <p class="muted small player-message">"Loading the player…"</p>
                }.into_any()),
                Status::Failed(msg) => Some(view! {
                    <p class="form-error player-message" role="alert">{msg}</p>
                }.into_any()),
                Status::Ready => None,
            }}
            <div
                class="player-host"
                class:is-hidden=move || matches!(status.get(), Status::Failed(_))
                data-testid="recording-player"
                node_ref=host
            ></div>
        </section>
    }
}
