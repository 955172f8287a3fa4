//! Fixtures for the files (SFTP) API: a scratch directory in the SSH test user's home (the sshd's
//! internal-sftp acts as that user, so the user must own what the gateway is to change), a client
//! for `/api/files/{server_id}/`, upload bodies built the way a browser builds them (folder-relative
//! file names included, streamed for multi-GB files), a deterministic byte pattern that checks big
//! transfers byte for byte without holding them in memory, a small tmpfs to fill up, and readers for
//! the ZIP, NDJSON and `Content-Disposition` answers.

mod answers;
mod client;
mod pattern;
mod remote_dir;
mod tmpfs;

pub use answers::{copy_events, unzip, ContentDisposition, ZipEntry, ZipKind};
pub use client::{
    encode_query, multipart_content_type, multipart_tail, part_head, pattern_part, Download, Files,
    BOUNDARY,
};
pub use pattern::{Pattern, PatternCheck, PATTERN_CHUNK};
pub use remote_dir::{
    account, assert_entry_matches, give_to_user, is_upload_temp_name, upload_leftovers_in, Account,
    RemoteDir,
};
pub use tmpfs::Tmpfs;

use wire::servers::ServerRequest;

use crate::api::Api;
use crate::sshd::Sshd;

/// Register `sshd` (password login) as `name`, with `edit` applied to the request (policy, group),
/// and return a files client for it as `api`.
pub async fn register(
    admin: &Api,
    sshd: &Sshd,
    name: &str,
    edit: impl FnOnce(&mut ServerRequest),
) -> Files {
    let mut req = sshd.password_server(name);
    edit(&mut req);
    let server = admin.create_server(&req).await;
    Files::new(admin, server.id)
}
