//! Uploads: files and folders dropped on a pane or picked with the Upload buttons go, one file per
//! request, to `POST upload?path=<dir>` as multipart (field `files`, the part's filename being the
//! path relative to the drop, so folders are recreated). Each file is an `XMLHttpRequest`, which
//! gives upload progress (`upload.onprogress`) and `abort()` for cancel; the browser streams the
//! `File` from disk, so nothing is read into wasm memory.

use std::collections::VecDeque;

use js_sys::{Array, Promise, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DataTransfer, File, FileSystemDirectoryEntry, FileSystemEntry, FileSystemFileEntry, FormData,
    HtmlInputElement, ProgressEvent, XmlHttpRequest,
};
use wire::files::codes;

use super::dialog::{Question, Style};
use super::paths::join;
use super::transfer::{register_abort, unregister_abort, Abort, TransferKind, TransferState};
use super::{Files, Side};
use crate::api::{self, ApiError, ApiResult};

/// One file to send, and where under the target directory it goes.
struct Item {
    file: File,
    /// `name`, or `folder/sub/name` for folder uploads.
    rel_path: String,
}

/// Where an upload goes, checked when it starts: the pane's server and directory.
fn target(files: Files, side: Side) -> Option<(i32, String)> {
    let pane = files.pane(side);
    let server_id = pane.server_id.get_untracked()?;
    let dir = pane.path.get_untracked();
    if dir.is_empty() {
        return None;
    }
    if files.read_only(side) {
        files
            .session
            .toasts
            .error("Upload refused", "This server's file access is read-only.");
        return None;
    }
    Some((server_id, dir))
}

/// Files and folders dropped on a pane. The drop's items must be read before the event handler
/// returns, so the entries are taken here and walked afterwards.
pub fn from_drop(files: Files, side: Side, data: DataTransfer) {
    let Some((server_id, dir)) = target(files, side) else {
        return;
    };
    let items = data.items();
    let mut entries = Vec::new();
    let mut plain = Vec::new();
    for i in 0..items.length() {
        let Some(item) = items.get(i) else { continue };
        if item.kind() != "file" {
            continue;
        }
        match item.webkit_get_as_entry() {
            Ok(Some(entry)) => entries.push(entry),
            // No entry API (or a synthetic drop): the plain file.
            _ => {
                if let Ok(Some(file)) = item.get_as_file() {
                    plain.push(file);
                }
            }
        }
    }
    if entries.is_empty() && plain.is_empty() {
        if let Some(list) = data.files() {
            plain.extend((0..list.length()).filter_map(|i| list.get(i)));
        }
    }
    spawn_local(async move {
        let mut out: Vec<Item> = plain
            .into_iter()
            .map(|file| Item {
                rel_path: file.name(),
                file,
            })
            .collect();
        let mut empty_dirs = Vec::new();
        if let Err(err) = walk(entries, &mut out, &mut empty_dirs).await {
            files
                .session
                .toasts
                .error("Cannot read the dropped folder", err);
        }
        run(files, server_id, dir, out, empty_dirs).await;
    });
}

/// Files picked with an `<input type=file>` (with `webkitdirectory`, a whole folder).
pub fn from_input(files: Files, side: Side, input: &HtmlInputElement) {
    let picked: Vec<File> = input
        .files()
        .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
        .unwrap_or_default();
    // Picking the same file again must fire `change` again.
    input.set_value("");
    let Some((server_id, dir)) = target(files, side) else {
        return;
    };
    let items = picked
        .into_iter()
        .map(|file| {
            let rel = Reflect::get(&file, &"webkitRelativePath".into())
                .ok()
                .and_then(|v| v.as_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| file.name());
            Item {
                file,
                rel_path: rel,
            }
        })
        .collect();
    spawn_local(run(files, server_id, dir, items, Vec::new()));
}

/// Walks dropped entries breadth-first: files into `out`, folders without files into `empty`.
async fn walk(
    roots: Vec<FileSystemEntry>,
    out: &mut Vec<Item>,
    empty: &mut Vec<String>,
) -> Result<(), String> {
    let mut queue: VecDeque<(FileSystemEntry, String)> =
        roots.into_iter().map(|e| (e, String::new())).collect();
    while let Some((entry, prefix)) = queue.pop_front() {
        let rel = format!("{prefix}{}", entry.name());
        if entry.is_file() {
            let file_entry: FileSystemFileEntry = entry.unchecked_into();
            let promise = Promise::new(&mut |resolve, reject| {
                file_entry.file_with_callback_and_callback(&resolve, &reject);
            });
            let file: File = JsFuture::from(promise)
                .await
                .map_err(|_| format!("{rel} could not be read."))?
                .unchecked_into();
            out.push(Item {
                file,
                rel_path: rel,
            });
        } else if entry.is_directory() {
            let dir: FileSystemDirectoryEntry = entry.unchecked_into();
            let reader = dir.create_reader();
            let mut any = false;
            // readEntries answers in batches until an empty one.
            loop {
                let promise = Promise::new(&mut |resolve, reject| {
                    let _ = reader.read_entries_with_callback_and_callback(&resolve, &reject);
                });
                let batch: Array = JsFuture::from(promise)
                    .await
                    .map_err(|_| format!("{rel} could not be read."))?
                    .unchecked_into();
                if batch.length() == 0 {
                    break;
                }
                any = true;
                for child in batch.iter() {
                    queue.push_back((child.unchecked_into(), format!("{rel}/")));
                }
            }
            if !any {
                empty.push(rel);
            }
        }
    }
    Ok(())
}

/// Sends the items one after the other, asking before replacing an existing file.
async fn run(files: Files, server_id: i32, dir: String, items: Vec<Item>, empty_dirs: Vec<String>) {
    let transfers = files.transfers;
    let queued: Vec<(u32, Item)> = items
        .into_iter()
        .map(|item| {
            let id = transfers.add(
                TransferKind::Upload,
                item.rel_path.clone(),
                dir.clone(),
                item.file.size() as u64,
            );
            (id, item)
        })
        .collect();
    // "Replace all" / "Skip all" for the rest of this batch.
    let mut replace_all: Option<bool> = None;
    let mut uploaded = 0usize;
    for (id, item) in queued {
        if transfers.state(id) == Some(TransferState::Cancelled) {
            continue;
        }
        let mut overwrite = false;
        loop {
            transfers.set_state(id, TransferState::Running);
            match send(files, id, server_id, &dir, &item, overwrite).await {
                Ok(()) => {
                    transfers.set_state(id, TransferState::Done);
                    uploaded += 1;
                }
                Err(err) if err.is(codes::EXISTS) && !overwrite => {
                    let replace = match replace_all {
                        Some(choice) => choice,
                        None => ask_replace(files, &item.rel_path, &mut replace_all).await,
                    };
                    if replace {
                        overwrite = true;
                        continue;
                    }
                    transfers.set_state(id, TransferState::Skipped);
                }
                Err(err) if err.code == "aborted" => {
                    transfers.set_state(id, TransferState::Cancelled);
                }
                Err(err) => {
                    files
                        .session
                        .fail(&format!("{} not uploaded", item.rel_path), &err);
                    transfers.set_state(id, TransferState::Failed(err.message));
                }
            }
            break;
        }
    }
    for rel in empty_dirs {
        match api::mkdir(server_id, join(&dir, &rel)).await {
            Ok(_) => {}
            Err(err) if err.is(codes::EXISTS) => {}
            Err(err) => files
                .session
                .fail(&format!("Folder {rel} not created"), &err),
        }
    }
    if uploaded > 0 {
        files.session.toasts.success(if uploaded == 1 {
            "Uploaded 1 file".to_owned()
        } else {
            format!("Uploaded {uploaded} files")
        });
    }
    files.refresh_server(server_id);
}

async fn ask_replace(files: Files, name: &str, replace_all: &mut Option<bool>) -> bool {
    let answer = files
        .dialogs
        .ask(
            Question::new(
                "Replace the file?",
                format!("“{name}” already exists in this folder."),
            )
            .button("Replace", "replace", Style::Danger)
            .button("Skip", "skip", Style::Plain)
            .button("Replace all", "replace-all", Style::Plain)
            .button("Skip all", "skip-all", Style::Plain),
        )
        .await;
    match answer.map(|a| a.button) {
        Some(0) => true,
        Some(2) => {
            *replace_all = Some(true);
            true
        }
        Some(3) => {
            *replace_all = Some(false);
            false
        }
        _ => false,
    }
}

/// One file, one request.
async fn send(
    files: Files,
    id: u32,
    server_id: i32,
    dir: &str,
    item: &Item,
    overwrite: bool,
) -> ApiResult<()> {
    let transfers = files.transfers;
    let xhr = XmlHttpRequest::new().map_err(|_| ApiError::network("XMLHttpRequest"))?;
    xhr.open_with_async("POST", &api::upload_url(server_id, dir, overwrite), true)
        .map_err(|_| ApiError::network("XMLHttpRequest.open"))?;
    let _ = xhr.set_request_header("Accept", "application/json");
    let form = FormData::new().map_err(|_| ApiError::network("FormData"))?;
    form.append_with_blob_and_filename("files", &item.file, &item.rel_path)
        .map_err(|_| ApiError::network("FormData.append"))?;

    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
        transfers.update(id, |t| {
            // The multipart body is a little bigger than the file.
            t.done = (ev.loaded() as u64).min(t.total);
        });
    });
    let upload = xhr.upload().ok();
    if let Some(upload) = &upload {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let finished = Promise::new(&mut |resolve, _reject| {
        xhr.set_onloadend(Some(&resolve));
    });
    register_abort(id, Abort::Xhr(xhr.clone()));
    let sent = xhr.send_with_opt_form_data(Some(&form));
    if sent.is_ok() {
        let _ = JsFuture::from(finished).await;
    }
    unregister_abort(id);
    if let Some(upload) = &upload {
        upload.set_onprogress(None);
    }
    drop(on_progress);

    if transfers.state(id) == Some(TransferState::Cancelled) {
        return Err(super::transfer::aborted());
    }
    let status = xhr.status().unwrap_or(0);
    if sent.is_err() || status == 0 {
        return Err(ApiError::network("the upload was interrupted"));
    }
    if (200..300).contains(&status) {
        Ok(())
    } else {
        let body = xhr.response_text().ok().flatten().unwrap_or_default();
        let status_text = xhr.status_text().unwrap_or_default();
        Err(ApiError::from_body(status, &status_text, &body))
    }
}
