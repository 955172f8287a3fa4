//! Prometheus metrics: a process-wide registry of counters and histograms on atomics, bumped
//! where bytes and operations flow (terminal hub and input, file transfers, the audit log, an
//! HTTP middleware), and rendered in the text exposition format by `GET /metrics` together with
//! gauges read from the live state at scrape time.

pub mod encode;
pub mod handlers;
pub mod http;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds (seconds) of the HTTP latency histogram's buckets; `+Inf` is implicit.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Counts and sums of one histogram series.
#[derive(Clone, Default)]
pub struct HistogramCells {
    pub buckets: [u64; DURATION_BUCKETS.len()],
    pub count: u64,
    pub sum: f64,
}

/// One HTTP histogram series: (matched route, method, status class).
pub type HttpKey = (String, String, &'static str);

/// Everything counted since the process started.
pub struct Registry {
    pub terminal_out: AtomicU64,
    pub terminal_in: AtomicU64,
    pub sftp_download: AtomicU64,
    pub sftp_upload: AtomicU64,
    pub login_success: AtomicU64,
    pub login_failure: AtomicU64,
    pub login_throttled: AtomicU64,
    pub webhook_success: AtomicU64,
    pub webhook_failure: AtomicU64,
    pub webhook_retry: AtomicU64,
    pub sftp_ops: Mutex<BTreeMap<String, u64>>,
    pub http: Mutex<BTreeMap<HttpKey, HistogramCells>>,
}

static REGISTRY: Registry = Registry {
    terminal_out: AtomicU64::new(0),
    terminal_in: AtomicU64::new(0),
    sftp_download: AtomicU64::new(0),
    sftp_upload: AtomicU64::new(0),
    login_success: AtomicU64::new(0),
    login_failure: AtomicU64::new(0),
    login_throttled: AtomicU64::new(0),
    webhook_success: AtomicU64::new(0),
    webhook_failure: AtomicU64::new(0),
    webhook_retry: AtomicU64::new(0),
    sftp_ops: Mutex::new(BTreeMap::new()),
    http: Mutex::new(BTreeMap::new()),
};

pub fn registry() -> &'static Registry {
    &REGISTRY
}

fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

/// Terminal output read from a remote shell.
pub fn terminal_out(n: usize) {
    add(&REGISTRY.terminal_out, n);
}

/// Keystrokes and pastes written to a remote shell.
pub fn terminal_in(n: usize) {
    add(&REGISTRY.terminal_in, n);
}

/// File bytes sent to a browser (downloads, archives).
pub fn sftp_download(n: usize) {
    add(&REGISTRY.sftp_download, n);
}

/// File bytes received from a browser.
pub fn sftp_upload(n: u64) {
    REGISTRY.sftp_upload.fetch_add(n, Ordering::Relaxed);
}

/// One files operation (`list`, `download`, `upload`, ...).
pub fn sftp_operation(op: &str) {
    let mut ops = lock(&REGISTRY.sftp_ops);
    match ops.get_mut(op) {
        Some(n) => *n += 1,
        None => {
            ops.insert(op.to_string(), 1);
        }
    }
}

/// Counts a sign-in outcome from its audit action; other actions are ignored.
pub fn audit_action(action: &str) {
    let counter = match action {
        "auth.login" => &REGISTRY.login_success,
        "auth.login_failed" | "auth.totp_failed" => &REGISTRY.login_failure,
        "auth.login_throttled" => &REGISTRY.login_throttled,
        _ => return,
    };
    add(counter, 1);
}

/// How one webhook delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The receiver answered 2xx.
    Success,
    /// It failed and a retry is scheduled.
    Retry,
    /// It failed and no more attempts will be made.
    Failure,
}

/// One webhook delivery attempt.
pub fn webhook_delivery(outcome: WebhookOutcome) {
    let counter = match outcome {
        WebhookOutcome::Success => &REGISTRY.webhook_success,
        WebhookOutcome::Retry => &REGISTRY.webhook_retry,
        WebhookOutcome::Failure => &REGISTRY.webhook_failure,
    };
    add(counter, 1);
}

/// One answered HTTP request.
pub fn http_request(route: String, method: String, status: u16, seconds: f64) {
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    let mut http = lock(&REGISTRY.http);
    let cells = http.entry((route, method, class)).or_default();
    for (bucket, bound) in cells.buckets.iter_mut().zip(DURATION_BUCKETS) {
        if seconds <= bound {
            *bucket += 1;
        }
    }
    cells.count += 1;
    cells.sum += seconds;
}

/// A poisoned lock only means a panic elsewhere mid-update; the counts are still usable.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
