//! Readers for what the files API answers beyond JSON: ZIPs, the NDJSON events of `copy-to`, and
//! `Content-Disposition` headers.

use std::io::{self, Read};

use percent_encoding::percent_decode_str;
use wire::files::CopyEvent;

use crate::api::Response;

/// What an entry of a ZIP is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipKind {
    File,
    Dir,
    Symlink,
}

/// One entry of a ZIP, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    pub kind: ZipKind,
    /// Unix permission bits (`& 0o7777`), when the archive records them.
    pub mode: Option<u32>,
    /// Contents; for a symlink, the link target. CRC-checked while reading.
    pub contents: Vec<u8>,
}

/// Read every entry of a ZIP (panics if it is not one, or a CRC is wrong).
pub fn unzip(bytes: &[u8]) -> Vec<ZipEntry> {
    let mut archive =
        zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap_or_else(|e| panic!("not a ZIP: {e}"));
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).expect("a ZIP entry");
            let name = file.name().expect("an entry name").into_owned();
            let kind = if file.is_symlink() {
                ZipKind::Symlink
            } else if file.is_dir() {
                ZipKind::Dir
            } else {
                ZipKind::File
            };
            let mode = file.unix_mode().map(|m| m & 0o7777);
            let mut contents = Vec::new();
            file.read_to_end(&mut contents)
                .unwrap_or_else(|e| panic!("read ZIP entry {name}: {e}"));
            ZipEntry {
                name,
                kind,
                mode,
                contents,
            }
        })
        .collect()
}

/// The events of a `copy-to` answer, in order (panics unless it is JSON Lines of events).
#[track_caller]
pub fn copy_events(resp: &Response) -> Vec<CopyEvent> {
    let content_type = resp
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/x-ndjson"),
        "copy-to streams application/x-ndjson, not {content_type:?}: {}",
        resp.text
    );
    resp.text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a copy event ({e}): {l}")))
        .collect()
}

/// A parsed `Content-Disposition` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentDisposition {
    /// `attachment` or `inline`, lower-cased.
    pub kind: String,
    /// `filename="…"`, unquoted.
    pub filename: Option<String>,
    /// `filename*=UTF-8''…`, percent-decoded.
    pub filename_star: Option<String>,
}

impl ContentDisposition {
    /// Parse a header value; panics when it is malformed (unterminated quote, a `filename*`
    /// not in UTF-8, …).
    #[track_caller]
    pub fn parse(header: &str) -> ContentDisposition {
        let mut params = Vec::new();
        let mut rest = header;
        let kind_end = rest.find(';').unwrap_or(rest.len());
        let kind = rest[..kind_end].trim().to_ascii_lowercase();
        rest = &rest[kind_end..];
        while let Some(after) = rest.strip_prefix(';') {
            let after = after.trim_start();
            let eq = after
                .find('=')
                .unwrap_or_else(|| panic!("a parameter without `=` in {header:?}"));
            let name = after[..eq].trim().to_ascii_lowercase();
            let value_and_more = &after[eq + 1..];
            let (value, more) = if let Some(quoted) = value_and_more.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.push(chars.next().expect("an escaped char").1),
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                let end = end.unwrap_or_else(|| panic!("unterminated quote in {header:?}"));
                (value, &quoted[end..])
            } else {
                let end = value_and_more.find(';').unwrap_or(value_and_more.len());
                (
                    value_and_more[..end].trim().to_string(),
                    &value_and_more[end..],
                )
            };
            params.push((name, value));
            rest = more.trim_start();
        }
        let get = |key: &str| {
            params
                .iter()
                .find(|(n, _)| n == key)
                .map(|(_, v)| v.clone())
        };
        let filename_star = get("filename*").map(|v| {
            let encoded = v
                .strip_prefix("UTF-8''")
                .or_else(|| v.strip_prefix("utf-8''"))
                .unwrap_or_else(|| panic!("filename* is not UTF-8'' in {header:?}"));
            percent_decode_str(encoded)
                .decode_utf8()
                .unwrap_or_else(|e| panic!("filename* is not UTF-8 ({e}) in {header:?}"))
                .into_owned()
        });
        ContentDisposition {
            kind,
            filename: get("filename"),
            filename_star,
        }
    }
}
