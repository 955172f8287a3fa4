//! A client for `/api/files/{server_id}/`: JSON endpoints answered as [`Response`], downloads and
//! ZIPs as bytes, and upload bodies built by hand the way a browser builds them — folder-relative
//! names included, streamed for multi-GB files, or cut off mid-body on a raw connection.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wire::files::Mode;

use super::Pattern;
use crate::api::{Api, Response};

/// What a query value may carry unencoded (RFC 3986 unreserved, plus `/` for readability).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Percent-encode a query value.
pub fn encode_query(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// An answer read as bytes: downloads and ZIPs (and their errors).
#[derive(Debug, Clone)]
pub struct Download {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Download {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Panic unless the status is `status`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Download {
        assert_eq!(
            self.status,
            status,
            "expected HTTP {status}, got {}: {}",
            self.status,
            crate::tail(&String::from_utf8_lossy(&self.bytes), 2000)
        );
        self
    }

    /// The answer as a JSON [`Response`] (for error bodies).
    pub fn into_response(self) -> Response {
        let text = String::from_utf8_lossy(&self.bytes).into_owned();
        Response {
            status: self.status,
            headers: self.headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Response {
        self.into_response().expect_error(status, code)
    }
}

/// A client for `/api/files/{server_id}/` as one user.
#[derive(Debug, Clone)]
pub struct Files {
    api: Api,
    server_id: i32,
}

impl Files {
    pub fn new(api: &Api, server_id: i32) -> Files {
        Files {
            api: api.clone(),
            server_id,
        }
    }

    pub fn server_id(&self) -> i32 {
        self.server_id
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    /// `/api/files/{id}/{op}`, with one `path=` per entry of `paths`.
    pub fn url(&self, op: &str, paths: &[&str]) -> String {
        let query: Vec<String> = paths
            .iter()
            .map(|p| format!("path={}", encode_query(p)))
            .collect();
        let mut url = format!("/api/files/{}/{op}", self.server_id);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }

    /// `GET ls`; `None` lists the login directory.
    pub async fn ls(&self, path: Option<&str>) -> Response {
        let paths: Vec<&str> = path.into_iter().collect();
        self.api.get(&self.url("ls", &paths)).await
    }

    pub async fn stat(&self, path: &str) -> Response {
        self.api.get(&self.url("stat", &[path])).await
    }

    pub async fn read(&self, path: &str) -> Response {
        self.api.get(&self.url("read", &[path])).await
    }

    pub async fn write(&self, path: &str, content: &str, expected_mtime: Option<i64>) -> Response {
        let mut body = json!({ "path": path, "content": content });
        if let Some(mtime) = expected_mtime {
            body["expected_mtime"] = mtime.into();
        }
        self.api
            .put(&format!("/api/files/{}/write", self.server_id), &body)
            .await
    }

    pub async fn mkdir(&self, path: &str) -> Response {
        self.api
            .post(
                &format!("/api/files/{}/mkdir", self.server_id),
                &json!({ "path": path }),
            )
            .await
    }

    pub async fn rename(&self, old_path: &str, new_path: &str, overwrite: bool) -> Response {
        let body = json!({ "old_path": old_path, "new_path": new_path, "overwrite": overwrite });
        self.api
            .post(&format!("/api/files/{}/rename", self.server_id), &body)
            .await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.api.delete(&self.url("delete", &[path])).await
    }

    pub async fn chmod(&self, path: &str, mode: Mode) -> Response {
        self.api
            .post(
                &format!("/api/files/{}/chmod", self.server_id),
                &json!({ "path": path, "mode": mode }),
            )
            .await
    }

    pub async fn copy_to(
        &self,
        source_path: &str,
        target_server_id: i32,
        target_path: &str,
        overwrite: bool,
    ) -> Response {
        let body = json!({
            "source_path": source_path,
            "target_server_id": target_server_id,
            "target_path": target_path,
            "overwrite": overwrite,
        });
        self.api
            .post(&format!("/api/files/{}/copy-to", self.server_id), &body)
            .await
    }

    /// `GET download?path=` with extra request headers (e.g. `Range`).
    pub async fn download(&self, path: &str, headers: &[(&str, &str)]) -> Download {
        self.get_bytes(&self.url("download", &[path]), headers)
            .await
    }

    /// `GET download-zip?path=…&path=…`.
    pub async fn zip_get(&self, paths: &[&str]) -> Download {
        self.get_bytes(&self.url("download-zip", paths), &[]).await
    }

    /// `POST download-zip {"paths"}`.
    pub async fn zip_post(&self, paths: &[&str]) -> Download {
        let req = self
            .api
            .request(
                Method::POST,
                &format!("/api/files/{}/download-zip", self.server_id),
            )
            .json(&json!({ "paths": paths }));
        read_bytes(req).await
    }

    /// A GET of any URL (path and query), answered as bytes.
    pub async fn get_bytes(&self, url: &str, headers: &[(&str, &str)]) -> Download {
        let mut req = self.api.request(Method::GET, url);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        read_bytes(req).await
    }

    /// `POST upload?path=<dir>` with the files `(name, contents)` in field `files`, the names
    /// sent as a browser sends them.
    pub async fn upload(&self, dir: &str, overwrite: bool, files: &[(&str, &[u8])]) -> Response {
        let mut body = Vec::new();
        for (name, contents) in files {
            body.extend_from_slice(&part_head(name));
            body.extend_from_slice(contents);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(&multipart_tail());
        let len = body.len() as u64;
        self.upload_body(dir, overwrite, reqwest::Body::from(body), len)
            .await
    }

    /// `POST upload` of one file `name` whose `len` bytes come from `pattern`, streamed.
    pub async fn upload_pattern(
        &self,
        dir: &str,
        name: &str,
        pattern: &Pattern,
        len: u64,
    ) -> Response {
        self.try_upload_pattern(dir, name, pattern, len)
            .await
            .unwrap_or_else(|e| panic!("upload request: {e:?}"))
    }

    /// The same, with a failure to get any answer (the connection cut, the body refused
    /// mid-stream) returned instead of panicking, for tests where that is the question.
    pub async fn try_upload_pattern(
        &self,
        dir: &str,
        name: &str,
        pattern: &Pattern,
        len: u64,
    ) -> reqwest::Result<Response> {
        let (body, total) = pattern_part(name, pattern, len, None);
        self.try_upload_body(dir, false, body, total).await
    }

    /// Like `try_upload_pattern`, but the body stops flowing (without ending) once `hold` is set:
    /// a client that stops sending can always read the gateway's early answer, where one still
    /// writing may see its write fail first when the gateway answers and closes.
    pub async fn try_upload_pattern_held(
        &self,
        dir: &str,
        name: &str,
        pattern: &Pattern,
        len: u64,
        hold: Arc<AtomicBool>,
    ) -> reqwest::Result<Response> {
        let (body, total) = pattern_part(name, pattern, len, Some(hold));
        self.try_upload_body(dir, false, body, total).await
    }

    /// `POST upload` with a ready multipart body of `len` bytes.
    pub async fn upload_body(
        &self,
        dir: &str,
        overwrite: bool,
        body: reqwest::Body,
        len: u64,
    ) -> Response {
        self.try_upload_body(dir, overwrite, body, len)
            .await
            .unwrap_or_else(|e| panic!("upload request: {e:?}"))
    }

    /// The same, returning a failure to get an answer instead of panicking.
    pub async fn try_upload_body(
        &self,
        dir: &str,
        overwrite: bool,
        body: reqwest::Body,
        len: u64,
    ) -> reqwest::Result<Response> {
        let mut url = self.url("upload", &[dir]);
        if overwrite {
            url.push_str("&overwrite=true");
        }
        let resp = self
            .api
            .request(Method::POST, &url)
            .header("content-type", multipart_content_type())
            .header("content-length", len.to_string())
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        Ok(Response {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        })
    }

    /// Start an upload of `name` into `dir` by hand on a raw connection: headers announcing a
    /// file of `announced` bytes, then the first `send` bytes of it. Dropping the returned
    /// socket interrupts the upload mid-body.
    pub async fn start_raw_upload(
        &self,
        dir: &str,
        name: &str,
        overwrite: bool,
        announced: u64,
        send: u64,
        pattern: &Pattern,
    ) -> TcpStream {
        let host = self
            .api
            .base_url()
            .trim_start_matches("http://")
            .to_string();
        let head = part_head(name);
        let content_length = head.len() as u64 + announced + 2 + multipart_tail().len() as u64;
        let mut url = self.url("upload", &[dir]);
        if overwrite {
            url.push_str("&overwrite=true");
        }
        let mut request = format!(
            "POST {url} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {}\r\nContent-Length: {content_length}\r\n",
            multipart_content_type(),
        );
        for (name, value) in self.api.auth_headers(true) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut socket = TcpStream::connect(&host)
            .await
            .expect("connect to gatehouse");
        let mut sent = socket.write_all(request.as_bytes()).await;
        if sent.is_ok() {
            sent = socket.write_all(&head).await;
        }
        let mut index = 0;
        let mut done = 0u64;
        while sent.is_ok() && done < send {
            let mut chunk = pattern.chunk(index);
            chunk.truncate((send - done).min(chunk.len() as u64) as usize);
            sent = socket.write_all(&chunk).await;
            done += chunk.len() as u64;
            index += 1;
        }
        if let Err(e) = sent {
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                socket.read_to_end(&mut answer),
            )
            .await;
            panic!(
                "the gateway stopped reading the upload after {done} bytes ({e}): {}",
                String::from_utf8_lossy(&answer)
            );
        }
        socket
    }
}

async fn read_bytes(req: reqwest::RequestBuilder) -> Download {
    let resp = req.send().await.expect("HTTP request to the gateway");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("read the body").to_vec();
    Download {
        status,
        headers,
        bytes,
    }
}

/// The multipart boundary of every upload body built here.
pub const BOUNDARY: &str = "----GatehouseTestBoundary7MA4YWxkTrZu0gW";

pub fn multipart_content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// The head of one part of field `files`. Like browsers (WHATWG HTML), `"`, CR and LF in the
/// name are percent-encoded and everything else — `/` of a folder upload included — is sent as
/// is.
pub fn part_head(filename: &str) -> Vec<u8> {
    let escaped = filename
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{escaped}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes()
}

/// The closing delimiter (after the last part's `\r\n`).
pub fn multipart_tail() -> Vec<u8> {
    format!("--{BOUNDARY}--\r\n").into_bytes()
}

/// A whole multipart upload body holding one part `name` with the first `len` bytes of
/// `pattern`, streamed, and its length. With `hold`, the bytes stop flowing (the body never
/// ends) once the flag is set.
pub fn pattern_part(
    name: &str,
    pattern: &Pattern,
    len: u64,
    hold: Option<Arc<AtomicBool>>,
) -> (reqwest::Body, u64) {
    let head = part_head(name);
    let tail = [b"\r\n".as_slice(), &multipart_tail()].concat();
    let total = head.len() as u64 + len + tail.len() as u64;
    let held = pattern.stream(len).then(move |chunk| {
        let hold = hold.clone();
        async move {
            if hold.is_some_and(|h| h.load(Ordering::SeqCst)) {
                futures::future::pending::<()>().await;
            }
            chunk
        }
    });
    let body = futures::stream::iter([Ok::<_, io::Error>(head)])
        .chain(held)
        .chain(futures::stream::iter([Ok(tail)]));
    (reqwest::Body::wrap_stream(body), total)
}
