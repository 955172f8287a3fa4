//! Previews: the browser shows pictures, PDFs and text itself from `download?…&inline=1`, so the
//! file streams straight into an `<img>` or `<iframe>` and never through wasm. Text previews are
//! sandboxed (no scripts, an opaque origin) in case a "text" file is really HTML; PDFs cannot be
//! (Chromium refuses to run its viewer in a sandboxed frame), and the gateway serves them as
//! `application/pdf`.

use leptos::prelude::*;

use super::paths::{base_name, PreviewKind};
use super::{use_files, PreviewTarget};
use crate::api;
use crate::app::close_on_escape;

#[component]
pub fn PreviewHost() -> impl IntoView {
    let files = use_files();
    move || {
        files
            .preview
            .get()
            .map(|target| view! { <PreviewModal target/> })
    }
}

#[component]
fn PreviewModal(target: PreviewTarget) -> impl IntoView {
    let files = use_files();
    let close = move || files.preview.set(None);
    close_on_escape(close);
    let name = base_name(&target.path).to_owned();
    let inline = api::download_url(target.server_id, &target.path, true);
    let download = api::download_url(target.server_id, &target.path, false);
    let body = match target.kind {
        PreviewKind::Image => view! {
            <div class="preview-image-wrap">
                <img class="preview-image" src=inline.clone() alt=name.clone() data-testid="preview-image"/>
            </div>
        }
        .into_any(),
        PreviewKind::Pdf => view! {
            <iframe class="preview-frame" src=inline.clone() title=name.clone() data-testid="preview-frame"></iframe>
        }
        .into_any(),
        PreviewKind::Text => view! {
            <iframe class="preview-frame preview-text" sandbox="" src=inline.clone() title=name.clone() data-testid="preview-frame"></iframe>
        }
        .into_any(),
    };

    view! {
        <div class="modal-backdrop" on:click=move |_| close()>
            <div
                class="card preview-modal"
                role="dialog"
                aria-modal="true"
                aria-label=format!("Preview of {name}")
                data-testid="preview"
                on:click=|ev| ev.stop_propagation()
            >
                <header class="editor-head">
                    <div class="editor-title">
                        <span class="editor-name">{name.clone()}</span>
                        <span class="muted small mono">{target.path.clone()}</span>
                    </div>
                    <span class="grow"></span>
                    <a class="button small" href=inline target="_blank" rel="noopener">"Open in a tab"</a>
                    <a class="button small primary" href=download download="" data-testid="preview-download">"Download"</a>
                    <button class="icon-button" title="Close" aria-label="Close" data-testid="preview-close" on:click=move |_| close()>"×"</button>
                </header>
                {body}
            </div>
        </div>
    }
}
