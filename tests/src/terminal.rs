//! A terminal WebSocket client, as a script (bearer) or the browser (cookie + Origin) opens it:
//! binary frames carry PTY bytes both ways, JSON text frames carry control messages.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wire::terminal::{ClientFrame, ServerFrame};

use crate::api::Api;
use crate::{find, WAIT};

/// How much of the received output a terminal keeps for failure messages.
const TRANSCRIPT_KEEP: usize = 64 * 1024;

/// A text frame from the server: a known control message, or text that is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Frame(ServerFrame),
    Unknown(String),
}

/// How the socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// The server sent a Close frame (with this code, if any).
    Clean(Option<u16>),
    /// The connection ended without a closing handshake.
    Abrupt(String),
}

/// The gateway refused the WebSocket upgrade with an HTTP answer.
#[derive(Debug, Clone)]
pub struct WsRefused {
    pub status: u16,
    pub body: String,
}

impl WsRefused {
    /// The `code` of the JSON error body, if there is one.
    pub fn code(&self) -> Option<String> {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string))
    }
}

/// An open terminal socket and everything it has received but no one has read yet.
pub struct Terminal {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    output: Vec<u8>,
    controls: VecDeque<Control>,
    closed: Option<Closed>,
    /// Everything received so far (output only), for failure messages.
    transcript: Vec<u8>,
    /// From the `session` frame, once read.
    session_id: Option<String>,
    /// Output bytes received on this socket, replay included.
    received: u64,
}

impl Terminal {
    /// Upgrade `GET /api/ws/terminal/{server_id}?cols=&rows=` with `api`'s credentials.
    pub async fn connect(
        api: &Api,
        server_id: i32,
        cols: u16,
        rows: u16,
    ) -> Result<Terminal, WsRefused> {
        let path = format!("/api/ws/terminal/{server_id}?cols={cols}&rows={rows}");
        Self::connect_path(api, &path).await
    }

    /// Upgrade an arbitrary path with `api`'s credentials.
    pub async fn connect_path(api: &Api, path: &str) -> Result<Terminal, WsRefused> {
        let url = format!("{}{}", api.base_url().replacen("http", "ws", 1), path);
        let mut req = url.into_client_request().expect("valid ws url");
        for (name, value) in api.auth_headers(true) {
            req.headers_mut()
                .insert(name, HeaderValue::from_str(&value).expect("header value"));
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(Terminal {
                ws,
                output: Vec::new(),
                controls: VecDeque::new(),
                closed: None,
                transcript: Vec::new(),
                session_id: None,
                received: 0,
            }),
            Err(WsError::Http(resp)) => Err(WsRefused {
                status: resp.status().as_u16(),
                body: resp
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            }),
            Err(e) => panic!("WebSocket connect to {path} failed below HTTP: {e}"),
        }
    }

    /// Upgrade `GET /api/ws/terminal/attach/{session_id}` (a reattach) with `api`'s credentials;
    /// `query` is appended as it is (e.g. `?offset=10&cols=100&rows=30`, or empty).
    pub async fn attach(api: &Api, session_id: &str, query: &str) -> Result<Terminal, WsRefused> {
        Self::connect_path(api, &format!("/api/ws/terminal/attach/{session_id}{query}")).await
    }

    /// Connect (80×24) and wait for the `session` frame; panics if either fails.
    pub async fn open(api: &Api, server_id: i32) -> Terminal {
        Self::open_sized(api, server_id, 80, 24).await
    }

    pub async fn open_sized(api: &Api, server_id: i32, cols: u16, rows: u16) -> Terminal {
        let mut term = Self::connect(api, server_id, cols, rows)
            .await
            .unwrap_or_else(|r| panic!("terminal upgrade refused: {} {}", r.status, r.body));
        term.expect_session().await;
        term
    }

    /// The first frame must be `{"type":"session","session_id":…}`; returns the id.
    pub async fn expect_session(&mut self) -> String {
        let deadline = Instant::now() + WAIT;
        while self.controls.is_empty() && self.output.is_empty() && self.closed.is_none() {
            if !self.pump(deadline).await {
                break;
            }
        }
        assert!(
            self.output.is_empty(),
            "terminal bytes arrived before the session frame: {:?}",
            String::from_utf8_lossy(&self.output)
        );
        match self.controls.pop_front() {
            Some(Control::Frame(ServerFrame::Session { session_id })) => {
                assert!(!session_id.is_empty(), "session id is empty");
                self.session_id = Some(session_id.clone());
                session_id
            }
            other => panic!(
                "expected a session frame first, got {other:?} (closed: {:?})",
                self.closed
            ),
        }
    }

    /// The session id from the `session` frame (after `expect_session`).
    pub fn session_id(&self) -> &str {
        self.session_id
            .as_deref()
            .expect("the session frame was read")
    }

    /// After `expect_session` on a reattach: the `replay` frame and exactly the bytes it
    /// announces. Returns the stream offset they start at and the bytes.
    pub async fn expect_replay(&mut self) -> (u64, Vec<u8>) {
        let (offset, bytes) = match self.next_control().await {
            Control::Frame(ServerFrame::Replay { offset, bytes }) => (offset, bytes),
            other => panic!("expected a replay frame, got {other:?}"),
        };
        let len = usize::try_from(bytes).expect("replay fits in memory");
        let deadline = Instant::now() + WAIT;
        while self.output.len() < len {
            if !self.pump(deadline).await {
                panic!(
                    "the replay announced {len} bytes, {} arrived; closed: {:?}",
                    self.output.len(),
                    self.closed
                );
            }
        }
        let rest = self.output.split_off(len);
        (offset, std::mem::replace(&mut self.output, rest))
    }

    /// Send stdin bytes (a binary frame).
    pub async fn send(&mut self, bytes: &[u8]) {
        self.ws
            .send(Message::Binary(Bytes::copy_from_slice(bytes)))
            .await
            .expect("send a binary frame");
    }

    /// Type a line and press Enter.
    pub async fn send_line(&mut self, line: &str) {
        self.send(format!("{line}\r").as_bytes()).await;
    }

    /// Send a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("send a text frame");
    }

    /// Send `{"type":"resize","cols","rows"}`.
    pub async fn resize(&mut self, cols: u16, rows: u16) {
        let frame = serde_json::to_string(&ClientFrame::Resize { cols, rows }).expect("json");
        self.send_text(&frame).await;
    }

    /// Read output until `needle` appears; return everything up to and including it (the rest
    /// stays buffered). Panics, showing what arrived, if it does not within `WAIT`.
    pub async fn read_until(&mut self, needle: &[u8]) -> Vec<u8> {
        self.read_until_within(needle, WAIT).await
    }

    pub async fn read_until_within(&mut self, needle: &[u8], wait: Duration) -> Vec<u8> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(at) = find(&self.output, needle) {
                let rest = self.output.split_off(at + needle.len());
                return std::mem::replace(&mut self.output, rest);
            }
            if !self.pump(deadline).await {
                panic!(
                    "waited for {:?} in the terminal output; closed: {:?}; controls: {:?}; \
                     output so far (tail): {:?}",
                    String::from_utf8_lossy(needle),
                    self.closed,
                    self.controls,
                    String::from_utf8_lossy(crate::tail_bytes(&self.transcript, 3000))
                );
            }
        }
    }

    /// The next output: whatever is buffered, else the next binary frame. `None` when nothing
    /// arrived within `wait` or the socket ended (control frames in between are queued).
    pub async fn next_output(&mut self, wait: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + wait;
        while self.output.is_empty() {
            if !self.pump(deadline).await {
                return None;
            }
        }
        Some(std::mem::take(&mut self.output))
    }

    /// Send `{"type":"ack","bytes":n}`: the client has processed `n` more output bytes.
    pub async fn ack(&mut self, bytes: u64) {
        let frame = serde_json::to_string(&ClientFrame::Ack { bytes }).expect("json");
        self.send_text(&frame).await;
    }

    /// Wait for the next control frame (output in between stays buffered).
    pub async fn next_control(&mut self) -> Control {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(c) = self.controls.pop_front() {
                return c;
            }
            if !self.pump(deadline).await {
                panic!(
                    "waited for a control frame; closed: {:?}; output tail: {:?}",
                    self.closed,
                    String::from_utf8_lossy(crate::tail_bytes(&self.transcript, 2000))
                );
            }
        }
    }

    /// Wait for `{"type":"exit"}` and return its code.
    pub async fn expect_exit(&mut self) -> Option<u32> {
        match self.next_control().await {
            Control::Frame(ServerFrame::Exit { code }) => code,
            other => panic!("expected an exit frame, got {other:?}"),
        }
    }

    /// Wait for `{"type":"error"}` and return its code and message.
    pub async fn expect_error(&mut self) -> (String, String) {
        match self.next_control().await {
            Control::Frame(ServerFrame::Error { code, message }) => (code, message),
            other => panic!("expected an error frame, got {other:?}"),
        }
    }

    /// Wait until the socket ends and say how.
    pub async fn wait_closed(&mut self) -> Closed {
        let deadline = Instant::now() + WAIT;
        while self.closed.is_none() {
            if !self.pump(deadline).await && self.closed.is_none() {
                panic!("the terminal socket did not close");
            }
        }
        self.closed.clone().expect("closed")
    }

    /// Whether the socket has ended (as far as frames read so far tell).
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// Output bytes received on this socket so far (replay included).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Output received and not yet consumed.
    pub fn pending_output(&self) -> &[u8] {
        &self.output
    }

    /// Control frames received and not yet consumed.
    pub fn pending_controls(&self) -> &VecDeque<Control> {
        &self.controls
    }

    /// End the session: a `{"type":"close"}` frame, then close the socket.
    pub async fn close(mut self) {
        let frame = serde_json::to_string(&ClientFrame::Close).expect("json");
        let _ = self.ws.send(Message::text(frame)).await;
        let _ = self.ws.close(None).await;
    }

    /// Close the socket cleanly without ending the session (it detaches, as on a page reload).
    pub async fn detach(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Drop the connection without a closing handshake (as a network loss does).
    pub fn drop_connection(self) {
        drop(self);
    }

    /// Read one message. False on timeout or when the socket has ended.
    async fn pump(&mut self, deadline: Instant) -> bool {
        if self.closed.is_some() {
            return false;
        }
        match timeout_at(deadline, self.ws.next()).await {
            Err(_) => false,
            Ok(None) => {
                self.closed = Some(Closed::Abrupt("stream ended".into()));
                false
            }
            Ok(Some(Err(e))) => {
                self.closed = Some(Closed::Abrupt(e.to_string()));
                false
            }
            Ok(Some(Ok(msg))) => {
                match msg {
                    Message::Binary(b) => {
                        self.received += b.len() as u64;
                        self.output.extend_from_slice(&b);
                        self.transcript.extend_from_slice(&b);
                        if self.transcript.len() > TRANSCRIPT_KEEP * 2 {
                            self.transcript
                                .drain(..self.transcript.len() - TRANSCRIPT_KEEP);
                        }
                    }
                    Message::Text(t) => {
                        let control = match serde_json::from_str::<ServerFrame>(t.as_str()) {
                            Ok(frame) => Control::Frame(frame),
                            Err(_) => Control::Unknown(t.as_str().to_string()),
                        };
                        self.controls.push_back(control);
                    }
                    Message::Close(frame) => {
                        self.closed = Some(Closed::Clean(frame.map(|f| u16::from(f.code))));
                    }
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                }
                true
            }
        }
    }
}

/// A fresh marker a test can make the shell print: the shell computes it, so the echo of the
/// typed command never contains it.
pub struct Marker {
    /// What to put in a shell command: `M$((A+B))K`.
    pub shell: String,
    /// What the shell prints for it.
    pub printed: String,
}

impl Marker {
    pub fn new(tag: &str) -> Marker {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(1000);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        Marker {
            shell: format!("{tag}$(({n}+1))Z"),
            printed: format!("{tag}{}Z", n + 1),
        }
    }
}
