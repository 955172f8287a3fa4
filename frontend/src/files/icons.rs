//! Small line icons as inline SVG (emoji are missing from many fonts, headless browsers included).

use leptos::prelude::*;
use wire::files::{Entry, EntryKind};

const FOLDER: &str = "M1.5 3.5h4.2l1.6 1.6h7.2v8.4h-13z";
const FILE: &str = "M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3";
const OTHER: &str = "M8 3a5 5 0 1 0 0.01 0z M8 6v4 M6 8h4";
/// An arrow in the bottom-right corner, drawn over the base icon of a symlink.
const LINK_ARROW: &str = "M9.5 15.5l5-5 M11.5 10.5h3v3";

/// A folder, for buttons outside the list.
pub fn folder_icon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 16 16" aria-hidden="true">
            <path d=FOLDER/>
        </svg>
    }
}

/// The icon of a row: folder, file or special file, with an arrow for a symlink (dashed when the
/// link dangles).
pub fn entry_icon(entry: &Entry) -> impl IntoView {
    let shown_kind = match entry.kind {
        EntryKind::Symlink => entry.target_kind.unwrap_or(EntryKind::File),
        kind => kind,
    };
    let (base, class) = match shown_kind {
        EntryKind::Dir => (FOLDER, "icon icon-dir"),
        EntryKind::Other => (OTHER, "icon icon-other"),
        _ => (FILE, "icon icon-file"),
    };
    let link = entry.kind == EntryKind::Symlink;
    let dangling = link && entry.target_kind.is_none();
    view! {
        <svg class=class class:dangling=dangling viewBox="0 0 16 16" aria-hidden="true">
            <path d=base/>
            {link.then(|| view! { <path class="icon-link" d=LINK_ARROW/> })}
        </svg>
    }
}
