//! Hand-written bindings to xterm.js 6 and its addons.
//!
//! `frontend/js/vendor.js` is bundled by esbuild into an IIFE that defines the global
//! `GatehouseVendor = {Terminal, FitAddon, SearchAddon, WebLinksAddon}`; `index.html` loads it
//! before the wasm module. We bind only the calls the UI makes, against xterm 6's real API (the
//! `xterm-js-rs` crate binds xterm 4, whose `setOption`/`registerLinkMatcher` no longer exist).

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `GatehouseVendor.Terminal`.
    #[wasm_bindgen(js_namespace = GatehouseVendor)]
    #[derive(Clone)]
    pub type Terminal;

    #[wasm_bindgen(constructor, js_namespace = GatehouseVendor)]
    pub fn new(options: &JsValue) -> Terminal;

    #[wasm_bindgen(method)]
    pub fn open(this: &Terminal, parent: &web_sys::HtmlElement);

    /// Queues bytes for the parser. xterm keeps the array until it is parsed, so it must own its
    /// memory (never a view into wasm memory).
    #[wasm_bindgen(method, js_name = write)]
    pub fn write_bytes(this: &Terminal, data: &Uint8Array);

    /// The same, with `callback` run once xterm has parsed these bytes (flow control).
    #[wasm_bindgen(method, js_name = write)]
    pub fn write_bytes_then(this: &Terminal, data: &Uint8Array, callback: &js_sys::Function);

    #[wasm_bindgen(method, js_name = write)]
    pub fn write_str(this: &Terminal, data: &str);

    #[wasm_bindgen(method, js_name = loadAddon)]
    pub fn load_addon(this: &Terminal, addon: &JsValue);

    #[wasm_bindgen(method)]
    pub fn focus(this: &Terminal);

    #[wasm_bindgen(method)]
    pub fn dispose(this: &Terminal);

    #[wasm_bindgen(method)]
    pub fn paste(this: &Terminal, data: &str);

    #[wasm_bindgen(method, js_name = hasSelection)]
    pub fn has_selection(this: &Terminal) -> bool;

    #[wasm_bindgen(method, js_name = getSelection)]
    pub fn get_selection(this: &Terminal) -> String;

    #[wasm_bindgen(method, getter)]
    pub fn cols(this: &Terminal) -> u16;

    #[wasm_bindgen(method, getter)]
    pub fn rows(this: &Terminal) -> u16;

    /// The live options object: assigning a property (e.g. `theme`) applies it.
    #[wasm_bindgen(method, getter)]
    pub fn options(this: &Terminal) -> js_sys::Object;

    /// Keystrokes and pastes, as a string to send to the remote side.
    #[wasm_bindgen(method, js_name = onData)]
    pub fn on_data(this: &Terminal, listener: &Closure<dyn FnMut(String)>) -> Disposable;

    /// Non-UTF-8 input (some mouse reports): one char per byte.
    #[wasm_bindgen(method, js_name = onBinary)]
    pub fn on_binary(this: &Terminal, listener: &Closure<dyn FnMut(String)>) -> Disposable;

    #[wasm_bindgen(method, js_name = onTitleChange)]
    pub fn on_title_change(this: &Terminal, listener: &Closure<dyn FnMut(String)>) -> Disposable;

    /// Fires with `{cols, rows}` whenever the grid size changes (e.g. after a fit).
    #[wasm_bindgen(method, js_name = onResize)]
    pub fn on_resize(this: &Terminal, listener: &Closure<dyn FnMut(JsValue)>) -> Disposable;

    /// Called for every keydown/keypress/keyup before xterm handles it; `false` stops xterm.
    #[wasm_bindgen(method, js_name = attachCustomKeyEventHandler)]
    pub fn attach_custom_key_event_handler(
        this: &Terminal,
        handler: &Closure<dyn FnMut(web_sys::KeyboardEvent) -> bool>,
    );

    /// What xterm's `on*` registrations return.
    pub type Disposable;

    #[wasm_bindgen(method)]
    pub fn dispose(this: &Disposable);

    /// `GatehouseVendor.FitAddon`: sizes the grid to the container.
    #[wasm_bindgen(js_namespace = GatehouseVendor)]
    #[derive(Clone)]
    pub type FitAddon;

    #[wasm_bindgen(constructor, js_namespace = GatehouseVendor)]
    pub fn new() -> FitAddon;

    #[wasm_bindgen(method)]
    pub fn fit(this: &FitAddon);

    /// `GatehouseVendor.SearchAddon`: scrollback search.
    #[wasm_bindgen(js_namespace = GatehouseVendor)]
    #[derive(Clone)]
    pub type SearchAddon;

    #[wasm_bindgen(constructor, js_namespace = GatehouseVendor)]
    pub fn new() -> SearchAddon;

    #[wasm_bindgen(method, js_name = findNext)]
    pub fn find_next(this: &SearchAddon, term: &str, options: &JsValue) -> bool;

    #[wasm_bindgen(method, js_name = findPrevious)]
    pub fn find_previous(this: &SearchAddon, term: &str, options: &JsValue) -> bool;

    #[wasm_bindgen(method, js_name = clearDecorations)]
    pub fn clear_decorations(this: &SearchAddon);

    /// `GatehouseVendor.WebLinksAddon`: makes URLs in the output clickable.
    #[wasm_bindgen(js_namespace = GatehouseVendor)]
    #[derive(Clone)]
    pub type WebLinksAddon;

    #[wasm_bindgen(constructor, js_namespace = GatehouseVendor)]
    pub fn new() -> WebLinksAddon;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["navigator", "clipboard"], js_name = writeText, catch)]
    fn clipboard_write_text(text: &str) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(js_namespace = ["navigator", "clipboard"], js_name = readText, catch)]
    fn clipboard_read_text() -> Result<js_sys::Promise, JsValue>;
}

/// Copies text to the system clipboard (needs a secure context: HTTPS or localhost).
pub async fn copy_to_clipboard(text: &str) -> Result<(), JsValue> {
    wasm_bindgen_futures::JsFuture::from(clipboard_write_text(text)?).await?;
    Ok(())
}

/// Reads text from the system clipboard; the browser may ask the user first.
pub async fn read_clipboard() -> Result<String, JsValue> {
    let text = wasm_bindgen_futures::JsFuture::from(clipboard_read_text()?).await?;
    Ok(text.as_string().unwrap_or_default())
}
