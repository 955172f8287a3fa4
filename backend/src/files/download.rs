//! `GET download?path=[&inline=1]`: a file streamed straight from SFTP to the HTTP response with
//! a few reads in flight, so memory stays flat whatever the size. Single byte ranges (`Range`,
//! with `If-Range`) make downloads resumable and media seekable.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use russh_sftp::protocol::OpenFlags;
use serde::Deserialize;
use serde_json::json;
use wire::files::{codes, EntryKind};

use super::context::{Access, Files};
use super::entry::kind;
use super::handlers::basename;
use super::pipe::Reader;
use crate::auth::CurrentUser;
use crate::error::extract::{Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    #[serde(default)]
    path: String,
    #[serde(default)]
    inline: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/files/{server_id}/download",
    tag = "files",
    operation_id = "files_download",
    params(
        ("server_id" = i32, Path, description = "The server"),
        ("path" = Option<String>, Query, description = "Absolute, or relative to the login directory (default: the login directory)"),
        ("inline" = Option<String>, Query, description = "Any value: `Content-Disposition: inline` for previews"),
        ("Range" = Option<String>, Header, description = "One byte range (`bytes=…`)"),
    ),
    responses(
        (status = 200, description = "The file, streamed", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 206, description = "The requested range", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 416, description = "The range does not fit the file", body = wire::ErrorBody),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Query(q): Query<DownloadQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let files = Files::open(&state, &user, server_id, Access::Read).await?;
    let path = files.resolve(&q.path).await?;
    let attrs = files.sftp().stat(&path).await?;
    if kind(&attrs) != EntryKind::File {
        return Err(not_a_file(&path));
    }
    let size = attrs.size.unwrap_or(0);
    let mtime = i64::from(attrs.mtime.unwrap_or(0));
    let etag = format!("\"{size:x}-{mtime:x}\"");
    let last_modified = chrono::DateTime::from_timestamp(mtime, 0)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string());

    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let range_applies = match header_str(header::IF_RANGE) {
        None => true,
        Some(v) => v == etag || Some(v) == last_modified.as_deref(),
    };
    let range = if range_applies {
        parse_range(header_str(header::RANGE), size)
    } else {
        RangeSpec::Full
    };
    let (start, end, status) = match range {
        RangeSpec::Full => (0, size, StatusCode::OK),
        RangeSpec::Partial(a, b) => (a, b + 1, StatusCode::PARTIAL_CONTENT),
        RangeSpec::Unsatisfiable => {
            let mut response = ApiError::coded(
                StatusCode::RANGE_NOT_SATISFIABLE,
                codes::RANGE_NOT_SATISFIABLE,
                format!("the requested range is outside the file ({size} bytes)"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(response);
        }
    };

    let handle = files.sftp().open(&path, OpenFlags::READ, None).await?;
    let depth = state.config.files_pipeline_depth;
    let reader = Reader::new(
        files.sftp().raw(),
        handle,
        start,
        end,
        files.sftp().read_len,
        depth,
    );
    files
        .audit(
            "download",
            json!({"path": path, "size": size, "from": start, "to": end}),
        )
        .await;
    let failed_path = path.clone();
    // The body holds the request's `Files` (and so its pooled session) until the last byte: the
    // idle reaper never closes a session under a download still in flight.
    let body = Body::from_stream(reader.into_stream().map(move |chunk| {
        let _in_use = &files;
        if let Ok(bytes) = &chunk {
            crate::metrics::sftp_download(bytes.len());
        }
        chunk.map_err(|e| {
            tracing::warn!(path = %failed_path, error = %e, "download ended early");
            std::io::Error::other("the SFTP transfer failed")
        })
    }));

    let name = basename(&path);
    let inline = q
        .inline
        .as_deref()
        .is_some_and(|v| v != "0" && v != "false");
    let (content_type, inline) = content_type(&name, inline);
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, end - start)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, &etag)
        .header(
            header::CONTENT_DISPOSITION,
            disposition(if inline { "inline" } else { "attachment" }, &name),
        );
    if let Some(lm) = &last_modified {
        response = response.header(header::LAST_MODIFIED, lm);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", end - 1),
        );
    }
    if inline {
        // Previews are framed by the UI itself, nobody else.
        response = response.header(header::X_FRAME_OPTIONS, "SAMEORIGIN");
    }
    response = response.header(header::CONTENT_SECURITY_POLICY, file_csp(content_type));
    response
        .body(body)
        .map_err(|e| ApiError::internal("download response", e))
}

pub fn not_a_file(path: &str) -> ApiError {
    ApiError::coded(
        StatusCode::BAD_REQUEST,
        codes::NOT_A_FILE,
        format!("{path} is not a regular file"),
    )
}

/// The type a file is served as. Inline display is only for types a browser shows without
/// running anything from it (images, PDF, plain text); anything else is always an attachment.
fn content_type(name: &str, inline: bool) -> (&'static str, bool) {
    let guessed = mime_guess::from_path(name).first_raw();
    const PREVIEWABLE: &[&str] = &[
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/avif",
        "image/x-icon",
        "application/pdf",
    ];
    match guessed {
        Some(t) if inline && PREVIEWABLE.contains(&t) => (t, true),
        Some(t) if inline && (t.starts_with("text/") || t == "application/json") => {
            ("text/plain; charset=utf-8", true)
        }
        None if inline => ("text/plain; charset=utf-8", true),
        Some(t) => (t, false),
        None => ("application/octet-stream", false),
    }
}

/// User files are hostile content served from our origin: they may never run script here.
/// (Chrome's PDF viewer refuses sandboxed documents, so PDFs get the policy without `sandbox`.)
fn file_csp(content_type: &str) -> &'static str {
    if content_type == "application/pdf" {
        "default-src 'none'; object-src 'self'; frame-ancestors 'self'"
    } else {
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
    }
}

/// RFC 5987 `attr-char`: everything else is percent-encoded in `filename*`.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `Content-Disposition` for any file name: an ASCII fallback with anything risky replaced, and
/// the exact name in `filename*`.
pub fn disposition(kind: &str, name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' ' => ' ',
            '"' | '\\' | '%' | ';' => '_',
            c if c.is_ascii_graphic() => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(name, ATTR_CHAR);
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[derive(Debug, PartialEq, Eq)]
pub enum RangeSpec {
    Full,
    /// Inclusive byte positions.
    Partial(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range; several ranges, other units and malformed headers are ignored (the whole
/// file is sent, which RFC 9110 allows).
pub fn parse_range(header: Option<&str>, size: u64) -> RangeSpec {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeSpec::Full;
    };
    if spec.contains(',') {
        return RangeSpec::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeSpec::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        (true, false) => match parse(last) {
            Some(0) => RangeSpec::Unsatisfiable,
            Some(_) if size == 0 => RangeSpec::Unsatisfiable,
            Some(n) => RangeSpec::Partial(size.saturating_sub(n), size - 1),
            None => RangeSpec::Full,
        },
        (false, _) => {
            let Some(a) = parse(first) else {
                return RangeSpec::Full;
            };
            let b = if last.is_empty() {
                Some(u64::MAX)
            } else {
                parse(last)
            };
            match b {
                None => RangeSpec::Full,
                Some(b) if b < a => RangeSpec::Full,
                Some(_) if a >= size => RangeSpec::Unsatisfiable,
                Some(b) => RangeSpec::Partial(a, b.min(size - 1)),
            }
        }
        (true, true) => RangeSpec::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeSpec::*;
        assert_eq!(parse_range(None, 100), Full);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Partial(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Partial(90, 99));
        assert_eq!(parse_range(Some("bytes=90-200"), 100), Partial(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Partial(90, 99));
        assert_eq!(parse_range(Some("bytes=-1000"), 100), Partial(0, 99));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-1"), 100), Full);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Full);
        assert_eq!(parse_range(Some("items=0-1"), 100), Full);
        assert_eq!(parse_range(Some("bytes=x-1"), 100), Full);
    }

    #[test]
    fn dispositions_are_safe_for_any_name() {
        assert_eq!(
            disposition("attachment", "a b.txt"),
            "attachment; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt"
        );
        let nasty = disposition("attachment", "x\"; y\r\n.txt");
        assert!(!nasty.contains('\r') && !nasty.contains('\n'));
        assert!(nasty.starts_with("attachment; filename=\"x__ y__.txt\";"));
        let unicode = disposition("inline", "résumé.pdf");
        assert!(unicode.ends_with("filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"));
    }

    #[test]
    fn only_harmless_types_display_inline() {
        assert_eq!(content_type("a.png", true), ("image/png", true));
        assert_eq!(
            content_type("a.html", true),
            ("text/plain; charset=utf-8", true)
        );
        assert_eq!(content_type("a.svg", true), ("image/svg+xml", false));
        assert_eq!(content_type("a.html", false), ("text/html", false));
        assert_eq!(
            content_type("noext", false),
            ("application/octet-stream", false)
        );
    }
}
