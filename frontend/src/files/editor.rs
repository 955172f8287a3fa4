//! The text editor: CodeMirror 6 in a modal, loaded only when first used.
//!
//! `frontend/js/editor.js` is bundled by esbuild into its own IIFE script, `assets/editor.js`,
//! defining `window.GatehouseEditor`. It is not in index.html: `ensure_loaded` injects a
//! `<script>` for it (crate::lazy) the first time a file is opened, and later opens reuse it.
//! The externs below are only called after that, so wasm-bindgen's lazy global lookups find it.
//!
//! Saving sends the modification time the file had when it was read (`expected_mtime`); the
//! gateway answers 409 `conflict` if it changed meanwhile, and the user picks reload or
//! overwrite. Closing with unsaved changes asks first, and so does leaving the page.

use std::cell::{Cell, RefCell};

use js_sys::Function;
use leptos::ev;
use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use wire::files::{codes, WriteRequest};

use super::paths::base_name;
use super::{use_files, EditTarget, Files};
use crate::api;
use crate::lazy::Bundle;
use crate::theme::{use_theme, Theme};

#[wasm_bindgen]
extern "C" {
    /// What `GatehouseEditor.create` returns.
    pub type CodeEditor;

    #[wasm_bindgen(js_namespace = GatehouseEditor, js_name = create)]
    fn create_editor(
        parent: &HtmlElement,
        content: &str,
        file_name: &str,
        dark: bool,
        read_only: bool,
        on_change: &Function,
        on_save: &Function,
    ) -> CodeEditor;

    /// "Rust", "YAML", … or "Plain text": what highlighting the file gets.
    #[wasm_bindgen(js_namespace = GatehouseEditor, js_name = languageName)]
    fn language_name(file_name: &str) -> String;

    #[wasm_bindgen(method, js_name = getValue)]
    fn get_value(this: &CodeEditor) -> String;

    #[wasm_bindgen(method, js_name = setValue)]
    fn set_value(this: &CodeEditor, text: &str);

    #[wasm_bindgen(method, js_name = setDark)]
    fn set_dark(this: &CodeEditor, dark: bool);

    #[wasm_bindgen(method)]
    fn focus(this: &CodeEditor);

    #[wasm_bindgen(method)]
    fn destroy(this: &CodeEditor);
}

/// `assets/editor.js`, injected the first time a file is opened.
const BUNDLE: Bundle = Bundle {
    script: "assets/editor.js",
    global: "GatehouseEditor",
    stylesheet: None,
    test_id: "editor-script",
};

thread_local! {
    /// The editor on screen, its callbacks, and which modal owns it.
    static LIVE: RefCell<Option<Live>> = const { RefCell::new(None) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

struct Live {
    id: u64,
    editor: CodeEditor,
    _callbacks: [Closure<dyn FnMut()>; 2],
}

/// Loads `assets/editor.js` once; later calls return at once.
pub async fn ensure_loaded() -> Result<(), String> {
    if BUNDLE.load().await {
        Ok(())
    } else {
        Err("The editor could not be loaded. Check the connection and try again.".to_owned())
    }
}

fn with_live<T>(id: u64, f: impl FnOnce(&CodeEditor) -> T) -> Option<T> {
    LIVE.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|live| live.id == id)
            .map(|live| f(&live.editor))
    })
}

fn destroy_live(id: u64) {
    let live = LIVE.with(|l| {
        let mut slot = l.borrow_mut();
        if slot.as_ref().is_some_and(|live| live.id == id) {
            slot.take()
        } else {
            None
        }
    });
    if let Some(live) = live {
        live.editor.destroy();
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Loading,
    Ready,
    /// Binary or too big: download instead.
    Refused(String),
    Failed(String),
}

/// One open document: the signals the modal shows and the calls that change them.
#[derive(Clone, Copy)]
struct Doc {
    id: u64,
    files: Files,
    server_id: i32,
    path: StoredValue<String>,
    read_only: bool,
    status: RwSignal<Status>,
    dirty: RwSignal<bool>,
    conflict: RwSignal<bool>,
    saving: RwSignal<bool>,
    confirm_close: RwSignal<bool>,
    language: RwSignal<String>,
    mtime: StoredValue<Option<i64>>,
}

impl Doc {
    async fn open(self, host: NodeRef<Div>, dark: bool) {
        if let Err(msg) = ensure_loaded().await {
            let _ = self.status.try_set(Status::Failed(msg));
            return;
        }
        let Some(path) = self.path.try_get_value() else {
            return;
        };
        let result = api::read_text(self.server_id, &path).await;
        // Closed meanwhile?
        if self.status.try_get_untracked().is_none() {
            return;
        }
        match result {
            Ok(file) => {
                let Some(el) = host.get_untracked() else {
                    return;
                };
                self.mtime.set_value(Some(file.mtime));
                let on_change = Closure::<dyn FnMut()>::new(move || {
                    let _ = self.dirty.try_set(true);
                });
                let on_save = Closure::<dyn FnMut()>::new(move || self.save(false));
                let editor = create_editor(
                    &el,
                    &file.content,
                    &path,
                    dark,
                    self.read_only,
                    on_change.as_ref().unchecked_ref(),
                    on_save.as_ref().unchecked_ref(),
                );
                editor.focus();
                LIVE.with(|l| {
                    *l.borrow_mut() = Some(Live {
                        id: self.id,
                        editor,
                        _callbacks: [on_change, on_save],
                    })
                });
                self.language.set(language_name(&path));
                self.status.set(Status::Ready);
            }
            Err(err) if err.is(codes::TOO_LARGE) || err.is(codes::BINARY) => {
                self.status.set(Status::Refused(err.message));
            }
            Err(err) => {
                self.files.session.fail("Cannot open the file", &err);
                self.status.set(Status::Failed(err.message));
            }
        }
    }

    /// Saves; `force` writes even if the file changed on the server (no `expected_mtime`).
    fn save(self, force: bool) {
        if self.read_only
            || self.saving.get_untracked()
            || self.status.get_untracked() != Status::Ready
        {
            return;
        }
        let Some(content) = with_live(self.id, |e| e.get_value()) else {
            return;
        };
        self.saving.set(true);
        let request = WriteRequest {
            path: self.path.get_value(),
            content,
            expected_mtime: if force { None } else { self.mtime.get_value() },
        };
        spawn_local(async move {
            let result = api::write_text(self.server_id, &request).await;
            if self.saving.try_set(false).is_some() {
                return; // closed meanwhile
            }
            match result {
                Ok(entry) => {
                    self.mtime.set_value(Some(entry.mtime));
                    self.conflict.set(false);
                    // Typing during the save keeps the document dirty.
                    let same = with_live(self.id, |e| e.get_value() == request.content);
                    self.dirty.set(same != Some(true));
                    self.files
                        .session
                        .toasts
                        .success(format!("Saved {}", base_name(&request.path)));
                    self.files.refresh_server(self.server_id);
                }
                Err(err) if err.is(codes::CONFLICT) => self.conflict.set(true),
                Err(err) => self.files.session.fail("Not saved", &err),
            }
        });
    }

    /// Replaces the text with the file as it is on the server now (discarding edits).
    fn reload(self) {
        let path = self.path.get_value();
        spawn_local(async move {
            match api::read_text(self.server_id, &path).await {
                Ok(file) => {
                    with_live(self.id, |e| e.set_value(&file.content));
                    self.mtime.set_value(Some(file.mtime));
                    let _ = self.dirty.try_set(false);
                    let _ = self.conflict.try_set(false);
                }
                Err(err) => self.files.session.fail("Cannot reload the file", &err),
            }
        });
    }

    /// Closes, asking first when there are unsaved changes.
    fn close(self, discard: bool) {
        if self.dirty.get_untracked() && !discard {
            self.confirm_close.set(true);
        } else {
            self.files.editor.set(None);
        }
    }
}

/// Renders the editor while `Files::editor` names a file.
#[component]
pub fn EditorHost() -> impl IntoView {
    let files = use_files();
    move || {
        files
            .editor
            .get()
            .map(|target| view! { <EditorModal target/> })
    }
}

#[component]
fn EditorModal(target: EditTarget) -> impl IntoView {
    let files = use_files();
    let theme = use_theme();
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    let doc = Doc {
        id,
        files,
        server_id: target.server_id,
        path: StoredValue::new(target.path.clone()),
        read_only: target.read_only,
        status: RwSignal::new(Status::Loading),
        dirty: RwSignal::new(false),
        conflict: RwSignal::new(false),
        saving: RwSignal::new(false),
        confirm_close: RwSignal::new(false),
        language: RwSignal::new(String::new()),
        mtime: StoredValue::new(None),
    };
    let host = NodeRef::<Div>::new();
    spawn_local(doc.open(host, theme.get_untracked() == Theme::Dark));
    on_cleanup(move || destroy_live(id));

    Effect::new(move |_| {
        let dark = theme.get() == Theme::Dark;
        with_live(id, |e| e.set_dark(dark));
    });

    // Ctrl/Cmd+S outside the text (CodeMirror handles it inside, and marks the event handled);
    // Escape closes unless CodeMirror used it (closing its search panel, say).
    let keys = window_event_listener(ev::keydown, move |ev| {
        if ev.default_prevented() {
            return;
        }
        let key = ev.key();
        if (ev.ctrl_key() || ev.meta_key()) && key.eq_ignore_ascii_case("s") {
            ev.prevent_default();
            doc.save(false);
        } else if key == "Escape" {
            let in_editor = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest(".cm-editor").ok().flatten())
                .is_some();
            if !in_editor {
                doc.close(false);
            }
        }
    });
    // Leaving or reloading the page with unsaved changes asks first.
    let unload = window_event_listener(ev::beforeunload, move |ev| {
        if doc.dirty.try_get_untracked() == Some(true) {
            ev.prevent_default();
            ev.set_return_value("unsaved");
        }
    });
    on_cleanup(move || {
        keys.remove();
        unload.remove();
    });

    let path = target.path.clone();
    let name = base_name(&path).to_owned();
    let download = api::download_url(target.server_id, &path, false);
    let server_name = files
        .server(target.server_id)
        .map(|s| s.name)
        .unwrap_or_default();

    view! {
        <div class="modal-backdrop editor-backdrop" on:click=move |_| doc.close(false)>
            <div
                class="card editor-modal"
                role="dialog"
                aria-modal="true"
                aria-label=format!("Edit {name}")
                data-testid="editor"
                data-path=path.clone()
                data-state=move || match doc.status.get() {
                    Status::Loading => "loading",
                    Status::Ready => "ready",
                    Status::Refused(_) => "refused",
                    Status::Failed(_) => "failed",
                }
                on:click=|ev| ev.stop_propagation()
            >
                <header class="editor-head">
                    <div class="editor-title">
                        <span class="editor-name">
                            {name.clone()}
                            <Show when=move || doc.dirty.get()>
                                <span class="dirty-dot" data-testid="editor-dirty" title="Unsaved changes">" ●"</span>
                            </Show>
                        </span>
                        <span class="muted small mono" title=path.clone()>{format!("{server_name}:{path}")}</span>
                    </div>
                    <span class="grow"></span>
                    <Show when=move || !doc.language.get().is_empty()>
                        <span class="badge" data-testid="editor-language">{move || doc.language.get()}</span>
                    </Show>
                    <Show when=move || doc.read_only>
                        <span class="badge badge-warn">"read-only"</span>
                    </Show>
                    <button class="button small primary" data-testid="editor-save" title="Save (Ctrl+S)"
                        disabled=move || doc.read_only || doc.saving.get() || doc.status.get() != Status::Ready
                        on:click=move |_| doc.save(false)>
                        {move || if doc.saving.get() { "Saving…" } else { "Save" }}
                    </button>
                    <button class="icon-button" title="Close" aria-label="Close" data-testid="editor-close"
                        on:click=move |_| doc.close(false)>"×"</button>
                </header>
                <Show when=move || doc.conflict.get()>
                    <div class="editor-banner danger" role="alert" data-testid="editor-conflict">
                        <span>"The file changed on the server since you opened it."</span>
                        <span class="grow"></span>
                        <button class="button small" data-testid="editor-reload" on:click=move |_| doc.reload()>
                            "Reload (lose my changes)"
                        </button>
                        <button class="button small danger" data-testid="editor-overwrite" on:click=move |_| doc.save(true)>
                            "Overwrite"
                        </button>
                    </div>
                </Show>
                <Show when=move || doc.confirm_close.get()>
                    <div class="editor-banner warn" role="alert" data-testid="editor-unsaved">
                        <span>"You have unsaved changes."</span>
                        <span class="grow"></span>
                        <button class="button small" data-testid="editor-keep" on:click=move |_| doc.confirm_close.set(false)>
                            "Keep editing"
                        </button>
                        <button class="button small danger" data-testid="editor-discard" on:click=move |_| doc.close(true)>
                            "Discard changes"
                        </button>
                    </div>
                </Show>
                {
                    let download = download.clone();
                    move || match doc.status.get() {
                        Status::Loading => Some(view! {
                            <div class="editor-message" data-testid="editor-loading">"Loading…"</div>
                        }.into_any()),
                        Status::Refused(msg) => Some(view! {
                            <div class="editor-message" data-testid="editor-refused">
                                <p>{msg}</p>
                                <p>"It cannot be edited here, but you can download it."</p>
                                <a class="button primary" href=download.clone() download="" data-testid="editor-download">"Download"</a>
                            </div>
                        }.into_any()),
                        Status::Failed(msg) => Some(view! {
                            <div class="editor-message" data-testid="editor-failed"><p>{msg}</p></div>
                        }.into_any()),
                        Status::Ready => None,
                    }
                }
                <div
                    class="editor-host"
                    class=("is-hidden", move || doc.status.get() != Status::Ready)
                    node_ref=host
                ></div>
            </div>
        </div>
    }
}
