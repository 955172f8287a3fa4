//! The Prometheus text exposition format (version 0.0.4): counters from the registry, gauges
//! read from the live state at scrape time.

use std::fmt::Write;

use sea_orm::DatabaseConnection;

use super::{lock, registry, DURATION_BUCKETS};
use crate::state::AppState;

pub fn render(state: &AppState) -> String {
    let r = registry();
    let mut out = String::new();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);

    header(
        &mut out,
        "gatehouse_build_info",
        "gauge",
        "The running version.",
    );
    let version = escape(env!("CARGO_PKG_VERSION"));
    line(
        &mut out,
        "gatehouse_build_info",
        &format!("version=\"{version}\""),
        1,
    );

    header(
        &mut out,
        "gatehouse_terminal_sessions",
        "gauge",
        "Live terminal sessions, attached or detached.",
    );
    line(
        &mut out,
        "gatehouse_terminal_sessions",
        "",
        state.terminals.count(),
    );

    header(
        &mut out,
        "gatehouse_ssh_connections",
        "gauge",
        "Pooled SSH connections open.",
    );
    line(
        &mut out,
        "gatehouse_ssh_connections",
        "",
        state.ssh_pool.open_connections(),
    );

    if let Some((size, idle)) = db_pool(&state.db) {
        header(
            &mut out,
            "gatehouse_db_pool_connections",
            "gauge",
            "Database pool connections by state.",
        );
        line(
            &mut out,
            "gatehouse_db_pool_connections",
            "state=\"idle\"",
            idle,
        );
        line(
            &mut out,
            "gatehouse_db_pool_connections",
            "state=\"busy\"",
            size.saturating_sub(idle),
        );
    }

    let name = "gatehouse_terminal_bytes_total";
    header(
        &mut out,
        name,
        "counter",
        "Terminal bytes: out of the remote shell, in from the browser.",
    );
    line(&mut out, name, "direction=\"out\"", load(&r.terminal_out));
    line(&mut out, name, "direction=\"in\"", load(&r.terminal_in));

    let name = "gatehouse_sftp_bytes_total";
    header(
        &mut out,
        name,
        "counter",
        "File bytes sent to browsers (download) and received (upload).",
    );
    line(
        &mut out,
        name,
        "direction=\"download\"",
        load(&r.sftp_download),
    );
    line(&mut out, name, "direction=\"upload\"", load(&r.sftp_upload));

    let name = "gatehouse_sftp_operations_total";
    header(&mut out, name, "counter", "Files operations by kind.");
    for (op, n) in lock(&r.sftp_ops).iter() {
        line(&mut out, name, &format!("op=\"{}\"", escape(op)), n);
    }

    let name = "gatehouse_logins_total";
    header(&mut out, name, "counter", "Sign-in attempts by outcome.");
    line(
        &mut out,
        name,
        "outcome=\"success\"",
        load(&r.login_success),
    );
    line(
        &mut out,
        name,
        "outcome=\"failure\"",
        load(&r.login_failure),
    );
    line(
        &mut out,
        name,
        "outcome=\"throttled\"",
        load(&r.login_throttled),
    );

    let name = "gatehouse_webhook_deliveries_total";
    header(
        &mut out,
        name,
        "counter",
        "Webhook delivery attempts by outcome: delivered, failed with a retry scheduled, failed for good.",
    );
    line(
        &mut out,
        name,
        "outcome=\"success\"",
        load(&r.webhook_success),
    );
    line(&mut out, name, "outcome=\"retry\"", load(&r.webhook_retry));
    line(
        &mut out,
        name,
        "outcome=\"failure\"",
        load(&r.webhook_failure),
    );

    let name = "gatehouse_http_request_duration_seconds";
    header(
        &mut out,
        name,
        "histogram",
        "API request latency by matched route, method and status class.",
    );
    for ((route, method, class), cells) in lock(&r.http).iter() {
        let labels = format!(
            "route=\"{}\",method=\"{}\",status=\"{class}\"",
            escape(route),
            escape(method)
        );
        for (bound, n) in DURATION_BUCKETS.iter().zip(cells.buckets) {
            line(
                &mut out,
                &format!("{name}_bucket"),
                &format!("{labels},le=\"{bound}\""),
                n,
            );
        }
        line(
            &mut out,
            &format!("{name}_bucket"),
            &format!("{labels},le=\"+Inf\""),
            cells.count,
        );
        line(&mut out, &format!("{name}_sum"), &labels, cells.sum);
        line(&mut out, &format!("{name}_count"), &labels, cells.count);
    }
    out
}

/// Idle and total connections of the sqlx pool under sea-orm, when it is one.
fn db_pool(db: &DatabaseConnection) -> Option<(usize, usize)> {
    match db {
        DatabaseConnection::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            Some((pool.size() as usize, pool.num_idle()))
        }
        DatabaseConnection::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            Some((pool.size() as usize, pool.num_idle()))
        }
        _ => None,
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn line(out: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// Label values escape backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn metrics_lines_without_labels_have_no_braces() {
        let mut out = String::new();
        line(&mut out, "x", "", 3);
        line(&mut out, "y", "a=\"b\"", 1.5);
        assert_eq!(out, "x 3\ny{a=\"b\"} 1.5\n");
    }

    #[test]
    fn metrics_histogram_buckets_are_cumulative() {
        super::super::http_request("/metrics-test".into(), "GET".into(), 204, 0.03);
        let http = lock(&registry().http);
        let cells = &http[&("/metrics-test".to_string(), "GET".to_string(), "2xx")];
        assert_eq!(cells.count, 1);
        assert_eq!(cells.buckets[2], 0); // 25ms
        assert_eq!(cells.buckets[3], 1); // 50ms
        assert_eq!(cells.buckets[11], 1); // 10s
    }
}
