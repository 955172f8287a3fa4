//! What the context menu, the toolbar and the keyboard do to a pane's selection. Each action
//! asks what it needs (dialog.rs), calls the API, reports with a toast and relists the panes
//! that show the server it changed.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wire::files::{codes, Entry, EntryKind, WriteRequest};

use super::dialog::{Question, Style};
use super::paths::{
    check_name, is_dir_like, join, octal_mode, opens_as_preview, parent, parse_octal_mode,
    preview_kind,
};
use super::{between, EditTarget, Files, PreviewTarget, Side};
use crate::api;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Open,
    Edit,
    Preview,
    Download,
    DownloadZip,
    Rename,
    Chmod,
    CopyToOther,
    MoveToOther,
    Delete,
    NewFolder,
    NewFile,
    Upload,
    Refresh,
}

/// Runs `action` on the pane's selection.
pub fn run(files: Files, side: Side, action: Action) {
    files.menu.set(None);
    let pane = files.pane(side);
    let selection = pane.selection();
    let single = (selection.len() == 1).then(|| selection[0].clone());
    match action {
        Action::Open => {
            if let Some(entry) = single {
                open(files, side, &entry);
            }
        }
        Action::Edit => {
            if let Some(entry) = single {
                edit(files, side, &entry.path);
            }
        }
        Action::Preview => {
            if let (Some(entry), Some(server_id)) = (single, pane.server_id.get_untracked()) {
                let kind = preview_kind(&entry.name).unwrap_or(super::paths::PreviewKind::Text);
                files.preview.set(Some(PreviewTarget {
                    server_id,
                    path: entry.path,
                    kind,
                }));
            }
        }
        Action::Download => download(files, side, &selection),
        Action::DownloadZip => download_zip(files, side, &selection),
        Action::Rename => {
            if let Some(entry) = single {
                spawn_local(rename(files, side, entry));
            }
        }
        Action::Chmod => spawn_local(chmod(files, side, selection)),
        Action::CopyToOther => spawn_local(between::copy_to_other(files, side, selection, false)),
        Action::MoveToOther => spawn_local(between::copy_to_other(files, side, selection, true)),
        Action::Delete => spawn_local(delete(files, side, selection)),
        Action::NewFolder => spawn_local(new_folder(files, side)),
        Action::NewFile => spawn_local(new_file(files, side)),
        Action::Upload => click_in_pane(side, "upload-input"),
        Action::Refresh => pane.refresh(files.session),
    }
}

/// Enter / double-click: a folder is entered, a picture or PDF previewed, anything else edited.
pub fn open(files: Files, side: Side, entry: &Entry) {
    let pane = files.pane(side);
    if is_dir_like(entry) {
        pane.load(entry.path.clone(), files.session);
    } else if entry.kind == EntryKind::Symlink && entry.target_kind.is_none() {
        files.session.toasts.error(
            "Broken link",
            format!(
                "{} points to {}, which does not exist.",
                entry.name,
                entry.link_target.clone().unwrap_or_default()
            ),
        );
    } else if opens_as_preview(&entry.name) {
        if let (Some(server_id), Some(kind)) =
            (pane.server_id.get_untracked(), preview_kind(&entry.name))
        {
            files.preview.set(Some(PreviewTarget {
                server_id,
                path: entry.path.clone(),
                kind,
            }));
        }
    } else {
        edit(files, side, &entry.path);
    }
}

pub fn edit(files: Files, side: Side, path: &str) {
    if let Some(server_id) = files.pane(side).server_id.get_untracked() {
        files.editor.set(Some(EditTarget {
            server_id,
            path: path.to_owned(),
            read_only: files.read_only(side),
        }));
    }
}

/// Clicks a hidden control of the pane (the upload inputs).
pub fn click_in_pane(side: Side, testid: &str) {
    let selector = format!(
        "[data-testid=file-pane][data-side={}] [data-testid={testid}]",
        side.as_str()
    );
    if let Ok(Some(el)) = document().query_selector(&selector) {
        if let Some(el) = el.dyn_ref::<web_sys::HtmlElement>() {
            el.click();
        }
    }
}

/// Starts a browser download of `url` (the gateway streams it; nothing passes through wasm).
pub fn start_download(url: &str) {
    let Ok(a) = document().create_element("a") else {
        return;
    };
    let a: web_sys::HtmlAnchorElement = a.unchecked_into();
    a.set_href(url);
    a.set_download("");
    a.set_attribute("hidden", "").ok();
    if let Some(body) = document().body() {
        let _ = body.append_child(&a);
        a.click();
        a.remove();
    }
}

fn download(files: Files, side: Side, selection: &[Entry]) {
    let Some(server_id) = files.pane(side).server_id.get_untracked() else {
        return;
    };
    match selection {
        [] => {}
        [one] if !is_dir_like(one) => {
            start_download(&api::download_url(server_id, &one.path, false))
        }
        many => download_zip(files, side, many),
    }
}

fn download_zip(files: Files, side: Side, selection: &[Entry]) {
    let Some(server_id) = files.pane(side).server_id.get_untracked() else {
        return;
    };
    if selection.is_empty() {
        return;
    }
    let paths: Vec<String> = selection.iter().map(|e| e.path.clone()).collect();
    start_download(&api::zip_url(server_id, &paths));
}

/// The pane's server when changes are allowed there (otherwise a toast says why not).
fn writable_server(files: Files, side: Side) -> Option<i32> {
    let server_id = files.pane(side).server_id.get_untracked()?;
    (!refuse_read_only(files, side)).then_some(server_id)
}

pub(super) fn refuse_read_only(files: Files, side: Side) -> bool {
    let read_only = files.read_only(side);
    if read_only {
        files
            .session
            .toasts
            .error("Not allowed", "This server's file access is read-only.");
    }
    read_only
}

fn valid_name(text: &str) -> Result<(), String> {
    check_name(text).map(drop).map_err(str::to_owned)
}

fn valid_mode(text: &str) -> Result<(), String> {
    parse_octal_mode(text)
        .map(drop)
        .ok_or_else(|| "Octal permission bits, e.g. 0644 or 755.".to_owned())
}

pub(super) async fn ask_replace(files: Files, name: &str) -> bool {
    files
        .dialogs
        .confirm(
            Question::new("Replace it?", format!("“{name}” already exists there.")).button(
                "Replace",
                "replace",
                Style::Danger,
            ),
        )
        .await
}

async fn rename(files: Files, side: Side, entry: Entry) {
    let Some(server_id) = writable_server(files, side) else {
        return;
    };
    let Some(answer) = files
        .dialogs
        .ask(
            Question::new("Rename", "")
                .input("New name", entry.name.clone())
                .validate(valid_name)
                .button("Rename", "dialog-ok", Style::Primary),
        )
        .await
    else {
        return;
    };
    let name = answer.value.trim().to_owned();
    if name == entry.name {
        return;
    }
    let new_path = join(&parent(&entry.path), &name);
    let mut overwrite = false;
    loop {
        match api::rename(server_id, entry.path.clone(), new_path.clone(), overwrite).await {
            Ok(_) => files.session.toasts.success(format!("Renamed to {name}")),
            Err(err) if err.is(codes::EXISTS) && !overwrite => {
                if ask_replace(files, &name).await {
                    overwrite = true;
                    continue;
                }
            }
            Err(err) => files.session.fail("Not renamed", &err),
        }
        break;
    }
    files.refresh_server(server_id);
}

async fn chmod(files: Files, side: Side, selection: Vec<Entry>) {
    let Some(first) = selection.first() else {
        return;
    };
    let Some(server_id) = writable_server(files, side) else {
        return;
    };
    let Some(answer) = files
        .dialogs
        .ask(
            Question::new("Change permissions", format!("{} item(s)", selection.len()))
                .input("Mode (octal)", octal_mode(first.mode))
                .validate(valid_mode)
                .button("Apply", "dialog-ok", Style::Primary),
        )
        .await
    else {
        return;
    };
    let Some(mode) = parse_octal_mode(&answer.value) else {
        return;
    };
    for entry in &selection {
        if let Err(err) = api::chmod(server_id, entry.path.clone(), mode).await {
            files
                .session
                .fail(&format!("Permissions of {} not changed", entry.name), &err);
        }
    }
    files.refresh_server(server_id);
}

async fn delete(files: Files, side: Side, selection: Vec<Entry>) {
    if selection.is_empty() {
        return;
    }
    let Some(server_id) = writable_server(files, side) else {
        return;
    };
    let folders = selection
        .iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .count();
    let message = if folders > 0 {
        "Folders are deleted with everything in them. This cannot be undone."
    } else {
        "This cannot be undone."
    };
    let confirmed = files
        .dialogs
        .confirm(
            Question::new(format!("Delete {} item(s)?", selection.len()), message)
                .items(selection.iter().map(|e| e.name.clone()).collect())
                .button("Delete", "confirm-delete", Style::Danger),
        )
        .await;
    if !confirmed {
        return;
    }
    let mut deleted = 0;
    for entry in &selection {
        match api::delete_path(server_id, &entry.path).await {
            Ok(_) => deleted += 1,
            Err(err) => files
                .session
                .fail(&format!("{} not deleted", entry.name), &err),
        }
    }
    if deleted > 0 {
        files
            .session
            .toasts
            .success(format!("Deleted {deleted} item(s)"));
    }
    files.refresh_server(server_id);
}

/// Asks for the name of something new in the pane's folder: `(server, dir, name)`.
async fn ask_new_name(
    files: Files,
    side: Side,
    title: &str,
    message: &str,
) -> Option<(i32, String, String)> {
    let dir = files.pane(side).path.get_untracked();
    if dir.is_empty() {
        return None;
    }
    let server_id = writable_server(files, side)?;
    let answer = files
        .dialogs
        .ask(
            Question::new(title, message)
                .input("Name", "")
                .validate(valid_name)
                .button("Create", "dialog-ok", Style::Primary),
        )
        .await?;
    Some((server_id, dir, answer.value.trim().to_owned()))
}

async fn new_folder(files: Files, side: Side) {
    let Some((server_id, dir, name)) = ask_new_name(files, side, "New folder", "").await else {
        return;
    };
    let pane = files.pane(side);
    match api::mkdir(server_id, join(&dir, &name)).await {
        Ok(entry) => {
            files.refresh_server(server_id);
            pane.selected.set([entry.path.clone()].into());
            pane.cursor.set(Some(entry.path));
        }
        Err(err) => files.session.fail("Folder not created", &err),
    }
}

async fn new_file(files: Files, side: Side) {
    let message = "An empty file, opened in the editor.";
    let Some((server_id, dir, name)) = ask_new_name(files, side, "New file", message).await else {
        return;
    };
    let path = join(&dir, &name);
    // `write` replaces; never clobber a file that is already there.
    match api::stat(server_id, &path).await {
        Ok(_) => {
            files
                .session
                .toasts
                .error("File not created", format!("“{name}” already exists."));
            return;
        }
        Err(err) if !err.is(codes::NOT_FOUND) => {
            files.session.fail("File not created", &err);
            return;
        }
        Err(_) => {}
    }
    let body = WriteRequest {
        path,
        content: String::new(),
        expected_mtime: None,
    };
    match api::write_text(server_id, &body).await {
        Ok(entry) => {
            files.refresh_server(server_id);
            edit(files, side, &entry.path);
        }
        Err(err) => files.session.fail("File not created", &err),
    }
}
