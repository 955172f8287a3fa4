//! Copy and move between the panes (F5 / F6, or the menu): each selected item becomes a transfer
//! with a progress bar. Across servers (or for a copy) it is `POST copy-to`, streamed through the
//! gateway (transfer.rs reads its progress); a move deletes the source once the copy is done.
//! A move within one server is a plain `rename`.

use leptos::prelude::*;
use wire::files::{codes, CopyRequest, Entry};

use super::actions::{ask_replace, refuse_read_only};
use super::paths::{base_name, join};
use super::transfer::{self, TransferKind, TransferState};
use super::{Files, Side};
use crate::api;

/// F5 / F6: copies (or moves) the selection into the other pane's folder, with progress.
/// Within one server a move is a rename; across servers it is a copy, then a delete of the source.
pub async fn copy_to_other(files: Files, side: Side, selection: Vec<Entry>, moving: bool) {
    let source = files.pane(side);
    let target = files.pane(side.other());
    let (Some(from), Some(to)) = (
        source.server_id.get_untracked(),
        target.server_id.get_untracked(),
    ) else {
        files.session.toasts.error(
            "Nowhere to copy to",
            "Pick a server and a folder in the other pane first.",
        );
        return;
    };
    let target_dir = target.path.get_untracked();
    if selection.is_empty() || target_dir.is_empty() {
        return;
    }
    if refuse_read_only(files, side.other()) || (moving && refuse_read_only(files, side)) {
        return;
    }
    if from == to && source.path.get_untracked() == target_dir {
        files
            .session
            .toasts
            .error("Same folder", "Both panes show the same folder.");
        return;
    }
    let kind = if moving {
        TransferKind::Move
    } else {
        TransferKind::Copy
    };
    let target_name = files.server(to).map(|s| s.name).unwrap_or_default();
    let ids: Vec<u32> = selection
        .iter()
        .map(|e| {
            files.transfers.add(
                kind,
                e.name.clone(),
                format!("{target_name}:{target_dir}"),
                e.size,
            )
        })
        .collect();
    for (entry, id) in selection.iter().zip(ids) {
        if files.transfers.state(id) == Some(TransferState::Cancelled) {
            continue;
        }
        files.transfers.set_state(id, TransferState::Running);
        let outcome = if moving && from == to {
            move_within(files, from, entry, &target_dir).await
        } else {
            copy_one(files, id, from, to, entry, &target_dir, moving).await
        };
        match outcome {
            Ok(true) => files.transfers.set_state(id, TransferState::Done),
            Ok(false) => files.transfers.set_state(id, TransferState::Skipped),
            Err(err) if err.code == "aborted" => {
                files.transfers.set_state(id, TransferState::Cancelled)
            }
            Err(err) => {
                files
                    .session
                    .fail(&format!("{} not copied", entry.name), &err);
                files
                    .transfers
                    .set_state(id, TransferState::Failed(err.message));
            }
        }
    }
    files.refresh_server(to);
    if moving {
        files.refresh_server(from);
    }
}

/// Ok(false): skipped (the user kept the existing target).
async fn move_within(
    files: Files,
    server_id: i32,
    entry: &Entry,
    target_dir: &str,
) -> api::ApiResult<bool> {
    let new_path = join(target_dir, base_name(&entry.path));
    match api::rename(server_id, entry.path.clone(), new_path.clone(), false).await {
        Ok(_) => Ok(true),
        Err(err) if err.is(codes::EXISTS) => {
            if !ask_replace(files, &entry.name).await {
                return Ok(false);
            }
            api::rename(server_id, entry.path.clone(), new_path, true)
                .await
                .map(|_| true)
        }
        Err(err) => Err(err),
    }
}

async fn copy_one(
    files: Files,
    id: u32,
    from: i32,
    to: i32,
    entry: &Entry,
    target_dir: &str,
    moving: bool,
) -> api::ApiResult<bool> {
    let mut request = CopyRequest {
        source_path: entry.path.clone(),
        target_server_id: to,
        target_path: target_dir.to_owned(),
        overwrite: false,
    };
    loop {
        match transfer::copy_to(files.transfers, id, from, &request).await {
            Ok(()) => break,
            Err(err) if err.is(codes::EXISTS) && !request.overwrite => {
                if !ask_replace(files, &entry.name).await {
                    return Ok(false);
                }
                request.overwrite = true;
            }
            Err(err) => return Err(err),
        }
    }
    if moving {
        api::delete_path(from, &entry.path).await?;
    }
    Ok(true)
}
