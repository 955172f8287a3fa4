//! Bundles the page does not load up front: the editor (CodeMirror, `assets/editor.js`) and the
//! session player (asciinema-player, `assets/player.js` with `assets/player.css`). Each is
//! injected into `<head>` the first time it is needed; concurrent first uses share one load, and
//! a failed load removes its tag so the next attempt starts afresh.
//!
//! The scripts are esbuild IIFEs defining one global each (see backend/build.rs); the wasm binds
//! that global with `#[wasm_bindgen(js_namespace = …)]` externs, which look it up lazily, so they
//! work once `Bundle::load` has returned `true`.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Array, Promise, Reflect};
use leptos::prelude::{document, window};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::api;

/// A script bundle loaded on first use.
pub struct Bundle {
    /// Relative to the base URL, e.g. `assets/editor.js`.
    pub script: &'static str,
    /// The global the script defines, e.g. `GatehouseEditor`.
    pub global: &'static str,
    /// The stylesheet esbuild emitted beside it, if the bundle imports CSS.
    pub stylesheet: Option<&'static str>,
    /// `data-testid` of the injected `<script>` (the stylesheet's gets `-style` appended).
    pub test_id: &'static str,
}

thread_local! {
    /// Loads started, by path: pending or done. A failed one removes itself.
    static LOADS: RefCell<HashMap<&'static str, Promise>> = RefCell::new(HashMap::new());
}

#[derive(Clone, Copy)]
enum Tag {
    Script,
    Stylesheet,
}

impl Bundle {
    fn is_loaded(&self) -> bool {
        Reflect::has(&window(), &self.global.into()).unwrap_or(false)
    }

    /// Loads the script (and its stylesheet) once; later calls return at once. `false` when a
    /// part failed to load (offline, say): calling again retries that part.
    pub async fn load(&self) -> bool {
        let loads = Array::new();
        loads.push(&start(self.script, Tag::Script, self.test_id));
        if let Some(css) = self.stylesheet {
            let test_id = format!("{}-style", self.test_id);
            loads.push(&start(css, Tag::Stylesheet, &test_id));
        }
        JsFuture::from(Promise::all(&loads)).await.is_ok() && self.is_loaded()
    }
}

/// The load of `path`, started now unless it already was.
fn start(path: &'static str, tag: Tag, test_id: &str) -> Promise {
    if let Some(load) = LOADS.with(|loads| loads.borrow().get(path).cloned()) {
        return load;
    }
    let load = inject(path, tag, test_id);
    LOADS.with(|loads| loads.borrow_mut().insert(path, load.clone()));
    load
}

fn inject(path: &'static str, tag: Tag, test_id: &str) -> Promise {
    Promise::new(&mut |resolve, reject| {
        let doc = document();
        let el = match tag {
            Tag::Script => doc.create_element("script"),
            Tag::Stylesheet => doc.create_element("link"),
        };
        let Ok(el) = el else {
            let _ = reject.call0(&JsValue::NULL);
            return;
        };
        let href = api::url(path);
        match tag {
            Tag::Script => {
                let script: &web_sys::HtmlScriptElement = el.unchecked_ref();
                script.set_src(&href);
            }
            Tag::Stylesheet => {
                let _ = el.set_attribute("rel", "stylesheet");
                let _ = el.set_attribute("href", &href);
            }
        }
        let _ = el.set_attribute("data-testid", test_id);
        let html: &web_sys::HtmlElement = el.unchecked_ref();
        html.set_onload(Some(&resolve));
        let failed = {
            let el = el.clone();
            Closure::once_into_js(move || {
                el.remove();
                LOADS.with(|loads| loads.borrow_mut().remove(path));
                let _ = reject.call0(&JsValue::NULL);
            })
        };
        html.set_onerror(Some(failed.unchecked_ref()));
        if let Some(head) = doc.head() {
            let _ = head.append_child(&el);
        }
    })
}
